import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Turns the empty `400 Bad Request` that Hummingbird writes for a request it cannot parse (an
/// unknown method, a broken request line or header) into a problem document like every other
/// error of the API.
///
/// It sits on the outbound side of each connection: the only 400 the office ever sends without a
/// body is that one, so it is recognised by its empty body.
final class ParseErrorProblemHandler: ChannelOutboundHandler, RemovableChannelHandler, Sendable {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let body = Data(
        #"{"detail":"the request could not be parsed as HTTP/1.1 (unknown method, malformed request line or header)","status":400,"title":"Bad request","type":"about:blank"}"#
            .utf8)

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), head.status == .badRequest, head.headerFields[.contentLength] == "0",
              head.headerFields[.contentType] == nil
        else {
            context.write(data, promise: promise)
            return
        }
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.contentLength] = String(Self.body.count)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: Self.body))), promise: promise)
    }
}

extension OfficeConfiguration {
    /// The HTTP server of an office: idle connections (including ones that send half a request
    /// and stop) are closed after ``httpIdleTimeout``, at most ``httpMaxConnections`` are served at
    /// once (more wait in the listen backlog), and parse errors are problem documents.
    var httpServer: HTTPServerBuilder {
        .http1(configuration: .init(
            additionalChannelHandlers: [ParseErrorProblemHandler()],
            idleTimeout: .nanoseconds(Int64(httpIdleTimeout.components.seconds) * 1_000_000_000)))
    }

    /// The operations listener: `/health` and `/metrics` only, with a few connections of its own.
    var httpOperationsConfiguration: ApplicationConfiguration? {
        httpOperationsPort.map { port in
            ApplicationConfiguration(
                address: .hostname(httpHost, port: port), serverName: "\(role.rawValue)-office-operations",
                availableConnectionsDelegate: MaximumAvailableConnections(16))
        }
    }

    var httpServerConfiguration: ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(httpHost, port: httpPort), serverName: "\(role.rawValue)-office",
            availableConnectionsDelegate: MaximumAvailableConnections(httpMaxConnections))
    }
}
