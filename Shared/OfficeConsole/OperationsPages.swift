import Foundation
import Hummingbird
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The operators' page: what `/health` says in words, the outbox (with a confirmed "release"
/// for a parked event), consumer lag, and the dead letters this office sent.
extension Console {
    func operationsPage(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = words(request)
        let health = await environment.health()
        let page = try Self.pageNumber(request)
        let perPage = 25
        let (parked, dead) = try await environment.store.read { transaction in
            (try transaction.parkedOutbox(), try transaction.deadLetters(limit: perPage, offset: (page - 1) * perPage))
        }
        let lag = environment.consumerLag().sorted { $0.key < $1.key }.map { ["partition": $0.key.description, "records": $0.value] as [String: Any] }
        let statusWords = t["ops_status_\(health.status)"] ?? health.status
        let data: [String: Any] = [
            "health": [
                "status": health.status, "database": health.database, "broker": health.broker, "relay": health.relay, "checkedAt": health.checkedAt,
            ],
            "statusWords": statusWords,
            "statusClass": health.status == "ok" ? "good" : "bad",
            "problems": health.problems.sorted { $0.key < $1.key }.map { ["name": $0.key, "words": $0.value, "detail": health.details[$0.key] ?? ""] },
            "hasProblems": !health.problems.isEmpty,
            "warnings": health.warnings.sorted { $0.key < $1.key }.map { ["name": $0.key, "words": $0.value] },
            "hasWarnings": !health.warnings.isEmpty,
            "outbox": [
                "pending": health.outboxPending.map(String.init) ?? "?", "parked": health.outboxParked.map(String.init) ?? "?",
                "oldest": health.oldestUnsentSeconds.map { String(format: "%.1f", $0) } ?? "-",
            ],
            "parked": parked.map { row -> [String: Any] in
                ["seq": row.seq, "eventType": row.eventType, "parkedAt": Format.time(row.parkedAt), "reason": row.reason, "heldBehind": row.heldBehind]
            },
            "hasParked": !parked.isEmpty,
            "lag": lag, "hasLag": !lag.isEmpty,
            "deadLetters": dead.entries.map { entry -> [String: Any] in
                [
                    "recordedAt": Format.time(entry.recordedAt), "reason": entry.reason, "detail": entry.detail, "topic": entry.topic,
                    "partition": entry.partition, "offset": entry.offset, "eventType": entry.eventType ?? "", "eventId": entry.eventId ?? "",
                    "eventSource": entry.eventSource ?? "", "hash": entry.valueSHA256, "bytes": entry.valueBytes,
                ]
            },
            "hasDeadLetters": !dead.entries.isEmpty,
            "pager": Self.pager(request, page: page, perPage: perPage, total: dead.total, anchor: "#dead-letters"),
        ]
        return self.page("operations", title: t["ops_title"]!, data, request: request, context: context, notice: notice(request))
    }

    func parkedRow(_ context: OfficeRequestContext) async throws -> Outbox.ParkedRow {
        guard let seq = context.parameters.get("seq").flatMap(Int64.init) else { throw Problem.notFound("no such outbox event") }
        let rows = try await environment.store.read { transaction in try transaction.parkedOutbox() }
        guard let row = rows.first(where: { $0.seq == seq }) else { throw Problem.notFound("no parked outbox event \(seq)") }
        return row
    }

    func releasePage(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = words(request)
        let row = try await parkedRow(context)
        let data: [String: Any] = [
            "row": ["seq": row.seq, "eventType": row.eventType, "parkedAt": Format.time(row.parkedAt), "reason": row.reason, "heldBehind": row.heldBehind]
        ]
        return page("release", title: t["ops_release"]!, data, request: request, context: context)
    }

    /// Releases a parked event once the confirmation form says so.
    func release(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let row = try await parkedRow(context)
        guard context.form["confirmed"] == "yes" else { return try await releasePage(request, context) }
        let released = try await environment.store.write { transaction in try transaction.release(seq: row.seq) }
        guard released else { throw Problem.notFound("no parked outbox event \(row.seq)") }
        environment.doorbell.ring()
        logger.notice("Parked outbox event released from the console", metadata: ["outbox.seq": "\(row.seq)", "user": .string(context.identity?.subject ?? "")])
        return Self.redirect(to: "/operations?notice=released")
    }

    /// `?page=` (1 by default).
    public static func pageNumber(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("page") else { return 1 }
        guard let page = Int(text), (1...100_000).contains(page) else { throw ValidationError(field: "page", reason: "must be a page number") }
        return page
    }

    /// The pager of a list: links to the neighbouring pages, keeping the other query parameters.
    public static func pager(_ request: Request, page: Int, perPage: Int, total: Int, anchor: String = "") -> [String: Any] {
        let pages = max(1, (total + perPage - 1) / perPage)
        func link(_ number: Int) -> String {
            var items = (URLComponents(string: request.uri.description)?.queryItems ?? []).filter { $0.name != "page" && $0.name != "notice" }
            items.append(URLQueryItem(name: "page", value: "\(number)"))
            var components = URLComponents()
            components.path = request.uri.path
            components.queryItems = items
            return (components.string ?? request.uri.path) + anchor
        }
        var pager: [String: Any] = ["page": page, "pages": pages, "total": total]
        if page > 1 { pager["previous"] = link(page - 1) }
        if page < pages { pager["next"] = link(page + 1) }
        return pager
    }
}
