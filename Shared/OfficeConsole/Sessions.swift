import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOPosix
import OfficeAuth
import OfficeRuntime
import Synchronization
import TransferDomain

/// Errors of the console's own making, rendered as pages.
enum ConsoleError: Error {
    /// A form came without the token of the session (or of the public form) it belongs to.
    case csrf
    /// Too many requests from one client address.
    case tooMany(retryAfter: Int)
}

/// The headers every console page carries: a Content-Security-Policy without inline script or
/// style, no framing, no MIME sniffing, no referrer to other sites.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = OfficeRequestContext
    static let policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        return response
    }
}

/// Reads the console session cookie into the request's identity. The console never takes the
/// every-role identity of an office with authentication turned off: staff sign in regardless.
struct SessionAuthenticator: RouterMiddleware {
    typealias Context = OfficeRequestContext
    let console: Console
    /// Marks a request whose session had just ended (the sign-in page says so).
    static let expired = "console session expired"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if context.identity == .unrestricted { context.identity = nil }
        guard let id = request.cookies[console.sessionCookie]?.value, !id.isEmpty else { return try await next(request, context) }
        let hash = StaffSession.hash(id)
        let settings = console.environment.configuration.console
        let now = Date()
        let found = try await console.environment.store.read { transaction -> (StaffSession, StaffAccount?)? in
            guard let session = try transaction.staffSession(idHash: hash) else { return nil }
            return (session, try transaction.staffAccount(session.username))
        }
        guard let (session, account) = found else {
            context.authenticationFailure = Self.expired
            return try await next(request, context)
        }
        let idle = now.timeIntervalSince(session.lastSeenAt) > settings.sessionIdle.seconds
        let old = now.timeIntervalSince(session.createdAt) > settings.sessionAbsolute.seconds
        guard let account, !account.disabled, !idle, !old else {
            try await console.environment.store.write { transaction in try transaction.endStaffSession(idHash: hash) }
            context.authenticationFailure = Self.expired
            console.logger.info("Console session ended", metadata: ["user": .string(session.username), "why": .string(idle ? "idle" : old ? "absolute expiry" : "account disabled")])
            return try await next(request, context)
        }
        // At most one write a minute per session for "last seen".
        if now.timeIntervalSince(session.lastSeenAt) > 60 {
            try await console.environment.store.write { transaction in try transaction.touchStaffSession(idHash: hash, at: now) }
        }
        context.identity = OfficeIdentity(subject: account.username, roles: account.roles)
        context.staff = (session, account)
        return try await next(request, context)
    }
}

/// Turns what a console route throws into a page: 401 into the sign-in page (returning here
/// afterwards), 403 and 404 into pages saying so, a refused form into a 403, anything unexpected
/// into a logged 500 that reveals nothing.
struct ConsoleErrors: RouterMiddleware {
    typealias Context = OfficeRequestContext
    let console: Console

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return page(for: problem, request, context)
        } catch let refusal as any Refusal {
            return page(for: refusal.problem, request, context)
        } catch ConsoleError.csrf {
            console.logger.warning("Console form refused: missing or wrong CSRF token", metadata: ["path": .string(request.uri.path)])
            let t = console.words(request)
            return errorPage(request, context, .forbidden, t["error_forbidden"]!, t["error_csrf"]!)
        } catch ConsoleError.tooMany(let retryAfter) {
            let t = console.words(request)
            var response = errorPage(request, context, .tooManyRequests, t["error_title"]!, t["error_tooMany"]!)
            response.headers[.retryAfter] = "\(retryAfter)"
            return response
        } catch let error as ValidationError {
            let t = console.words(request)
            return errorPage(request, context, .unprocessableContent, t["error_title"]!, "\(error.field): \(error.reason)")
        } catch {
            console.logger.error("Console request failed", metadata: ["path": .string(request.uri.path), "error": .string(PrivacyMask.mask("\(error)"))])
            let t = console.words(request)
            return errorPage(request, context, .internalServerError, t["error_title"]!, t["error_server"]!)
        }
    }

    /// The page for a problem a route threw (or a refusal's problem).
    func page(for problem: Problem, _ request: Request, _ context: Context) -> Response {
        let t = console.words(request)
        switch problem.status {
        case .unauthorized:
            let back = request.method == .get ? request.uri.description : request.uri.path
            var location = "/login?return=" + (back.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")
            if context.authenticationFailure == SessionAuthenticator.expired { location += "&notice=expired" }
            return Console.redirect(to: location)
        case .forbidden:
            return errorPage(request, context, .forbidden, t["error_forbidden"]!, t["error_forbiddenText"]!)
        case .notFound:
            return errorPage(request, context, .notFound, t["error_notFound"]!, t["error_notFoundText"]!)
        case .unprocessableContent, .badRequest, .conflict:
            return errorPage(request, context, problem.status, t["error_title"]!, problem.detail)
        default:
            console.logger.error("Console request failed", metadata: ["path": .string(request.uri.path), "error": .string(problem.detail)])
            return errorPage(request, context, problem.status, t["error_title"]!, t["error_server"]!)
        }
    }

    func errorPage(_ request: Request, _ context: Context, _ status: HTTPResponse.Status, _ heading: String, _ message: String) -> Response {
        console.page("error", title: heading, ["heading": heading, "message": message], request: request, context: context, status: status)
    }
}

