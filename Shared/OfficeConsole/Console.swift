import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import OfficeAuth
import OfficeRuntime
import TransferDomain

/// An entry of the console's menu: shown to holders of any of `roles` (everyone when nil).
public struct NavItem: Sendable {
    public var path: String
    public var key: String
    public var roles: Set<AccessRole>?

    public init(_ path: String, _ key: String, roles: Set<AccessRole>?) {
        self.path = path
        self.key = key
        self.roles = roles
    }
}

/// Where the form a page shows went wrong: messages by field, and what the user typed.
public struct FormProblems: Sendable {
    public var errors: [(field: String, message: String)] = []
    public init() {}
    public var isEmpty: Bool { errors.isEmpty }
    public mutating func add(_ field: String, _ message: String) { errors.append((field, message)) }
    public func has(_ field: String) -> Bool { errors.contains { $0.field == field } }
}

/// An office's web console: sign-in, sessions, CSRF, security headers, both languages, the
/// shared pages (sign-in, operations) and the page frame the service's own pages render into.
///
/// The same ``Access`` groups guard the console's routes as the API's: a role decides for both.
public final class Console: Sendable {
    public let environment: ConsoleEnvironment
    public let role: OfficeRole
    let library: MustacheLibrary
    let tables: [Language: [String: String]]
    let nav: [NavItem]
    public let assets = Assets()
    let throttle: LoginThrottle
    let lookups: RateLimiter
    /// The session cookie (one per office: cookies do not tell ports apart).
    public let sessionCookie: String
    /// The pre-session token of the public forms (sign-in, progress).
    public let formCookie: String

    /// - Parameters:
    ///   - templates: the service's own templates by name (the shared ones are added).
    ///   - strings: the service's own words.
    public init(environment: ConsoleEnvironment, role: OfficeRole, templates: [String: String], strings: [Strings.Entry], nav: [NavItem]) throws {
        self.environment = environment
        self.role = role
        var library = MustacheLibrary()
        for (name, text) in SharedTemplates.all.merging(templates, uniquingKeysWith: { $1 }) {
            try library.register(text, named: name)
        }
        self.library = library
        var tables: [Language: [String: String]] = [:]
        for language in Language.allCases { tables[language] = Strings.table(language, extra: strings) }
        self.tables = tables
        self.nav = nav
        let settings = environment.configuration.console
        throttle = LoginThrottle(perAccount: settings.loginFailures, perAddress: settings.loginFailures * 4)
        lookups = RateLimiter(perMinute: settings.progressLookupsPerMinute)
        sessionCookie = "office_session_\(environment.configuration.officeCode.rawValue)"
        formCookie = "office_form_\(environment.configuration.officeCode.rawValue)"
    }

    public var office: OfficeCode { environment.configuration.officeCode }
    public var logger: Logger { environment.logger }

    // MARK: - Mounting

    /// Adds the console to `router`: the shared routes, then the service's (`routes`), all behind
    /// the console's middleware.
    public func mount(on router: Router<OfficeRequestContext>, home: @escaping @Sendable (OfficeIdentity) -> String, _ routes: (RouterGroup<OfficeRequestContext>) -> Void) {
        let group = router.group()
            .add(middleware: SecurityHeaders())
            .add(middleware: SessionAuthenticator(console: self))
            .add(middleware: ConsoleErrors(console: self))
            .add(middleware: ConsoleForms(console: self))
        group.get("static/:file") { _, context in try self.asset(context) }
        group.get("/") { request, context in
            guard let identity = context.identity else { return Self.redirect(to: "/login") }
            return Self.redirect(to: home(identity))
        }
        group.get("login") { request, context in try self.loginPage(request, context) }
        group.post("login") { request, context in try await self.login(request, context) }
        group.post("logout") { request, context in try await self.logout(request, context) }
        let operators = group.group("operations").add(middleware: Access.operators)
        operators.get { request, context in try await self.operationsPage(request, context) }
        operators.get("outbox/:seq/release") { request, context in try await self.releasePage(request, context) }
        operators.post("outbox/:seq/release") { request, context in try await self.release(request, context) }
        routes(group)
    }

    func asset(_ context: OfficeRequestContext) throws -> Response {
        guard let name = context.parameters.get("file"), let file = assets.files[name] else {
            throw Problem.notFound("no such file")
        }
        return Response(
            status: .ok,
            headers: [.contentType: file.contentType, .cacheControl: "public, max-age=31536000, immutable"],
            body: .init(byteBuffer: ByteBuffer(string: file.body)))
    }

    // MARK: - Rendering

    /// The language of this request: `?lang=` (remembered in a cookie), the cookie, or the
    /// browser's `Accept-Language`.
    public func language(_ request: Request) -> Language {
        if let asked = request.uri.queryParameters.get("lang").flatMap(Language.init(rawValue:)) { return asked }
        if let kept = request.cookies["office_lang"]?.value, let language = Language(rawValue: kept) { return language }
        return Language.preferred(by: request.headers[.acceptLanguage])
    }

    /// The words of `language`.
    public func words(_ language: Language) -> [String: String] { tables[language] ?? [:] }

    /// The words of this request's language.
    public func words(_ request: Request) -> [String: String] { words(language(request)) }

