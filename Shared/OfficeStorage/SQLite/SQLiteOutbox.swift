import Foundation
import EventSigning
import GRDB
import TransferDomain

extension OutboxRow: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outbox"
}

/// The outbox's statements on SQLite.
extension Outbox {
    /// Appends `event` for `topic`, signed by `signer`, inside the caller's transaction. The value
    /// and headers are stored exactly as they will be sent: the signature covers those bytes.
    ///
    /// - Throws: `DomainError` when the event breaks its own schema: a contract violation is a
    ///   bug to stop at the source, never something to publish.
    public static func append(_ event: CloudEvent, topic: String, signer: EventSigner, in db: Database) throws {
        try OutboxRow(event, topic: topic, signer: signer).insert(db)
    }

    /// Events not yet published (parked ones included).
    public static func pendingCount(_ db: Database) throws -> Int {
        try OutboxRow.filter(Column("sentAt") == nil).fetchCount(db)
    }

    public static func statistics(_ db: Database) throws -> Statistics {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) FILTER (WHERE parkedAt IS NULL) AS pending,
                       COUNT(*) FILTER (WHERE parkedAt IS NOT NULL) AS parked,
                       MIN(createdAt) FILTER (WHERE parkedAt IS NULL) AS oldest
                FROM outbox WHERE sentAt IS NULL
                """)
        return Statistics(pending: row?["pending"] ?? 0, parked: row?["parked"] ?? 0, oldestUnsent: row?["oldest"])
    }

    /// The next rows the relay publishes, in order: unsent, not parked, and not behind a parked
    /// row of the same key (one case's events keep their order, so nothing of a case whose
    /// event is parked overtakes it).
    static func publishable(limit: Int, _ db: Database) throws -> [OutboxRow] {
        try OutboxRow.fetchAll(
            db,
            sql: """
                SELECT * FROM outbox
                WHERE sentAt IS NULL AND parkedAt IS NULL
                  AND key NOT IN (SELECT key FROM outbox WHERE sentAt IS NULL AND parkedAt IS NOT NULL)
                ORDER BY seq LIMIT ?
                """,
            arguments: [limit])
    }

    public static func parked(_ db: Database) throws -> [ParkedRow] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT p.seq, p.eventId, p.eventType, p.key, length(p.payload) + length(p.headers) + length(p.key) AS bytes,
                       p.createdAt, p.parkedAt, p.parkReason,
                       (SELECT COUNT(*) FROM outbox h WHERE h.key = p.key AND h.sentAt IS NULL AND h.parkedAt IS NULL) AS heldBehind
                FROM outbox p WHERE p.sentAt IS NULL AND p.parkedAt IS NOT NULL ORDER BY p.seq
                """
        ).map { row in
            ParkedRow(
                seq: row["seq"], eventId: row["eventId"], eventType: row["eventType"], key: row["key"], bytes: row["bytes"],
                createdAt: row["createdAt"], parkedAt: row["parkedAt"], reason: row["parkReason"] ?? "", heldBehind: row["heldBehind"])
        }
    }

    /// Puts a parked row back in line (after its cause, e.g. the broker's size limit, was fixed).
    /// - Returns: whether a parked row with that number existed.
    public static func release(seq: Int64, _ db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE outbox SET parkedAt = NULL, parkReason = NULL WHERE seq = ? AND sentAt IS NULL AND parkedAt IS NOT NULL", arguments: [seq])
        return db.changesCount > 0
    }

    static func park(seq: Int64, reason: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE outbox SET parkedAt = ?, parkReason = ? WHERE seq = ?", arguments: [Date(), String(reason.prefix(2000)), seq])
    }

    /// Published events by type (for summaries and tests).
    public static func sentCount(_ db: Database, type: EventType? = nil) throws -> Int {
        var request = OutboxRow.filter(Column("sentAt") != nil)
        if let type { request = request.filter(Column("eventType") == type.rawValue) }
        return try request.fetchCount(db)
    }
}

