import Foundation
import TransferDomain

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Any JSON value, for request bodies and loosely read answers.
enum JSONAny: Codable, Sendable {
    case string(String), number(Double), bool(Bool), object([String: JSONAny]), array([JSONAny]), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONAny].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONAny].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    var string: String? { if case .string(let value) = self { return value } else { return nil } }
    var int: Int? { if case .number(let value) = self, value == value.rounded() { return Int(value) } else { return nil } }
}

/// A failed HTTP call, with the office's problem document.
struct HTTPFailure: Error, CustomStringConvertible {
    var method: String
    var url: URL
    var status: Int
    var body: String
    var description: String { "\(method) \(url.path) answered \(status): \(body)" }
}

/// A small JSON-over-HTTP client on URLSession, sending a bearer token when it has one.
struct HTTP: Sendable {
    var token: String?

    func get<T: Decodable>(_ url: URL) async throws -> T {
        try await call("GET", url, body: nil)
    }

    func send<T: Decodable>(_ method: String, _ url: URL, body: [String: JSONAny]) async throws -> T {
        try await call(method, url, body: try JSONEncoder().encode(body))
    }

    private func call<T: Decodable>(_ method: String, _ url: URL, body: Data?) async throws -> T {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw HTTPFailure(method: method, url: url, status: status, body: String(decoding: data, as: UTF8.self))
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}

// MARK: - Views read from the offices

struct CaseList: Decodable {
    struct Item: Decodable, Sendable { var caseId: String; var state: String; var closedAt: String? }
    var cases: [Item]
}

struct TimelineView: Decodable, Sendable { var on: String; var what: String }
struct DeadlineView: Decodable, Sendable { var due: String; var provisional: Bool }

struct DestinationCaseView: Decodable, Sendable {
    var state: String
    var originOffice: String
    var contactLetterNo: String?
    var submittedOn: String
    var reviewReasons: [String]
    var returnReasons: [String]
    var received: String
    var deadlines: [String: DeadlineView]
    var timeline: [TimelineView]
}

struct OriginCaseView: Decodable, Sendable {
    var state: String
    var remitted: String
    var timeline: [TimelineView]
}

/// The body of an origin's `POST /v1/persons/{id}/months` (each month paid at that office).
func monthsBody(_ months: [ContributionMonth]) -> [String: JSONAny] {
    [
        "months": .array(months.map {
            .object([
                "period": .string($0.period.description), "base": .string($0.base.description),
                "employerRate": .string($0.employerRate.description), "personalRate": .string($0.personalRate.description),
            ])
        }),
    ]
}
