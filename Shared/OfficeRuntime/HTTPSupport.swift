import Foundation
import Hummingbird
import Logging
import OfficeStorage
import Synchronization
import TransferDomain

/// An RFC 9457 problem document (`application/problem+json`): how every error leaves the API.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    /// The request field at fault, when one is.
    public var field: String?
    /// Extra response headers (e.g. `Allow` on a 405).
    public var headers: HTTPFields

    public init(status: HTTPResponse.Status, title: String, detail: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.headers = headers
    }

    public static func invalid(_ error: ValidationError) -> Problem {
        Problem(status: .unprocessableContent, title: "Invalid input", detail: error.description, field: error.field)
    }

    public static func notFound(_ what: String) -> Problem {
        Problem(status: .notFound, title: "Not found", detail: what)
    }

    public static func conflict(_ detail: String, field: String? = nil) -> Problem {
        Problem(status: .conflict, title: "Conflict", detail: detail, field: field)
    }

    struct Body: Encodable {
        var type = "about:blank"
        var title: String
        var status: Int
        var detail: String
        var field: String?
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        // No full citizen ID leaves in an error body, whoever's it is.
        let body = Body(title: title, status: status.code, detail: PrivacyMask.mask(detail), field: field)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(body))))
    }
}

/// The methods each route path answers, read from a router once its routes are added: a request
/// for a known path with another method is a 405 with `Allow`, not a 404.
public final class RouteTable: Sendable {
    private let entries = Mutex<[(segments: [String], methods: Set<String>)]>([])

    public init() {}

    /// Reads `router`'s routes (call after every route is added).
    public func load<Context>(from router: Router<Context>) {
        var table: [[String]: Set<String>] = [:]
        for route in router.routes {
            let segments = route.path.description.split(separator: "/").map(String.init)
            table[segments, default: []].insert(route.method.rawValue)
        }
        entries.withLock { $0 = table.map { ($0.key, $0.value) } }
    }

    /// The methods `path` answers to; empty when no route has that path.
    public func allowedMethods(for path: String) -> [String] {
        let requested = path.split(separator: "/").map(String.init)
        var methods: Set<String> = []
        for entry in entries.withLock({ $0 }) where entry.segments.count == requested.count {
            // A route segment `{name}` (Hummingbird's spelling of `:name`) matches anything.
            if zip(entry.segments, requested).allSatisfy({ ($0.hasPrefix("{") && $0.hasSuffix("}")) || $0 == "*" || $0 == $1 }) {
                methods.formUnion(entry.methods)
            }
        }
        if methods.contains("GET") { methods.insert("HEAD") }
        return methods.sorted()
    }
}

/// Turns every error a route throws into a problem document: validation and domain errors into
/// 4xx naming the field, anything unexpected into a logged 500 that reveals nothing internal.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable?

    /// - Parameter routes: the router's routes, for 405 answers (none: every unknown is a 404).
    public init(routes: RouteTable? = nil) {
        self.routes = routes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The router reads `//v1//persons//x` as `/v1/persons/x`; no resource has an empty path
        // segment, so such a path names nothing.
        if request.uri.path.contains("//") {
            throw Problem(status: .notFound, title: "Not found", detail: "no resource at a path with an empty segment")
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            // The router found no route: for a known path, the method is what is wrong.
            if let allowed = routes?.allowedMethods(for: request.uri.path), !allowed.isEmpty {
                throw Problem(
                    status: .methodNotAllowed, title: "Method not allowed",
                    detail: "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))",
                    headers: [.allow: allowed.joined(separator: ", ")])
            }
            throw Problem(status: .notFound, title: "Not found", detail: "no resource at \(request.uri.path)")
        } catch let problem as Problem {
            throw problem
        } catch let refusal as any Refusal {
            throw refusal.problem
        } catch let error as ValidationError {
            throw Problem.invalid(error)
        } catch let error as DomainError {
            throw Problem(status: .unprocessableContent, title: "Not possible", detail: error.description)
        } catch let error as IllegalTransition {
            throw Problem.conflict(error.description)
        } catch let error as HTTPError {
            throw Problem(status: error.status, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
        } catch let error as StorageFull {
            context.logger.error("A write met a full disk", metadata: ["error": "\(error)"])
            throw Problem(
                status: .serviceUnavailable, title: "Storage full",
                detail: "the office cannot store anything now: its disk is full; nothing was changed, try again later",
                headers: [.retryAfter: "60"])
        } catch let error as PostgresStoreError where error.isTransient {
            // The database was out of reach or too busy for a moment: nothing was changed, and the
            // same request later may succeed (a 500 would say the request itself is at fault).
            context.logger.warning("A request met a store failure of the moment", metadata: ["error": "\(error)"])
            throw Problem(
                status: .serviceUnavailable, title: "Store busy",
                detail: "the office could not reach its database in time; nothing was changed, try again shortly",
                headers: [.retryAfter: "1"])
        } catch let error as StoreConstraintViolation {
            // A write that races another one for the same thing (two requests at once): the
            // store kept the first; this one changed nothing.
            throw Problem.conflict("conflicts with what another request stored at the same time; nothing was changed (\(error.description))")
        } catch {
            context.logger.error("Unhandled error", metadata: ["error": "\(error)"])
            throw Problem(status: .internalServerError, title: "Internal error", detail: "the request could not be completed")
        }
    }
}

