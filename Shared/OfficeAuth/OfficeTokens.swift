import Crypto
import Foundation
import JWTKit

/// What a holder of an office API token may do.
///
/// - `clerk` registers people, records months, suspends, issues certificates and files
///   applications (and reads what it writes, without the yearly ledger);
/// - `viewer` reads cases and people, without the yearly ledger;
/// - `auditor` reads everything, the ledgers included;
/// - `operator` keeps the office running: its health, outbox (releasing a parked event), dead
///   letters and consumer lag, without reading people or cases.
public enum AccessRole: String, Codable, Sendable, CaseIterable, Hashable {
    case clerk, viewer, auditor
    case `operator`
}

/// The claims of an office API token (a JWT signed with Ed25519).
///
/// `aud` lists the office codes the token is good for: a token minted for Chengdu is refused by
/// Shenzhen. `iss` names the issuer the offices trust. Lifetimes are short (hours).
public struct OfficeTokenClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var sub: SubjectClaim
    public var aud: AudienceClaim
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim
    /// Not valid before this time (optional).
    public var nbf: NotBeforeClaim?
    public var roles: [AccessRole]

    public init(issuer: String, subject: String, offices: [String], roles: [AccessRole], issuedAt: Date, expiresAt: Date) {
        iss = IssuerClaim(value: issuer)
        sub = SubjectClaim(value: subject)
        aud = AudienceClaim(value: offices)
        iat = IssuedAtClaim(value: issuedAt)
        exp = ExpirationClaim(value: expiresAt)
        self.roles = roles
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }
}

/// Ed25519 key files (PEM) and their key ids.
public enum TokenKeys {
    /// A key's id: the first 16 hex digits of the SHA-256 of its raw public key. Put in each
    /// token's `kid` header, so the offices can hold several keys while one replaces another.
    public static func keyID(_ publicKey: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: publicKey.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes a new key pair: the private key readable by its owner only.
    public static func generate(privateKeyPath: String, publicKeyPath: String) throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        guard FileManager.default.createFile(
            atPath: privateKeyPath, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        else { throw TokenError.unreadableKey(privateKeyPath, "cannot write the file") }
        try Data(key.publicKey.pemRepresentation.utf8).write(to: URL(fileURLWithPath: publicKeyPath))
        return keyID(key.publicKey)
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenError.unreadableKey(path, "cannot read the file") }
        return String(decoding: data, as: UTF8.self)
    }
}

extension TokenVerifier {
    struct Header: Decodable {
        var alg: String
        var kid: String?
    }

    /// The JOSE header of a compact JWT, decoded without trusting anything in it.
    static func header(of token: String) throws(TokenError) -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .invalid("not a compact JWT (three dot-separated parts)") }
        var base64 = parts[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw .invalid("the token header cannot be read")
        }
        return header
    }
}

/// Why a token is refused (401), or a key cannot be used.
public enum TokenError: Error, CustomStringConvertible, Equatable {
    case missing
    case invalid(String)
    case wrongOffice(String)
    case unreadableKey(String, String)

    public var description: String {
        switch self {
        case .missing: return "no bearer token"
        case .invalid(let reason): return "the token is not valid: \(reason)"
        case .wrongOffice(let office): return "the token is not for office \(office)"
        case .unreadableKey(let path, let reason): return "key file \(path): \(reason)"
        }
    }
}

/// Mints tokens with a private key (the `office-token` tool).
public struct TokenIssuer: Sendable {
    let keys = JWTKeyCollection()
    let keyID: String
    let issuer: String

