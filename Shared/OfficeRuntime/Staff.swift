import Crypto
import Foundation
import HummingbirdBcrypt
import OfficeAuth
import OfficeStorage
import TransferDomain

/// A member of an office's staff who signs in to its console.
public struct StaffAccount: Sendable, Equatable {
    /// Letters, digits, `.`, `_` and `-`, 2 to 64 characters; unique per office.
    public var username: String
    public var displayName: String
    public var roles: Set<AccessRole>
    /// bcrypt (``StaffPasswords``); never the password.
    public var passwordHash: String
    public var disabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(username: String, displayName: String, roles: Set<AccessRole>, passwordHash: String, disabled: Bool = false, createdAt: Date = Date(), updatedAt: Date = Date()) {
        self.username = username
        self.displayName = displayName
        self.roles = roles
        self.passwordHash = passwordHash
        self.disabled = disabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Checks a user name as accounts take it.
    public static func checkUsername(_ name: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        guard (2...64).contains(name.count), name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else {
            throw ValidationError(field: "username", reason: "must be 2 to 64 letters, digits, '.', '_' or '-'")
        }
    }
}

/// A signed-in console session. The cookie holds a random id of 256 bits; the store keeps only
/// its SHA-256 (a copy of the table does not let anyone sign in).
public struct StaffSession: Sendable, Equatable {
    public var idHash: String
    public var username: String
    /// The token every form of this session carries.
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date

    public init(idHash: String, username: String, csrfToken: String, createdAt: Date, lastSeenAt: Date) {
        self.idHash = idHash
        self.username = username
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }

