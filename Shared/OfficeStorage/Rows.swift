import Foundation
import Metrics
import TransferDomain

/// The office database could not be opened or migrated.
public struct OfficeDatabaseError: Error, CustomStringConvertible {
    public var path: String
    public var underlying: any Error
    public var description: String { "cannot open the database at \(path): \(underlying)" }
}

/// Document numbers: a per-office, per-year counter for each kind of document.
public enum DocumentSequence {
    /// The next number of `Number`'s kind issued by `office` in `year`, inside the caller's
    /// transaction: unique and gap-free, since a rolled-back transaction takes its number back.
    public static func next<Number: DocumentNumber>(_: Number.Type, office: OfficeCode, year: Int, in transaction: any StoreTransaction) throws -> Number {
        Number(office: office, year: year, sequence: try transaction.nextInSequence("\(Number.prefix)-\(office.rawValue)-\(year)"))
    }
}

/// A row of an office's `remittance` table (both offices keep one, of this shape).
public struct RemittanceRow: Codable, Sendable {
    public var remittanceId: String
    public var caseId: String
    /// What the money was (each office's schema lists its kinds).
    public var kind: String
    public var amountFen: Int
    public var valueDate: String

    public init(remittanceId: String, caseId: String, kind: String, amountFen: Int, valueDate: String) {
        self.remittanceId = remittanceId
        self.caseId = caseId
        self.kind = kind
        self.amountFen = amountFen
        self.valueDate = valueDate
    }

    public init(remittanceId: RemittanceID, caseId: String, kind: String, amount: Money, valueDate: LocalDate) {
        self.remittanceId = remittanceId.rawValue
        self.caseId = caseId
        self.kind = kind
        self.amountFen = amount.fen
        self.valueDate = valueDate.description
    }
}

/// A remittance as the case APIs show it.
public struct RemittanceView: Encodable, Sendable {
    public var remittanceId: String
    public var kind: String
    public var amount: Money
    public var valueDate: String

    public init(_ row: RemittanceRow) {
        remittanceId = row.remittanceId
        kind = row.kind
        amount = Money(fen: row.amountFen)
        valueDate = row.valueDate
    }
}

/// The filters of a case list: `state` (one of the case's states) and `overdue`.
public struct CaseFilter<State: CaseLifecycle>: Sendable {
    public var state: State?
    /// Only cases overdue on this day (the domain's ``CaseLifecycle/overdueRules``).
    public var overdueOn: LocalDate?
    /// Further conditions (the console's filters): the column and comparison (`=`, `>=`, `<=`)
    /// are the service's, only the value comes from the request (and is bound, never spliced).
    public var conditions: [Condition] = []
    /// Newest first (the console), instead of oldest first (the API).
    public var newestFirst = false

    public struct Condition: Sendable {
        public enum Comparison: String, Sendable { case equal = "=", atLeast = ">=", atMost = "<=" }
        public var column: String
        public var comparison: Comparison
        public var value: String
        public init(_ column: String, _ comparison: Comparison, _ value: String) {
            self.column = column
            self.comparison = comparison
            self.value = value
        }
    }