/// Reads a posted console form into the context and checks its CSRF token before any route
/// runs: the session's token for a signed-in user, the pre-session cookie's for the public
/// forms (sign-in, progress). A form without its token is refused (403).
struct ConsoleForms: RouterMiddleware {
    typealias Context = OfficeRequestContext
    let console: Console
    static let publicForms: Set<String> = ["/login", "/progress"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        var request = request
        var context = context
        let body = try await request.collectBody(upTo: 64 * 1024)
        context.form = Self.parse(String(buffer: body))
        let sent = context.form["_csrf"] ?? ""
        if Self.publicForms.contains(request.uri.path) {
            let expected = request.cookies[console.formCookie]?.value ?? ""
            guard !expected.isEmpty, Console.sameSecret(sent, expected) else { throw ConsoleError.csrf }
        } else if let staff = context.staff {
            guard Console.sameSecret(sent, staff.session.csrfToken) else { throw ConsoleError.csrf }
        }
        // Not signed in: the route's access check sends the user to sign in. A bearer-token
        // client (no cookie, so no cross-site risk) needs no form token.
        return try await next(request, context)
    }

    /// `application/x-www-form-urlencoded` fields (the last of a repeated name wins).
    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first.map(decode), !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}

/// Failed sign-ins slow further tries down: after `perAccount` failures for one user name (or
/// `perAddress` from one client address) within 15 minutes, each further try must wait 30 s,
/// doubling with each failure, at most 15 minutes, counted from the last failure.
final class LoginThrottle: Sendable {
    let perAccount: Int
    let perAddress: Int
    static let window: TimeInterval = 15 * 60
    private let failures = Mutex<[String: [Date]]>([:])

    init(perAccount: Int, perAddress: Int) {
        self.perAccount = perAccount
        self.perAddress = perAddress
    }

    /// Seconds to wait before `username` may try from `address` again; nil: now.
    func wait(username: String, address: String, now: Date = Date()) -> Int? {
        failures.withLock { table in
            let waits = [("u:" + username.lowercased(), perAccount), ("a:" + address, perAddress)].compactMap { key, limit -> TimeInterval? in
                let recent = (table[key] ?? []).filter { now.timeIntervalSince($0) < Self.window }
                guard recent.count >= limit, let last = recent.last else { return nil }
                let wait = min(Self.window, 30 * pow(2, Double(recent.count - limit)))
                let left = last.addingTimeInterval(wait).timeIntervalSince(now)
                return left > 0 ? left : nil
            }
            return waits.max().map { Int($0.rounded(.up)) }
        }
    }

    func failed(username: String, address: String, now: Date = Date()) {
        failures.withLock { table in
            for key in ["u:" + username.lowercased(), "a:" + address] {
                table[key] = (table[key] ?? []).filter { now.timeIntervalSince($0) < Self.window } + [now]
            }
            // Bounded memory: forget keys whose failures are all old.
            if table.count > 50_000 { table = table.filter { $0.value.contains { now.timeIntervalSince($0) < Self.window } } }
        }
    }

    func succeeded(username: String) {
        failures.withLock { _ = $0.removeValue(forKey: "u:" + username.lowercased()) }
    }
}

/// At most `perMinute` requests per client address in any minute.
final class RateLimiter: Sendable {
    let perMinute: Int
    private let seen = Mutex<[String: [Date]]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Counts a request; the seconds to wait when it is one too many.
    func admit(_ address: String, now: Date = Date()) -> Int? {
        seen.withLock { table in
            let recent = (table[address] ?? []).filter { now.timeIntervalSince($0) < 60 }
            if table.count > 50_000 { table = table.filter { $0.value.contains { now.timeIntervalSince($0) < 60 } } }
            guard recent.count < perMinute else {
                table[address] = recent
                return max(1, Int((60 - now.timeIntervalSince(recent[0])).rounded(.up)))
            }
            table[address] = recent + [now]
            return nil
        }
    }
}

// MARK: - Sign-in and sign-out