    /// A new random token: 32 bytes, base64url without padding (43 characters).
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// What the store keeps of a session id.
    public static func hash(_ id: String) -> String {
        SHA256.hash(data: Data(id.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// A record the consumer sent to the dead-letter topic, as the office remembers it for its
/// operators (the topic itself is the authority; this log is what the console lists).
public struct DeadLetterEntry: Sendable, Equatable {
    public var recordedAt: Date
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var reason: String
    public var detail: String
    /// The provenance headers the record carried (`ce_id`, `ce_type`, `ce_source`), when it had them.
    public var eventId: String?
    public var eventType: String?
    public var eventSource: String?
    /// SHA-256 of the original value (hex) and its size.
    public var valueSHA256: String
    public var valueBytes: Int

    public init(
        recordedAt: Date, topic: String, partition: Int, offset: Int64, reason: String, detail: String, eventId: String?, eventType: String?,
        eventSource: String?, valueSHA256: String, valueBytes: Int
    ) {
        self.recordedAt = recordedAt
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason
        self.detail = detail
        self.eventId = eventId
        self.eventType = eventType
        self.eventSource = eventSource
        self.valueSHA256 = valueSHA256
        self.valueBytes = valueBytes
    }
}

/// Password hashing for staff accounts: bcrypt, cost 12.
public enum StaffPasswords {
    public static let cost: UInt8 = 12
    /// A hash no password matches, verified against when the user name is unknown, so an unknown
    /// name costs the same time as a wrong password.
    public static let decoy = Bcrypt.hash(StaffSession.randomToken(), cost: cost)

    /// Checks a new password: 10 to 200 characters.
    public static func check(_ password: String) throws {
        guard (10...200).contains(password.count) else {
            throw ValidationError(field: "password", reason: "must be 10 to 200 characters")
        }
    }

    public static func hash(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }

    public static func verify(_ password: String, hash: String) -> Bool { Bcrypt.verify(password, hash: hash) }
}

/// The staff tables (accounts, sessions) and the dead-letter log, written once for both backends
/// through ``StoreTransaction/portableExecute(_:_:)``: `$n` parameters, TEXT and BIGINT columns,
/// times as Unix seconds.
extension StoreTransaction {
    public func staffAccount(_ username: String) throws -> StaffAccount? {
        try portableQuery(
            "SELECT username, displayName, roles, passwordHash, disabled, createdAt, updatedAt FROM staffAccount WHERE username = $1", [.text(username)]
        ).first.map(Self.account)
    }

    public func staffAccounts() throws -> [StaffAccount] {
        try portableQuery("SELECT username, displayName, roles, passwordHash, disabled, createdAt, updatedAt FROM staffAccount ORDER BY username", [])
            .map(Self.account)
    }

    /// Creates the account, or replaces the one of the same user name.
    public func saveStaffAccount(_ account: StaffAccount) throws {
        let roles = account.roles.map(\.rawValue).sorted().joined(separator: ",")
        let updated = try portableExecute(
            "UPDATE staffAccount SET displayName = $2, roles = $3, passwordHash = $4, disabled = $5, updatedAt = $6 WHERE username = $1",
            [
                .text(account.username), .text(account.displayName), .text(roles), .text(account.passwordHash), .int(account.disabled ? 1 : 0),
                .int(Int(account.updatedAt.timeIntervalSince1970)),
            ])
        if updated == 0 {
            _ = try portableExecute(
                "INSERT INTO staffAccount (username, displayName, roles, passwordHash, disabled, createdAt, updatedAt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [
                    .text(account.username), .text(account.displayName), .text(roles), .text(account.passwordHash), .int(account.disabled ? 1 : 0),
                    .int(Int(account.createdAt.timeIntervalSince1970)), .int(Int(account.updatedAt.timeIntervalSince1970)),
                ])
        }
    }

    public func staffSession(idHash: String) throws -> StaffSession? {
        try portableQuery("SELECT idHash, username, csrfToken, createdAt, lastSeenAt FROM staffSession WHERE idHash = $1", [.text(idHash)]).first.map {
            StaffSession(
                idHash: try $0.string("idHash"), username: try $0.string("username"), csrfToken: try $0.string("csrfToken"),
                createdAt: try $0.date("createdAt"), lastSeenAt: try $0.date("lastSeenAt"))
        }
    }

    public func insertStaffSession(_ session: StaffSession) throws {
        _ = try portableExecute(
            "INSERT INTO staffSession (idHash, username, csrfToken, createdAt, lastSeenAt) VALUES ($1, $2, $3, $4, $5)",
            [
                .text(session.idHash), .text(session.username), .text(session.csrfToken), .int(Int(session.createdAt.timeIntervalSince1970)),
                .int(Int(session.lastSeenAt.timeIntervalSince1970)),
            ])
    }

    public func touchStaffSession(idHash: String, at time: Date) throws {
        _ = try portableExecute("UPDATE staffSession SET lastSeenAt = $2 WHERE idHash = $1", [.text(idHash), .int(Int(time.timeIntervalSince1970))])
    }

    /// Ends one session; false when there was none.
    @discardableResult
    public func endStaffSession(idHash: String) throws -> Bool {
        try portableExecute("DELETE FROM staffSession WHERE idHash = $1", [.text(idHash)]) > 0
    }

    /// Ends every session of `username` (the account was disabled or its password reset).
    @discardableResult
    public func endStaffSessions(of username: String) throws -> Int {
        try portableExecute("DELETE FROM staffSession WHERE username = $1", [.text(username)])
    }

    /// Deletes sessions idle since `idleBefore` or created before `createdBefore`.
    @discardableResult
    public func purgeStaffSessions(idleBefore: Date, createdBefore: Date) throws -> Int {
        try portableExecute(
            "DELETE FROM staffSession WHERE lastSeenAt < $1 OR createdAt < $2",
            [.int(Int(idleBefore.timeIntervalSince1970)), .int(Int(createdBefore.timeIntervalSince1970))])
    }

    public func recordDeadLetter(_ entry: DeadLetterEntry) throws {
        _ = try portableExecute(
            """
            INSERT INTO deadLetterLog (recordedAt, topic, kafkaPartition, kafkaOffset, reason, detail, eventId, eventType, eventSource, valueSha256, valueBytes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [
                .int(Int(entry.recordedAt.timeIntervalSince1970)), .text(entry.topic), .int(entry.partition), .int(Int(entry.offset)),
                .text(entry.reason), .text(String(entry.detail.prefix(2000))), .text(entry.eventId), .text(entry.eventType), .text(entry.eventSource),
                .text(entry.valueSHA256), .int(entry.valueBytes),
            ])
    }

    /// The latest dead letters first, and how many there are in all.
    public func deadLetters(limit: Int, offset: Int) throws -> (entries: [DeadLetterEntry], total: Int) {
        let rows = try portableQuery(
            """
            SELECT recordedAt, topic, kafkaPartition, kafkaOffset, reason, detail, eventId, eventType, eventSource, valueSha256, valueBytes
            FROM deadLetterLog ORDER BY seq DESC LIMIT $1 OFFSET $2
            """, [.int(limit), .int(offset)])
        let total = try portableQuery("SELECT COUNT(*) AS n FROM deadLetterLog", [])[0].int("n")
        return (
            try rows.map {
                DeadLetterEntry(
                    recordedAt: try $0.date("recordedAt"), topic: try $0.string("topic"), partition: try $0.int("kafkaPartition"),
                    offset: Int64(try $0.int("kafkaOffset")), reason: try $0.string("reason"), detail: try $0.string("detail"),
                    eventId: $0.optionalString("eventId"), eventType: $0.optionalString("eventType"), eventSource: $0.optionalString("eventSource"),
                    valueSHA256: try $0.string("valueSha256"), valueBytes: try $0.int("valueBytes"))
            }, total
        )
    }

    private static func account(_ row: PortableRow) throws -> StaffAccount {
        StaffAccount(
            username: try row.string("username"), displayName: try row.string("displayName"),
            roles: Set(try row.string("roles").split(separator: ",").compactMap { AccessRole(rawValue: String($0)) }),
            passwordHash: try row.string("passwordHash"), disabled: try row.int("disabled") != 0, createdAt: try row.date("createdAt"),
            updatedAt: try row.date("updatedAt"))
    }
}
