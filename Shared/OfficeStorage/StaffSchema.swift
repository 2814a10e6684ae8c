import Foundation

/// The staff tables and the dead-letter log (migration `console-v1`) for each backend.
enum StaffSchema {
    static let common = [
        """
        CREATE TABLE staffAccount (
            username TEXT PRIMARY KEY, displayName TEXT NOT NULL, roles TEXT NOT NULL, passwordHash TEXT NOT NULL,
            disabled BIGINT NOT NULL, createdAt BIGINT NOT NULL, updatedAt BIGINT NOT NULL)
        """,
        """
        CREATE TABLE staffSession (
            idHash TEXT PRIMARY KEY, username TEXT NOT NULL, csrfToken TEXT NOT NULL, createdAt BIGINT NOT NULL, lastSeenAt BIGINT NOT NULL)
        """,
        "CREATE INDEX staffSession_username ON staffSession (username)",
    ]
    static let deadLetterColumns = """
        recordedAt BIGINT NOT NULL, topic TEXT NOT NULL, kafkaPartition BIGINT NOT NULL, kafkaOffset BIGINT NOT NULL,
        reason TEXT NOT NULL, detail TEXT NOT NULL, eventId TEXT, eventType TEXT, eventSource TEXT, valueSha256 TEXT NOT NULL, valueBytes BIGINT NOT NULL
        """
    static let sqlite = common + ["CREATE TABLE deadLetterLog (seq INTEGER PRIMARY KEY AUTOINCREMENT, \(deadLetterColumns))"]
    static let postgres = common + ["CREATE TABLE deadLetterLog (seq BIGSERIAL PRIMARY KEY, \(deadLetterColumns))"]
}