/// Why a service refuses a request, decided where the data is (inside a store transaction, which
/// knows nothing of HTTP): the API answers it as ``problem``, the console as a page.
public protocol Refusal: Error {
    var problem: Problem { get }
}

/// Nothing on record under what the request names (a person, a case): 404 in both offices.
public struct NotOnRecord: Refusal, Equatable {
    /// What was looked for, e.g. `person 4403**********0014 at office 440300` (masked).
    public var what: String
    public init(_ what: String) { self.what = what }
    public var problem: Problem { .notFound("no \(what)") }
}

/// JSON in and out of routes.
public enum JSONBody {
    /// The largest request body (1 MiB): far above any real request (a person with 50 years of
    /// months is about 60 KB).
    public static let maxBytes = 1024 * 1024
    /// How long a client may take to send its body once the headers are in.
    public static let bodyTimeout = Duration.seconds(15)

    /// Decodes the request body; decoding errors become 400/422 problems naming the field, a body
    /// above ``maxBytes`` a 413, a body not sent within ``bodyTimeout`` a 408.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let body = request.body
        let collected: ByteBuffer? = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await body.collect(upTo: maxBytes)
                } catch {
                    throw Problem(status: .contentTooLarge, title: "Body too large", detail: "the body is larger than \(maxBytes) bytes")
                }
            }
            group.addTask {
                try await Task.sleep(for: bodyTimeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let buffer = collected else {
            throw Problem(status: .requestTimeout, title: "Request timeout", detail: "the body did not arrive within \(bodyTimeout)")
        }
        do {
            try StrictJSON.validate(buffer.readableBytesView)
        } catch {
            throw Problem(status: .badRequest, title: "Malformed JSON", detail: "the body is \(error)", field: "body")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as ValidationError {
            throw Problem.invalid(error)
        } catch let DecodingError.keyNotFound(key, context) {
            let field = fieldPath(context.codingPath + [key])
            throw Problem(status: .badRequest, title: "Missing field", detail: "\(field) is required", field: field)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            // An empty path is the body itself (an array or a string where an object belongs).
            let field = context.codingPath.isEmpty ? "body" : fieldPath(context.codingPath)
            throw Problem(status: .badRequest, title: "Wrong type", detail: "\(field): \(context.debugDescription)", field: field)
        } catch let DecodingError.dataCorrupted(context) {
            let field = fieldPath(context.codingPath)
            if let validation = context.underlyingError as? ValidationError {
                throw Problem(status: .unprocessableContent, title: "Invalid input", detail: "\(field): \(validation.reason)", field: field.isEmpty ? validation.field : field)
            }
            throw Problem(status: .badRequest, title: "Malformed JSON", detail: field.isEmpty ? "the body is not valid JSON" : "\(field): \(context.debugDescription)", field: field.isEmpty ? "body" : field)
        } catch {
            throw Problem(status: .badRequest, title: "Malformed JSON", detail: "the body could not be read as JSON", field: "body")
        }
    }

    /// A coding path as the API names fields: `months[0].period`.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }

    /// A wall-clock instant as the APIs write it: RFC 3339 in UTC with milliseconds
    /// (`2026-06-15T08:30:12.345Z`).
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// A JSON response with sorted keys.
    public static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

extension Request {
    /// A query parameter; `nil` when absent.
    /// - Throws: ``ValidationError`` on `name` when it is given more than once (which of two
    ///   filters to apply would be a guess).
    public func query(_ name: String) throws -> String? {
        let values = uri.queryParameters.getAll(name)
        guard values.count <= 1 else { throw ValidationError(field: name, reason: "is given \(values.count) times; give it once") }
        return values.first.map { String($0) }
    }

    /// A `true`/`false` query parameter (`false` when absent).
    /// - Throws: ``ValidationError`` on `name` for any other value.
    public func queryFlag(_ name: String) throws -> Bool {
        switch try query(name) {
        case nil, "false": return false
        case "true": return true
        case let other?: throw ValidationError(field: name, reason: "must be true or false, got \"\(other.prefix(50))\"")
        }
    }
}
