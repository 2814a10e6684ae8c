import Foundation
import Hummingbird
import Logging
import TransferDomain

/// An RFC 9457 problem document (`application/problem+json`): how every error leaves the API.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    /// The request field at fault, when one is.
    public var field: String?

    public init(status: HTTPResponse.Status, title: String, detail: String, field: String? = nil) {
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
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
        let body = Body(title: title, status: status.code, detail: detail, field: field)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: status, headers: [.contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(body))))
    }
}

/// Turns every error a route throws into a problem document: validation and domain errors into
/// 4xx naming the field, anything unexpected into a logged 500 that reveals nothing internal.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as ValidationError {
            throw Problem.invalid(error)
        } catch let error as DomainError {
            throw Problem(status: .unprocessableContent, title: "Not possible", detail: error.description)
        } catch let error as IllegalTransition {
            throw Problem.conflict(error.description)
        } catch let error as HTTPError {
            throw Problem(status: error.status, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("Unhandled error", metadata: ["error": "\(error)"])
            throw Problem(status: .internalServerError, title: "Internal error", detail: "the request could not be completed")
        }
    }
}

/// JSON in and out of routes.
public enum JSONBody {
    static let maxBytes = 4 * 1024 * 1024

    /// Decodes the request body; decoding errors become 400/422 problems naming the field.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw Problem(status: .contentTooLarge, title: "Body too large", detail: "at most \(maxBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as ValidationError {
            throw Problem.invalid(error)
        } catch let DecodingError.keyNotFound(key, context) {
            let field = fieldPath(context.codingPath + [key])
            throw Problem(status: .badRequest, title: "Missing field", detail: "\(field) is required", field: field)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = fieldPath(context.codingPath)
            throw Problem(status: .badRequest, title: "Wrong type", detail: "\(field): \(context.debugDescription)", field: field)
        } catch let DecodingError.dataCorrupted(context) {
            let field = fieldPath(context.codingPath)
            if let validation = context.underlyingError as? ValidationError {
                throw Problem(status: .unprocessableContent, title: "Invalid input", detail: "\(field): \(validation.reason)", field: field.isEmpty ? validation.field : field)
            }
            throw Problem(status: .badRequest, title: "Malformed JSON", detail: field.isEmpty ? "the body is not valid JSON" : "\(field): \(context.debugDescription)", field: field.isEmpty ? nil : field)
        } catch {
            throw Problem(status: .badRequest, title: "Malformed JSON", detail: "the body could not be read as JSON")
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
    public func query(_ name: String) -> String? { uri.queryParameters[name[...]].map(String.init) }
}
