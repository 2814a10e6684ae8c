import GRDB

/// The destination office's tables. Migrations are named and never edited once shipped.
enum DestinationSchema {
    static func register(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("destination-v1") { db in
            try db.create(table: "person") { t in
                t.primaryKey("citizenId", .text)
                t.column("name", .text).notNull()
                t.column("hukouProvince", .text).notNull()
                t.column("registeredOn", .text).notNull()
                t.column("contributing", .boolean).notNull()
                t.column("receivesPension", .boolean).notNull().defaults(to: false)
                t.column("contributingSince", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "card") { t in
                t.column("citizenId", .text).notNull().references("person", onDelete: .cascade)
                t.column("issuer", .text).notNull()
                t.column("issuedOn", .text).notNull()
                t.primaryKey(["citizenId", "issuer"])
            }
            try db.create(table: "historyPlace") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("citizenId", .text).notNull().references("person", onDelete: .cascade)
                t.column("placeCode", .text).notNull()
                t.column("accountKind", .text).notNull()
                t.column("months", .integer).notNull().check { $0 > 0 }
                t.column("lastContribution", .text).notNull()
                t.column("sourceCaseId", .text).notNull()
                t.uniqueKey(["sourceCaseId", "placeCode"])
            }
            try db.create(table: "certificate") { t in
                t.primaryKey("certificateNo", .text)
                t.column("citizenId", .text).notNull()
                t.column("origin", .text).notNull()
                t.column("issuedOn", .text).notNull()
            }
            try db.create(table: "destinationCase") { t in
                t.primaryKey("caseId", .text)
                t.column("citizenId", .text).notNull()
                t.column("name", .text).notNull()
                t.column("hukouProvince", .text).notNull()
                t.column("origin", .text).notNull()
                t.column("submittedOn", .text).notNull()
                t.column("state", .text).notNull()
                t.column("contactLetterNo", .text).unique()
                t.column("certificateNo", .text)
                t.column("approvedTransfer", .boolean).notNull()
                t.column("originDueOn", .text)
                t.column("completionDueOn", .text)
                t.column("originTerminatedOn", .text)
                t.column("events", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(index: "destinationCase_state", on: "destinationCase", columns: ["state"])
            try db.create(index: "destinationCase_person", on: "destinationCase", columns: ["citizenId"])
            try db.create(table: "remittance") { t in
                // The same remittance id posts once, whatever the redelivery.
                t.primaryKey("remittanceId", .text)
                t.column("caseId", .text).notNull().references("destinationCase")
                t.column("kind", .text).notNull().check(sql: "kind IN ('received', 'refunded')")
                t.column("amountFen", .integer).notNull().check { $0 > 0 }
                t.column("valueDate", .text).notNull()
            }
        }
        migrator.registerMigration("destination-v2-closed-at") { db in
            // When the case reached its terminal state (wall clock, set once): operators see how
            // long cases take, and the pipeline benchmark measures application-to-completion.
            try db.alter(table: "destinationCase") { t in
                t.add(column: "closedAt", .datetime)
            }
        }
        migrator.registerMigration("destination-v3-closed-on") { db in
            // The business date a case closed on (the console's dashboard counts completions by it).
            try db.alter(table: "destinationCase") { t in
                t.add(column: "closedOn", .text)
            }
            for statement in DestinationSchema.consoleIndexes { try db.execute(sql: statement) }
        }
        migrator.registerMigration("destination-v4-history-months") { db in
            try db.execute(sql: DestinationSchema.historyMonthTable)
        }
        migrator.registerMigration("destination-v5-purpose") { db in
            try db.execute(sql: DestinationSchema.purposeColumn)
        }
    }

    /// The months completed transfers brought in, one row per person, month and place (a person
    /// may hold one month from two places: one is credited, the other cleared). The same
    /// statement on PostgreSQL.
    static let historyMonthTable = """
        CREATE TABLE historyMonth (
            citizenId TEXT NOT NULL REFERENCES person ON DELETE CASCADE, period TEXT NOT NULL, placeCode TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('credited', 'cleared')), keptAt TEXT,
            returnedFen BIGINT NOT NULL CHECK (returnedFen >= 0), sourceCaseId TEXT NOT NULL,
            PRIMARY KEY (citizenId, period, placeCode))
        """

    /// Why the case's letter is sent: a transfer, or a collection at retirement. The same
    /// statement on PostgreSQL.
    static let purposeColumn = "ALTER TABLE destinationCase ADD COLUMN purpose TEXT NOT NULL DEFAULT 'transfer' CHECK (purpose IN ('transfer', 'collection'))"

    /// The console's lists (newest first, by state) and dashboard (completions by day, read from
    /// the index alone): the same statements on PostgreSQL.
    static let consoleIndexes = [
        "CREATE INDEX destinationCase_submitted ON destinationCase (submittedOn, caseId)",
        "CREATE INDEX destinationCase_state_submitted ON destinationCase (state, submittedOn, caseId)",
        "CREATE INDEX destinationCase_closed ON destinationCase (state, closedOn, submittedOn)",
        "CREATE INDEX destinationCase_origin ON destinationCase (origin, submittedOn, caseId)",
    ]
}