    /// Renders `template` with `data` inside the page frame.
    /// - Parameters:
    ///   - title: the page's title (already in the request's language).
    ///   - live: the page refreshes itself (progressive enhancement).
    ///   - formToken: the pre-session token public forms carry (set as a cookie too).
    public func page(
        _ template: String, title: String, _ data: [String: Any], request: Request, context: OfficeRequestContext, status: HTTPResponse.Status = .ok,
        live: Bool = false, formToken: String? = nil, notice: String? = nil
    ) -> Response {
        let language = language(request)
        let t = words(language)
        var values = data
        values["t"] = t
        values["lang"] = language.tag
        let csrf = context.staff?.session.csrfToken ?? formToken ?? ""
        values["csrf"] = csrf
        let content = library.render(values, withTemplate: template) ?? ""
        var frame: [String: Any] = [
            "t": t, "lang": language.tag, "title": title, "content": content, "csrf": csrf, "office": office.rawValue,
            "roleName": t[role == .origin ? "role_origin" : "role_destination"] ?? "", "css": assets.names["console.css"]!,
            "js": assets.names["console.js"]!, "isZh": language == .zh, "isEn": language == .en,
            "langZh": Self.sameURL(request, lang: "zh"), "langEn": Self.sameURL(request, lang: "en"), "live": live,
        ]
        if let notice { frame["notice"] = notice }
        let path = request.uri.path
        let roles = context.identity?.roles ?? []
        let items = nav.filter { item in item.roles.map { !$0.isDisjoint(with: roles) } ?? true }
            .filter { $0.roles == nil || context.identity != nil }
            .map { item -> [String: Any] in
                ["path": item.path, "label": t[item.key.replacingOccurrences(of: ".", with: "_")] ?? item.key, "current": item.path == path || (item.path != "/" && path.hasPrefix(item.path + "/"))]
            }
        frame["nav"] = items
        frame["hasNav"] = !items.isEmpty
        if let staff = context.staff {
            frame["user"] = [
                "displayName": staff.account.displayName,
                "roles": staff.account.roles.map { t["role_\($0.rawValue)"] ?? $0.rawValue }.sorted().joined(separator: ", "),
            ]
        }
        let html = library.render(frame, withTemplate: "layout") ?? ""
        var response = Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
        if let asked = request.uri.queryParameters.get("lang"), Language(rawValue: asked) != nil {
            response.headers.append(HTTPField(name: .setCookie, value: "office_lang=\(asked); Path=/; Max-Age=31536000; SameSite=Strict"))
        }
        if let formToken, request.cookies[formCookie]?.value != formToken {
            response.headers.append(HTTPField(name: .setCookie, value: cookie(formCookie, formToken, request: request)))
        }
        return response
    }

    /// Field errors for a template: `errors.<field>` for the field, `errorList` for the summary.
    public func errorValues(_ problems: FormProblems, labels: [String: String]) -> [String: Any] {
        var byField: [String: String] = [:]
        for error in problems.errors { byField[error.field] = (byField[error.field].map { $0 + "; " } ?? "") + error.message }
        return [
            "errors": byField, "hasErrors": !problems.isEmpty,
            "errorList": problems.errors.map { ["field": $0.field, "label": labels[$0.field] ?? $0.field, "message": $0.message] },
        ]
    }

    /// The page's own address with `lang` set to `lang` (the language switch).
    static func sameURL(_ request: Request, lang: String) -> String {
        var items = URLComponents(string: request.uri.description)?.queryItems ?? []
        items.removeAll { $0.name == "lang" || $0.name == "notice" }
        items.append(URLQueryItem(name: "lang", value: lang))
        var components = URLComponents()
        components.path = request.uri.path
        components.queryItems = items
        return components.string ?? "?lang=\(lang)"
    }

    public static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` as configured.
    func cookie(_ name: String, _ value: String, request: Request, maxAge: Int? = nil) -> String {
        var text = "\(name)=\(value); Path=/; HttpOnly; SameSite=Strict"
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if secure(request) { text += "; Secure" }
        return text
    }

    /// `path` on this office as the browser reached it (`https://host/progress`), for a printed
    /// page a person types in later; the path alone when the request named no host.
    public func address(of path: String, request: Request) -> String {
        guard let host = request.head.authority else { return path }
        return "\(secure(request) ? "https" : "http")://\(host)\(path)"
    }

    func secure(_ request: Request) -> Bool {
        switch environment.configuration.console.secureCookie {
        case .always: true
        case .never: false
        case .auto: request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        }
    }

    /// A path inside this site to return to after sign-in; `/` for anything else (another site,
    /// a scheme, `//host`, a back-slash trick, the sign-in page itself).
    public static func safeReturn(_ candidate: String?) -> String {
        guard let candidate, candidate.hasPrefix("/"), !candidate.hasPrefix("//"), !candidate.contains("\\"),
              !candidate.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }), candidate.count <= 2000,
              !candidate.hasPrefix("/login"), !candidate.hasPrefix("/logout")
        else { return "/" }
        return candidate
    }

    /// Whether two secrets (tokens, citizen IDs) are equal, in a time that depends only on the
    /// longer one's length, not on where they differ. Empty strings are never a match.
    public static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = x.count ^ y.count
        for index in 0..<max(x.count, y.count) {
            difference |= Int((index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0))
        }
        return difference == 0 && !x.isEmpty
    }

    /// The client's address as the connection shows it.
    static func clientAddress(_ context: OfficeRequestContext) -> String { context.remoteAddress ?? "unknown" }
}