    /// `order` (`a, b`) as written, or each column descending.
    public func ordering(_ order: String) -> String {
        newestFirst ? order.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) + " DESC" }.joined(separator: ", ") : order
    }

    public init(state: State? = nil, overdueOn: LocalDate? = nil) {
        self.state = state
        self.overdueOn = overdueOn
    }

    /// From the query parameters; a ``ValidationError`` on `state` when it is not one of the states.
    public init(state: String?, overdue: Bool, today: LocalDate) throws {
        if let state {
            guard let value = State(rawValue: state) else {
                throw ValidationError(field: "state", reason: "must be one of \(State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.state = value
        }
        overdueOn = overdue ? today : nil
    }
}

/// `limit` and `offset` of a case list: the page of results a request asks for.
public struct Page: Sendable {
    public static let maxLimit = 10_000
    public static let maxOffset = 1_000_000_000
    public var limit: Int
    public var offset: Int

    /// From the `limit` (1-10000, default 1000) and `offset` (0-1000000000, default 0) query parameters.
    public init(limit: String?, offset: String?) throws {
        guard let limit = Int(limit ?? "1000"), (1...Self.maxLimit).contains(limit) else {
            throw ValidationError(field: "limit", reason: "must be a whole number from 1 to \(Self.maxLimit)")
        }
        guard let offset = Int(offset ?? "0"), (0...Self.maxOffset).contains(offset) else {
            throw ValidationError(field: "offset", reason: "must be a whole number from 0 to \(Self.maxOffset)")
        }
        self.limit = limit
        self.offset = offset
    }

    /// The SQL clause, appended after ORDER BY.
    public var sql: String { " LIMIT \(limit) OFFSET \(offset)" }

    /// The response body of this page of `items`, out of `total` matching the filter.
    public func body<Item: Encodable & Sendable>(_ items: [Item], total: Int) -> PageBody<Item> {
        PageBody(cases: items, count: items.count, total: total, limit: limit, offset: offset)
    }
}

/// One page of a case list, as both offices answer `GET /v1/cases`.
public struct PageBody<Item: Encodable & Sendable>: Encodable, Sendable {
    public var cases: [Item]
    /// Cases on this page.
    public var count: Int
    /// Cases matching the filter, on all pages.
    public var total: Int
    public var limit: Int
    public var offset: Int
}

/// How many cases are in each state and how many are overdue (the `cases{state}` and
/// `cases_overdue` gauges), as a service's repository counts them.
public struct CaseCounts<State: CaseLifecycle>: Sendable {
    public var byState: [State: Int]
    public var overdue: Int

    public init(byState: [State: Int], overdue: Int) {
        self.byState = byState
        self.overdue = overdue
    }

    /// Records the gauges (every state, zero included).
    public func record() {
        for state in State.allCases { Gauge(label: "cases", dimensions: [("state", state.rawValue)]).record(byState[state] ?? 0) }
        Gauge(label: "cases_overdue").record(overdue)
    }
}


/// A value bound to a PostgreSQL statement parameter (`$1`, `$2`, ...).
public enum SQLValue: Sendable {
    case text(String)
    case int(Int)
    case bool(Bool)
    case date(Date)
    case bytes(Data)
    /// A `TEXT[]` (for `= ANY($n)` or `unnest`).
    case texts([String])
    /// A `BIGINT[]` (for `unnest`).
    case ints([Int])
    case null

    public static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    public static func int(_ value: Int?) -> SQLValue { value.map(SQLValue.int) ?? .null }
    public static func date(_ value: Date?) -> SQLValue { value.map(SQLValue.date) ?? .null }
}


/// A row of a ``StoreTransaction/portableQuery(_:_:)``: its values by lower-cased column name.
public struct PortableRow: Sendable {
    public var values: [String: SQLValue]

    public init(values: [String: SQLValue]) { self.values = values }

    private func value(_ column: String) throws -> SQLValue {
        guard let value = values[column.lowercased()] else { throw StoredDataError(description: "no column \(column) in the result") }
        return value
    }

    public func string(_ column: String) throws -> String {
        guard case .text(let text) = try value(column) else { throw StoredDataError(description: "column \(column) is not text") }
        return text
    }

    public func optionalString(_ column: String) -> String? {
        if case .text(let text)? = values[column.lowercased()] { return text }
        return nil
    }

    public func int(_ column: String) throws -> Int {
        guard case .int(let int) = try value(column) else { throw StoredDataError(description: "column \(column) is not a number") }
        return int
    }

    /// A time stored as Unix seconds.
    public func date(_ column: String) throws -> Date { Date(timeIntervalSince1970: TimeInterval(try int(column))) }
}
