import Foundation
import Hummingbird
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The filters of a console case list, read from the query string: state, overdue, the other
/// office, a date range and a citizen ID, paged on the server, newest first. Both offices' lists
/// use it with their own column names; the `caseFilters` template shows it.
public struct CaseListQuery<State: CaseLifecycle> {
    public static var perPage: Int { 25 }
    public var filter = CaseFilter<State>()
    public var problems = FormProblems()
    public var number: Int
    public var page: Page
    /// What the template shows: `filters` (the values typed), `states` (the options), the errors.
    public var values: [String: Any]

    /// - Parameters:
    ///   - officeColumn: the column holding the other office's code.
    ///   - dateColumn: the column the date range applies to (the filing or receiving date).
    public init(_ request: Request, today: LocalDate, officeColumn: String, dateColumn: String, console: Console) throws {
        let t = console.words(request)
        let query = request.uri.queryParameters
        func text(_ name: String) -> String { (query.get(name).map { String($0) } ?? "").trimmingCharacters(in: .whitespaces) }
        filter.newestFirst = true
        let stateText = text("state")
        if !stateText.isEmpty {
            if let state = State(rawValue: stateText) { filter.state = state } else { problems.add("state", stateText) }
        }
        let overdue = text("overdue") == "true"
        if overdue { filter.overdueOn = today }
        let office = text("office")
        if !office.isEmpty {
            if let code = try? OfficeCode(office) { filter.conditions.append(.init(officeColumn, .equal, code.rawValue)) } else { problems.add("office", office) }
        }
        for (name, comparison) in [("from", CaseFilter<State>.Condition.Comparison.atLeast), ("to", .atMost)] where !text(name).isEmpty {
            if let date = try? LocalDate(text(name)) { filter.conditions.append(.init(dateColumn, comparison, date.description)) } else { problems.add(name, text(name)) }
        }
        let citizen = text("citizenId").uppercased()
        if !citizen.isEmpty {
            if let id = try? CitizenID(citizen) { filter.conditions.append(.init("citizenId", .equal, id.rawValue)) } else { problems.add("citizenId", citizen) }
        }
        number = try Console.pageNumber(request)
        page = try Page(limit: "\(Self.perPage)", offset: "\((number - 1) * Self.perPage)")
        values = [
            "states": State.allCases.map { ["value": $0.rawValue, "label": t["state_\($0.rawValue)"] ?? $0.rawValue, "selected": $0.rawValue == stateText] },
            "filters": ["overdue": overdue, "office": office, "from": text("from"), "to": text("to"), "citizenId": citizen],
        ]
        values.merge(console.errorValues(problems, labels: [
            "state": t["filter_state"]!, "office": t["filter_office"]!, "from": t["filter_from"]!, "to": t["filter_to"]!, "citizenId": t["filter_citizenId"]!,
        ])) { $1 }
    }

    /// The template values for one page of `total` rows shown as `rows`.
    public func page(_ rows: [[String: Any]], total: Int, request: Request) -> [String: Any] {
        values.merging([
            "rows": rows, "hasRows": !rows.isEmpty, "pager": Console.pager(request, page: number, perPage: Self.perPage, total: total),
        ]) { $1 }
    }
}