    /// - Parameter privateKeyPath: an Ed25519 private key in PEM (from `office-token keygen`).
    public init(privateKeyPath: String, issuer: String) async throws {
        let pem = try TokenKeys.read(privateKeyPath)
        let key: EdDSA.PrivateKey
        do { key = try EdDSA.PrivateKey(pem: pem) } catch { throw TokenError.unreadableKey(privateKeyPath, "not an Ed25519 private key in PEM: \(error)") }
        keyID = TokenKeys.keyID(try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey.rawRepresentation))
        self.issuer = issuer
        await keys.add(eddsa: key, kid: JWKIdentifier(string: keyID))
    }

    public func mint(subject: String, offices: [String], roles: [AccessRole], lifetime: Duration, now: Date = Date()) async throws -> String {
        let claims = OfficeTokenClaims(
            issuer: issuer, subject: subject, offices: offices, roles: roles, issuedAt: now,
            expiresAt: now.addingTimeInterval(Double(lifetime.components.seconds)))
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyID))
    }
}

/// Checks tokens against the issuer's public keys (the offices).
public struct TokenVerifier: Sendable {
    let keys = JWTKeyCollection()
    public let issuer: String
    public let keyIDs: [String]
    /// The longest lifetime (`exp` - `iat`) a token may have.
    public let maxLifetime: Duration
    /// Tolerated clock difference between the issuer and this office for `iat` and `nbf`.
    static let clockSkew: TimeInterval = 60

    /// - Parameters:
    ///   - publicKeyPaths: Ed25519 public keys in PEM; every one of them verifies (keep the old key
    ///     listed until its tokens have expired, to rotate without a gap).
    ///   - maxLifetime: tokens living longer than this are refused, whatever their signature.
    public init(publicKeyPaths: [String], issuer: String, maxLifetime: Duration = .seconds(24 * 3600)) async throws {
        self.maxLifetime = maxLifetime
        var ids: [String] = []
        for path in publicKeyPaths {
            let pem = try TokenKeys.read(path)
            let key: EdDSA.PublicKey
            do { key = try EdDSA.PublicKey(pem: pem) } catch { throw TokenError.unreadableKey(path, "not an Ed25519 public key in PEM: \(error)") }
            let id = TokenKeys.keyID(try Curve25519.Signing.PublicKey(rawRepresentation: key.rawRepresentation))
            await keys.add(eddsa: key, kid: JWKIdentifier(string: id))
            ids.append(id)
        }
        self.issuer = issuer
        keyIDs = ids
    }

    /// The verified claims of `token` for `office`.
    /// - Throws: ``TokenError`` saying why it is refused (bad signature, unknown key, expired,
    ///   another issuer, another office).
    public func verify(_ token: String, office: String, now: Date = Date()) async throws(TokenError) -> OfficeTokenClaims {
        // The header first, in our own words: only EdDSA, only a key this office holds. (jwt-kit
        // would otherwise take a token without a kid, or with an unknown one, to its first key.)
        let header = try Self.header(of: token)
        guard header.alg == "EdDSA" else { throw .invalid("algorithm \(header.alg.prefix(20)) is not accepted (EdDSA only)") }
        guard let kid = header.kid else { throw .invalid("no key id (kid) in the token header") }
        guard keyIDs.contains(kid) else { throw .invalid("key id \(kid.prefix(40)) is not a key of the issuer this office trusts") }
        let claims: OfficeTokenClaims
        do {
            claims = try await keys.verify(token, as: OfficeTokenClaims.self)
        } catch {
            // The library's own text stays out of the answer: it can describe internals.
            throw .invalid("the signature, expiry or not-before time does not verify")
        }
        guard claims.iat.value <= now.addingTimeInterval(Self.clockSkew) else { throw .invalid("issued in the future (iat)") }
        let lifetime = claims.exp.value.timeIntervalSince(claims.iat.value)
        guard lifetime <= Double(maxLifetime.components.seconds) else {
            throw .invalid("lives \(Int(lifetime)) s, longer than the \(maxLifetime.components.seconds) s this office accepts")
        }
        guard claims.iss.value == issuer else { throw .invalid("issued by \(claims.iss.value.prefix(100)), not \(issuer)") }
        guard claims.aud.value.contains(office) else { throw .wrongOffice(office) }
        return claims
    }
}
