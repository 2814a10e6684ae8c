import Crypto
import Foundation
import JWTKit

/// What a holder of an office API token may do.
///
/// - `clerk` registers people, records months, suspends, issues certificates and files
///   applications (and reads what it writes, without the yearly ledger);
/// - `viewer` reads cases and people, without the yearly ledger;
/// - `auditor` reads everything, the ledgers included.
public enum AccessRole: String, Codable, Sendable, CaseIterable, Hashable {
    case clerk, viewer, auditor
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

    /// - Parameter publicKeyPaths: Ed25519 public keys in PEM; every one of them verifies (keep the
    ///   old key listed until its tokens have expired, to rotate without a gap).
    public init(publicKeyPaths: [String], issuer: String) async throws {
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
    public func verify(_ token: String, office: String) async throws(TokenError) -> OfficeTokenClaims {
        let claims: OfficeTokenClaims
        do {
            claims = try await keys.verify(token, as: OfficeTokenClaims.self)
        } catch {
            throw .invalid("\(error)")
        }
        guard claims.iss.value == issuer else { throw .invalid("issued by \(claims.iss.value), not \(issuer)") }
        guard claims.aud.value.contains(office) else { throw .wrongOffice(office) }
        return claims
    }
}
