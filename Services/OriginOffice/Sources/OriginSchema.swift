import GRDB

/// The origin office's tables. Migrations are named and never edited once shipped.
enum OriginSchema {
    static func register(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("origin-v1") { db in
            try db.create(table: "person") { t in
                t.primaryKey("citizenId", .text)
                t.column("name", .text).notNull()
                t.column("hukouProvince", .text).notNull()
                t.column("status", .text).notNull()
                    .check(sql: "status IN ('contributing', 'suspended', 'transferred', 'retired')")
                t.column("arrearsFen", .integer).notNull().defaults(to: 0).check { $0 >= 0 }
                t.column("pre1998Fen", .integer).notNull().defaults(to: 0).check { $0 >= 0 }
                t.column("receivesPension", .boolean).notNull().defaults(to: false)
                t.column("accountKind", .text).notNull().check(sql: "accountKind IN ('general', 'temporary')")
                t.column("transferredBy", .text)
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "contributionMonth") { t in
                t.column("citizenId", .text).notNull().references("person", onDelete: .cascade)
                t.column("period", .text).notNull()
                t.column("baseFen", .integer).notNull().check { $0 > 0 }
                t.column("employerRate", .text).notNull()
                t.column("personalRate", .text).notNull()
                t.column("placeCode", .text).notNull()
                t.primaryKey(["citizenId", "period"])
            }
            try db.create(table: "certificate") { t in
                t.primaryKey("certificateNo", .text)
                t.column("citizenId", .text).notNull().references("person")
                t.column("destination", .text).notNull()
                t.column("issuedOn", .text).notNull()
                t.column("materials", .text).notNull()
            }
            try db.create(table: "originCase") { t in
                t.primaryKey("caseId", .text)
                t.column("contactLetterNo", .text).notNull().unique()
                t.column("citizenId", .text).notNull()
                t.column("destination", .text).notNull()
                t.column("receivedOn", .text).notNull()
                t.column("dueOn", .text).notNull()
                t.column("state", .text).notNull()
                t.column("events", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(index: "originCase_state", on: "originCase", columns: ["state"])
            try db.create(table: "remittance") { t in
                t.primaryKey("remittanceId", .text)
                t.column("caseId", .text).notNull().references("originCase")
                // remitted: money sent; refundReceived: an excess the destination sent back.
                t.column("kind", .text).notNull().check(sql: "kind IN ('remitted', 'supplementary', 'refundReceived')")
                t.column("amountFen", .integer).notNull().check { $0 > 0 }
                t.column("valueDate", .text).notNull()
            }
            try db.create(table: "notice") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseId", .text).notNull()
                t.column("eventType", .text).notNull()
                t.column("citizenId", .text).notNull()
                t.column("reasons", .text).notNull()
                t.column("receivedOn", .text).notNull()
            }
        }
        migrator.registerMigration("origin-v2-console-indexes") { db in
            for statement in OriginSchema.consoleIndexes { try db.execute(sql: statement) }
        }
    }

    /// The console's lists: newest first, by state, by person (the same statements on PostgreSQL).
    static let consoleIndexes = [
        "CREATE INDEX originCase_received ON originCase (receivedOn, caseId)",
        "CREATE INDEX originCase_state_received ON originCase (state, receivedOn, caseId)",
        "CREATE INDEX originCase_person ON originCase (citizenId)",
        "CREATE INDEX originCase_destination ON originCase (destination, receivedOn, caseId)",
    ]
}
