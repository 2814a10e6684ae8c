import Foundation
import Hummingbird
import HummingbirdAuth
import OfficeAuth

/// Who is calling an office's API, once their bearer token is verified.
public struct OfficeIdentity: Sendable, Hashable, RoleProviding {
    public var subject: String
    public var roles: Set<AccessRole>

    public init(subject: String, roles: Set<AccessRole>) {
        self.subject = subject
        self.roles = roles
    }

    public func has(_ role: AccessRole) -> Bool { roles.contains(role) }

    /// Every role: what an office with authentication turned off gives every request.
    public static let unrestricted = OfficeIdentity(subject: "unauthenticated (AUTH_DISABLED)", roles: Set(AccessRole.allCases))
}

/// The request context of the office APIs: the caller's identity, when a valid token came.
public struct OfficeRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: OfficeIdentity?
    /// Why the token that came was refused (`nil` when none came or it was fine).
    public var authenticationFailure: String?
    /// The console session the request came with, when it is signed in (``identity`` is then the
    /// account's), with the account it belongs to.
    public var staff: (session: StaffSession, account: StaffAccount)?
    /// The fields of a console form posted with this request (read, and its CSRF token checked,
    /// before the route runs).
    public var form: [String: String]
    /// The client's IP address as the connection shows it.
    public var remoteAddress: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        identity = nil
        authenticationFailure = nil
        staff = nil
        form = [:]
    }
}

/// How an office authenticates its callers.
public enum Authentication: Sendable {
    /// Bearer tokens (JWT, Ed25519) checked against the issuer's public keys, for this office.
    case tokens(TokenVerifier, office: String)
    /// No authentication: every request has every role. For closed test benches only.
    case disabled
}

/// Reads the bearer token, if any, into the context's identity. Never refuses a request by
/// itself: the routes' ``Access`` groups decide (`/health` stays open to anyone).
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = OfficeRequestContext
    let authentication: Authentication

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        switch authentication {
        case .disabled:
            context.identity = .unrestricted
        case .tokens(let verifier, let office):
            if let bearer = request.headers.bearer {
                do {
                    let claims = try await verifier.verify(bearer.token, office: office)
                    context.identity = OfficeIdentity(subject: claims.sub.value, roles: Set(claims.roles))
                } catch {
                    context.authenticationFailure = error.description
                }
            } else if request.headers[.authorization] != nil {
                context.authenticationFailure = "the Authorization header is not a bearer token"
            }
        }
        return try await next(request, context)
    }
}

/// Which roles may call a group of routes: 401 (problem document, `WWW-Authenticate: Bearer`)
/// without a valid token, 403 with a valid token lacking every one of the roles.
public struct Access: RouterMiddleware {
    public typealias Context = OfficeRequestContext
    let roles: Set<AccessRole>

    public init(_ roles: AccessRole...) {
        self.roles = Set(roles)
    }

    public static let readers = Access(.viewer, .clerk, .auditor)
    public static let clerks = Access(.clerk)
    public static let auditors = Access(.auditor)
    public static let operators = Access(.operator)
    /// Any role at all (an account or token for this office).
    public static let anyone = Access(.viewer, .clerk, .auditor, .operator)

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let identity = context.identity else {
            throw Problem(
                status: .unauthorized, title: "Unauthorized",
                detail: context.authenticationFailure ?? "this request needs a bearer token (Authorization: Bearer <token>)",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        guard !identity.roles.isDisjoint(with: roles) else {
            throw Problem(
                status: .forbidden, title: "Forbidden",
                detail: "\(request.method.rawValue) \(request.uri.path) needs the role \(roles.map(\.rawValue).sorted().joined(separator: " or ")); the token has \(identity.roles.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        return try await next(request, context)
    }
}
