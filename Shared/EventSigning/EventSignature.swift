import Crypto
import Foundation
import TransferDomain

/// Signatures on events (contract v2): every office signs what it sends with its Ed25519 key, and
/// every receiver - and `transfer-audit` - checks the signature against the sender's published
/// key in the office key directory before believing the event.
///
/// The signed bytes are a canonical text, UTF-8, each line ending in `\n`:
///
/// ```
/// pension-transfer-event-signature-v1
/// ce_id:<ce_id header>
/// ce_type:<ce_type header>
/// ce_source:<ce_source header>
/// ce_subject:<ce_subject header>
/// ce_time:<ce_time header>
/// ce_recipient:<ce_recipient header>
/// data_sha256:<lower-case hex SHA-256 of the record value's bytes>
/// ```
///
/// The header values are taken byte for byte as they are on the record. The signature goes in the
/// header `ce_signature` (standard base64 of the 64-byte Ed25519 signature) and the signing key's
/// id in `ce_signaturekey`.
public enum EventSignature {
    public static let signatureHeader = "ce_signature"
    public static let keyHeader = "ce_signaturekey"
    static let signedHeaders = ["ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "ce_recipient"]
    static let firstLine = "pension-transfer-event-signature-v1"

    /// The bytes the signature covers; `nil` when a signed header is missing.
    public static func canonicalBytes(headers: [String: String], value: [UInt8]) -> [UInt8]? {
        var text = firstLine + "\n"
        for name in signedHeaders {
            guard let header = headers[name] else { return nil }
            text += "\(name):\(header)\n"
        }
        text += "data_sha256:" + hex(SHA256.hash(data: value)) + "\n"
        return Array(text.utf8)
    }

    /// Lower-case hex of `bytes` (`String(format:)` per byte cost more than the hash itself).
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The first CloudEvents header (`ce_*`, the signature's included) or `content-type` that
    /// `names` (a record's header names, in order) holds more than once, or `nil`. Such a record
    /// is ambiguous - a reader taking the other copy would see another event than the one signed,
    /// or another spec version - and is refused as `bad-signature`. Offices and `transfer-audit`
    /// both read headers through this rule, so they judge every record alike.
    public static func repeatedHeader(_ names: [String]) -> String? {
        var seen = Set<String>()
        for name in names where name.hasPrefix("ce_") || name == "content-type" {
            if !seen.insert(name).inserted { return name }
        }
        return nil
    }

    /// Checks the signature of a record.
    /// - Returns: the id of the key that verified it.
    /// - Throws: ``SignatureFailure`` saying what is wrong.
    @discardableResult
    public static func verify(headers: [String: String], value: [UInt8], directory: EventKeyDirectory) throws(SignatureFailure) -> String {
        guard let signatureText = headers[signatureHeader], let keyID = headers[keyHeader] else {
            throw .missing
        }
        guard let signature = Data(base64Encoded: signatureText), signature.count == 64 else { throw .malformed("ce_signature is not 64 bytes in base64") }
        guard let source = headers["ce_source"], source.hasPrefix("/offices/") else { throw .malformed("ce_source is missing") }
        guard let key = directory.key(id: keyID) else { throw .unknownKey(keyID) }
        guard !key.retired else { throw .retiredKey(keyID) }
        let office = String(source.dropFirst("/offices/".count))
        guard key.office == office else { throw .wrongOffice(keyID: keyID, keyOffice: key.office, source: office) }
        guard let bytes = canonicalBytes(headers: headers, value: value) else { throw .malformed("a signed header is missing") }
        guard key.publicKey.isValidSignature(signature, for: bytes) else { throw .badSignature }
        return keyID
    }
}

/// Why a record's signature is not accepted. ``reason`` is the dead-letter reason.
public enum SignatureFailure: Error, Hashable, Sendable, CustomStringConvertible {
    case missing
    case malformed(String)
    case unknownKey(String)
    case retiredKey(String)
    case wrongOffice(keyID: String, keyOffice: String, source: String)
    case badSignature

    /// `unknown-key` for a key the directory does not list (or has retired), `bad-signature` for
    /// everything else: no signature, a malformed one, another office's key, or bytes that do not
    /// match.
    public var reason: String {
        switch self {
        case .unknownKey, .retiredKey: return "unknown-key"
        default: return "bad-signature"
        }
    }

    public var description: String {
        switch self {
        case .missing: return "the record is not signed (no ce_signature or ce_signaturekey)"
        case .malformed(let detail): return "the signature is malformed: \(detail)"
        case .unknownKey(let id): return "signing key \(id) is not in the office key directory"
        case .retiredKey(let id): return "signing key \(id) is retired"
        case .wrongOffice(let id, let keyOffice, let source): return "signing key \(id) belongs to office \(keyOffice), but the event claims to come from \(source)"
        case .badSignature: return "the signature does not match the event (forged or altered)"
        }
    }
}

/// The office key directory: which public keys each office signs with. Every office and the audit
/// load the same file; an office lists its new key before signing with it, and marks the old one
/// retired only when nothing signed with it remains to be read.
///
/// ```json
/// {"keys": [{"office": "440300", "id": "440300-3f2a9c1d", "publicKey": "<base64 of the 32-byte Ed25519 key>", "retired": false}]}
/// ```
public struct EventKeyDirectory: Sendable {
    public struct Key: Sendable {
        public var office: String
        public var id: String
        public var publicKey: Curve25519.Signing.PublicKey
        public var retired: Bool

        public init(office: String, id: String, publicKey: Curve25519.Signing.PublicKey, retired: Bool) {
            self.office = office
            self.id = id
            self.publicKey = publicKey
            self.retired = retired
        }
    }

    struct File: Codable {
        struct Entry: Codable {
            var office: String
            var id: String
            var publicKey: String
            var retired: Bool?
        }
        var keys: [Entry]
    }

    public let keys: [Key]

    public init(keys: [Key]) {
        self.keys = keys
    }

    /// - Throws: ``ValidationError`` naming the entry that cannot be used.
    public init(json: Data) throws {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: json) } catch { throw ValidationError(field: "event key directory", reason: "is not a key directory: \(error)") }
        var keys: [Key] = []
        for (index, entry) in file.keys.enumerated() {
            guard let raw = Data(base64Encoded: entry.publicKey), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw ValidationError(field: "keys[\(index)].publicKey", reason: "is not a base64 Ed25519 public key")
            }
            guard (try? OfficeCode(entry.office)) != nil else { throw ValidationError(field: "keys[\(index)].office", reason: "is not an office code") }
            guard !keys.contains(where: { $0.id == entry.id }) else { throw ValidationError(field: "keys[\(index)].id", reason: "\(entry.id) appears twice") }
            keys.append(Key(office: entry.office, id: entry.id, publicKey: key, retired: entry.retired ?? false))
        }
        self.keys = keys
    }

    public func key(id: String) -> Key? { keys.first { $0.id == id } }

    /// The directory as JSON (the file the tools write).
    public func json() throws -> Data {
        let file = File(keys: keys.map { .init(office: $0.office, id: $0.id, publicKey: $0.publicKey.rawRepresentation.base64EncodedString(), retired: $0.retired) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(file)
    }

    /// A key's id: the office code and the first 8 hex digits of the SHA-256 of the public key.
    public static func keyID(office: String, publicKey: Curve25519.Signing.PublicKey) -> String {
        office + "-" + SHA256.hash(data: publicKey.rawRepresentation).prefix(4).map { String(format: "%02x", $0) }.joined()
    }
}

/// An office's signing key.
public struct EventSigner: Sendable {
    let key: Curve25519.Signing.PrivateKey
    public let keyID: String
    public let office: String

    public init(privateKey: Curve25519.Signing.PrivateKey, office: String) {
        key = privateKey
        self.office = office
        keyID = EventKeyDirectory.keyID(office: office, publicKey: privateKey.publicKey)
    }

    /// - Throws: ``ValidationError`` when the PEM is not an Ed25519 private key.
    public init(pem: String, office: String) throws {
        guard let key = Ed25519PEM.privateKey(pem) else {
            throw ValidationError(field: "event signing key", reason: "is not an Ed25519 private key in PEM")
        }
        self.init(privateKey: key, office: office)
    }

    /// A new random key for `office`.
    public static func generate(office: String) -> EventSigner {
        EventSigner(privateKey: Curve25519.Signing.PrivateKey(), office: office)
    }

    public var publicKey: Curve25519.Signing.PublicKey { key.publicKey }

    /// This key as the directory lists it (active).
    public var directoryEntry: EventKeyDirectory.Key { .init(office: office, id: keyID, publicKey: publicKey, retired: false) }

    /// The two signature headers for a record with `headers` and `value`.
    /// - Throws: ``DomainError`` when a signed header is missing (a bug: events always carry them).
    public func signatureHeaders(headers: [(name: String, value: String)], value: [UInt8]) throws -> [(name: String, value: String)] {
        let map = Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard let bytes = EventSignature.canonicalBytes(headers: map, value: value) else {
            throw DomainError("cannot sign an event without its ce_* headers")
        }
        let signature = try key.signature(for: bytes)
        return [(EventSignature.signatureHeader, signature.base64EncodedString()), (EventSignature.keyHeader, keyID)]
    }
}

/// Ed25519 keys in PEM (PKCS #8 private keys, SubjectPublicKeyInfo public keys), the forms
/// `openssl genpkey -algorithm ed25519` writes and other languages read.
public enum Ed25519PEM {
    static let privatePrefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
    static let publicPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    public static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        wrap(privatePrefix + Array(key.rawRepresentation), label: "PRIVATE KEY")
    }

    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        wrap(publicPrefix + Array(key.rawRepresentation), label: "PUBLIC KEY")
    }

    public static func privateKey(_ pem: String) -> Curve25519.Signing.PrivateKey? {
        guard let der = unwrap(pem, label: "PRIVATE KEY"), der.count == 48, Array(der.prefix(16)) == privatePrefix else { return nil }
        return try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
    }

    static func wrap(_ der: [UInt8], label: String) -> String {
        let base64 = Data(der).base64EncodedString()
        var lines = ["-----BEGIN \(label)-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func unwrap(_ pem: String, label: String) -> [UInt8]? {
        let body = pem.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.hasPrefix("-----") }.joined()
        guard pem.contains("-----BEGIN \(label)-----"), let data = Data(base64Encoded: body) else { return nil }
        return Array(data)
    }
}