extension Console {
    /// The known notices a page may be asked to show (`?notice=`): never text from the address.
    static let notices = [
        "expired": "login_expired", "signedOut": "login_signedOut", "released": "ops_released", "registered": "person_saved",
        "registeredWithCard": "person_cardIssued",
    ]

    public func notice(_ request: Request) -> String? {
        request.uri.queryParameters.get("notice").flatMap { Self.notices[$0] }.flatMap { words(request)[$0] }
    }

    /// A fresh pre-session token for a public form, or the one the browser holds.
    public func formToken(_ request: Request) -> String {
        if let kept = request.cookies[formCookie]?.value, kept.count == 43 { return kept }
        return StaffSession.randomToken()
    }

    func loginPage(_ request: Request, _ context: OfficeRequestContext, failure: String? = nil, username: String = "", status: HTTPResponse.Status = .ok) throws -> Response {
        let t = words(request)
        let asked: String? = context.form["return"] ?? request.uri.queryParameters.get("return").map { String($0) }
        let returnTo = Self.safeReturn(asked)
        if context.staff != nil, failure == nil { return Self.redirect(to: returnTo) }
        var data: [String: Any] = ["returnTo": returnTo, "username": username]
        if let failure { data["failure"] = failure }
        let notice = failure == nil ? notice(request) : nil
        return page("login", title: t["login_title"]!, data, request: request, context: context, status: status, formToken: formToken(request), notice: notice)
    }

    func login(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = words(request)
        let username = String((context.form["username"] ?? "").trimmingCharacters(in: .whitespaces).prefix(64))
        let password = context.form["password"] ?? ""
        let address = Self.clientAddress(context)
        if let wait = throttle.wait(username: username, address: address) {
            logger.warning("Console sign-in refused: too many failures", metadata: ["user": .string(username), "client": .string(address), "retry.after": "\(wait)"])
            var response = try loginPage(request, context, failure: t["login_throttled"]!, username: username, status: .tooManyRequests)
            response.headers[.retryAfter] = "\(wait)"
            return response
        }
        let account = try await environment.store.read { transaction in try transaction.staffAccount(username) }
        // bcrypt off the event loop; an unknown name is checked against a decoy hash, so it
        // takes as long as a wrong password.
        let hash = account?.passwordHash ?? StaffPasswords.decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { StaffPasswords.verify(password, hash: hash) }
        guard let account, matches, !account.disabled else {
            throttle.failed(username: username, address: address)
            logger.notice(
                "Console sign-in failed",
                metadata: ["user": .string(username), "client": .string(address), "why": .string(account == nil ? "unknown user" : account!.disabled ? "disabled" : "wrong password")])
            return try loginPage(request, context, failure: t["login_failed"]!, username: username, status: .unauthorized)
        }
        throttle.succeeded(username: username)
        // A new session id at every sign-in (never one the browser brought).
        let id = StaffSession.randomToken()
        let now = Date()
        let session = StaffSession(idHash: StaffSession.hash(id), username: account.username, csrfToken: StaffSession.randomToken(), createdAt: now, lastSeenAt: now)
        let settings = environment.configuration.console
        try await environment.store.write { transaction in
            if let old = request.cookies[self.sessionCookie]?.value { try transaction.endStaffSession(idHash: StaffSession.hash(old)) }
            try transaction.purgeStaffSessions(
                idleBefore: now.addingTimeInterval(-settings.sessionIdle.seconds), createdBefore: now.addingTimeInterval(-settings.sessionAbsolute.seconds))
            try transaction.insertStaffSession(session)
        }
        logger.notice(
            "Console sign-in", metadata: ["user": .string(account.username), "client": .string(address), "roles": .string(account.roles.map(\.rawValue).sorted().joined(separator: ","))])
        var response = Self.redirect(to: Self.safeReturn(context.form["return"]))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(sessionCookie, id, request: request)))
        return response
    }

    func logout(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        if let staff = context.staff {
            try await environment.store.write { transaction in try transaction.endStaffSession(idHash: staff.session.idHash) }
            logger.notice("Console sign-out", metadata: ["user": .string(staff.account.username)])
        }
        var response = Self.redirect(to: "/login?notice=signedOut")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(sessionCookie, "", request: request, maxAge: 0)))
        return response
    }

    /// Counts a lookup of a public page from this client; throws when it is one too many.
    public func admitLookup(_ context: OfficeRequestContext) throws {
        if let wait = lookups.admit(Self.clientAddress(context)) {
            logger.notice("Public lookup refused: rate limit", metadata: ["client": .string(Self.clientAddress(context))])
            throw ConsoleError.tooMany(retryAfter: wait)
        }
    }
}
