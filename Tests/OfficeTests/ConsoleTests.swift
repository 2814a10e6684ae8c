import DestinationOffice
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import OfficeAuth
import OfficeConsole
import OfficeRuntime
import OfficeStorage
import OriginOffice
import Testing
import TransferDomain

/// The console's rules at the router level (no broker): sign-in, sessions, CSRF, roles, escaping,
/// the public progress page. The browser tests (scripts/browser-test) drive the same pages in
/// Chromium.
@Suite("Office console (router level, no broker)")
struct ConsoleTests {
    static let password = "correct horse battery"

    /// A destination office with a console, accounts `clerk1` (clerk), `viewer1` (viewer),
    /// `auditor1` (auditor), `ops1` (operator) and a disabled `gone1`.
    struct Bench {
        let office: DestinationOffice
        let store: any OfficeStore
        let application: any ApplicationProtocol

        init(extra: [String: String] = [:]) async throws {
            let configuration = try Support.configuration(.destination, code: "510100", extra: extra)
            let database = try SQLiteStore(path: nil, migrations: { DestinationOffice.registerMigrations(&$0) })
            let context = OfficeContext(
                configuration: configuration, database: database, signer: Support.eventKeys.signers["510100"]!, eventKeys: Support.eventKeys.keys,
                clock: Support.clock, logger: Support.logger)
            office = DestinationOffice(context: context)
            store = database
            let hash = StaffPasswords.hash(ConsoleTests.password)
            try await database.write { transaction in
                for (name, roles, disabled) in [
                    ("clerk1", [AccessRole.clerk], false), ("viewer1", [.viewer], false), ("auditor1", [.auditor], false), ("ops1", [.operator], false),
                    ("gone1", [.clerk], true),
                ] {
                    try transaction.saveStaffAccount(StaffAccount(username: name, displayName: "\(name) <b>", roles: Set(roles), passwordHash: hash, disabled: disabled))
                }
            }
            let authentication = try await Support.authentication(office: "510100")
            let console = ConsoleEnvironment(
                configuration: configuration, store: database, authentication: authentication, logger: Support.logger, doorbell: context.doorbell,
                health: { HealthReport(status: "ok", database: "ok", broker: "ok", relay: "this instance", problems: [:], warnings: [:], checkedAt: "now", details: [:]) })
            application = Application(router: OfficeRouter.make(office, authentication: authentication, console: console), logger: Support.logger)
        }
    }

    /// A browser's cookie jar over a router test client.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var cookies: [String: String] = [:]
        var headers: HTTPFields = [:]

        init(_ client: any TestClientProtocol) { self.client = client }

        struct Page {
            var status: HTTPResponse.Status
            var headers: HTTPFields
            var body: String
            var location: String? { headers[.location] }
            /// The `_csrf` of the page's first form.
            var csrf: String? {
                guard let range = body.range(of: #"name="_csrf" value="([^"]*)""#, options: .regularExpression) else { return nil }
                return String(body[range]).components(separatedBy: "value=\"")[1].dropLast().description
            }
        }

        func request(_ path: String, method: HTTPRequest.Method = .get, form: [String: String]? = nil) async throws -> Page {
            var fields = headers
            if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            var body: ByteBuffer?
            if let form {
                fields[.contentType] = "application/x-www-form-urlencoded"
                body = ByteBuffer(string: form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&"))
            }
            return try await client.execute(uri: path, method: method, headers: fields, body: body) { response in
                for cookie in response.headers[values: .setCookie] {
                    let pair = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
                    if value.isEmpty || cookie.contains("Max-Age=0") { self.cookies.removeValue(forKey: name) } else { self.cookies[name] = value }
                }
                return Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
            }
        }

        @discardableResult
        func signIn(_ username: String, password: String = ConsoleTests.password, returnTo: String = "/") async throws -> Page {
            let form = try await request("/login")
            return try await request("/login", method: .post, form: ["_csrf": form.csrf ?? "", "username": username, "password": password, "return": returnTo])
        }
    }

    @Test("a page needs a session: the sign-in page, then back to where the user was; the cookie is HttpOnly, SameSite=Strict, random")
    func signIn() async throws {
        let bench = try await Bench()
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            let first = try await browser.request("/cases?state=completed")
            #expect(first.status == .seeOther)
            #expect(first.location == "/login?return=%2Fcases%3Fstate%3Dcompleted")
            let signedIn = try await browser.signIn("clerk1", returnTo: "/cases?state=completed")
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.location == "/cases?state=completed")
            let cookie = signedIn.headers[values: .setCookie].first { $0.hasPrefix("office_session_510100=") } ?? ""
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"), "plain HTTP without a proxy saying https")
            let id = browser.cookies["office_session_510100"] ?? ""
            #expect(id.count == 43, "256 random bits, base64url")
            let page = try await browser.request("/cases?state=completed")
            #expect(page.status == .ok)
            #expect(page.body.contains("clerk1 &lt;b&gt;"), "the display name is escaped")
            // The store keeps the id's hash, never the id.
            let stored = try await bench.store.read { transaction in try transaction.staffSession(idHash: StaffSession.hash(id)) }
            #expect(stored?.username == "clerk1")
            let raw = try await bench.store.read { transaction in try transaction.staffSession(idHash: id) }
            #expect(raw == nil)
            // Behind a TLS proxy the cookie is Secure.
            let proxied = Browser(client)
            proxied.headers[HTTPField.Name("X-Forwarded-Proto")!] = "https"
            let secure = try await proxied.signIn("viewer1")
            #expect(secure.headers[values: .setCookie].contains { $0.hasPrefix("office_session_510100=") && $0.contains("Secure") })
        }
    }

    @Test("sign-in returns only to paths on this site")
    func returnTo() {
        #expect(Console.safeReturn("/cases/1?x=2") == "/cases/1?x=2")
        for hostile in ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "/login?return=//x", "/\u{0}x", nil] {
            #expect(Console.safeReturn(hostile) == "/", "\(hostile ?? "nil")")
        }
    }

    @Test("a wrong password, an unknown or disabled account are refused alike; repeated failures are slowed down (429)")
    func failures() async throws {
        let bench = try await Bench(extra: ["console.login.failures": "3"])
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            for name in ["clerk1", "nobody", "gone1"] {
                let page = try await browser.signIn(name, password: name == "gone1" ? ConsoleTests.password : "wrong password!")
                #expect(page.status == .unauthorized)
                #expect(page.body.contains("The user name or password is wrong"))
                #expect(browser.cookies["office_session_510100"] == nil)
            }
            _ = try await browser.signIn("clerk1", password: "wrong again!!")
            _ = try await browser.signIn("clerk1", password: "and again!!!")
            let throttled = try await browser.signIn("clerk1")
            #expect(throttled.status == .tooManyRequests, "the right password too waits once the account is throttled")
            #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 0)
        }
    }

    @Test("every form carries a CSRF token: without it, or with another session's, the post is refused and nothing is written")
    func csrf() async throws {
        let bench = try await Bench()
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("clerk1")
            let person = Support.citizenID(birth: "19900504", sequence: "022")
            let form = ["citizenId": person.rawValue, "name": "Zhang Min", "hukouProvince": "44", "registeredOn": "2026-03-02", "contributing": "yes"]
            let missing = try await browser.request("/persons/new", method: .post, form: form)
            #expect(missing.status == .forbidden)
            let other = Browser(client)
            try await other.signIn("clerk1")
            let otherToken = try await other.request("/persons/new").csrf!
            let wrong = try await browser.request("/persons/new", method: .post, form: form.merging(["_csrf": otherToken]) { $1 })
            #expect(wrong.status == .forbidden)
            let registered = try await bench.store.read { transaction in try transaction.portableQuery("SELECT COUNT(*) AS n FROM person", [])[0].int("n") }
            #expect(registered == 0)
            // The sign-in form needs its pre-session token too.
            let anonymous = Browser(client)
            let login = try await anonymous.request("/login", method: .post, form: ["username": "clerk1", "password": ConsoleTests.password])
            #expect(login.status == .forbidden)
            let token = try await browser.request("/persons/new").csrf!
            let good = try await browser.request("/persons/new", method: .post, form: form.merging(["_csrf": token]) { $1 })
            #expect(good.status == .seeOther)
        }
    }

    @Test("a viewer sees no filing form and the server refuses a filing anyway; bearer tokens keep working for machine clients")
    func roles() async throws {
        let bench = try await Bench()
        try await bench.application.test(.router) { client in
            let viewer = Browser(client)
            try await viewer.signIn("viewer1")
            let cases = try await viewer.request("/cases")
            #expect(cases.status == .ok)
            #expect(!cases.body.contains("/applications/new"))
            let form = try await viewer.request("/applications/new")
            #expect(form.status == .forbidden)
            let token = try await viewer.request("/dashboard").csrf!
            let post = try await viewer.request("/applications/new", method: .post, form: ["_csrf": token, "citizenId": "x", "originOffice": "440300"])
            #expect(post.status == .forbidden)
            let operations = try await viewer.request("/operations")
            #expect(operations.status == .forbidden)
            let operatorBrowser = Browser(client)
            try await operatorBrowser.signIn("ops1")
            #expect(try await operatorBrowser.request("/operations").status == .ok)
            #expect(try await operatorBrowser.request("/cases").status == .forbidden, "an operator reads no cases")
            // A machine client with a bearer token: the same role table.
            let machine = Browser(client)
            machine.headers[.authorization] = "Bearer \(try await Support.token(roles: [.viewer]))"
            #expect(try await machine.request("/cases").status == .ok)
            #expect(try await machine.request("/applications/new").status == .forbidden)
        }
    }

    @Test("an operator releases a parked outbox event only after confirming it on its own page; a clerk cannot; a post without its CSRF token changes nothing")
    func releaseParkedEvent() async throws {
        let bench = try await Bench()
        try await bench.store.write { transaction in
            _ = try transaction.portableExecute(
                "INSERT INTO outbox (eventId, eventType, topic, key, headers, payload, createdAt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [.text("e-1"), .text("contact-letter-issued"), .text("pension.transfer.inbox.440300.origin"), .text("k"), .text("[]"),
                 .bytes(Data("{}".utf8)), .date(Date())])
            try transaction.park(seq: 1, reason: "Broker: Message size too large")
        }
        let store = bench.store
        @Sendable func parked() async throws -> [Int64] { try await store.read { try $0.parkedOutbox().map(\.seq) } }
        try await bench.application.test(.router) { client in
            let clerk = Browser(client)
            try await clerk.signIn("clerk1")
            #expect(try await clerk.request("/operations/outbox/1/release").status == .forbidden)

            let ops = Browser(client)
            try await ops.signIn("ops1")
            let operations = try await ops.request("/operations")
            #expect(operations.body.contains("/operations/outbox/1/release") && operations.body.contains("Message size too large"))
            let confirm = try await ops.request("/operations/outbox/1/release")
            #expect(confirm.status == .ok && confirm.body.contains("name=\"confirmed\""), "the release asks for confirmation on its own page")
            let token = try #require(confirm.csrf)
            #expect(try await ops.request("/operations/outbox/1/release", method: .post, form: ["confirmed": "yes"]).status == .forbidden)
            #expect(try await parked() == [1], "no token: still parked")
            let unconfirmed = try await ops.request("/operations/outbox/1/release", method: .post, form: ["_csrf": token])
            #expect(unconfirmed.status == .ok && unconfirmed.body.contains("name=\"confirmed\""), "without the confirmation the page asks again")
            #expect(try await parked() == [1])
            let released = try await ops.request("/operations/outbox/1/release", method: .post, form: ["_csrf": token, "confirmed": "yes"])
            #expect(released.status == .seeOther && released.location == "/operations?notice=released")
            #expect(try await parked() == [])
            #expect(try await ops.request("/operations/outbox/1/release").status == .notFound, "nothing is parked any more")
        }
    }

    @Test("logout ends the session on the server: the old cookie no longer works")
    func logout() async throws {
        let bench = try await Bench()
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("clerk1")
            let old = browser.cookies["office_session_510100"]!
            let token = try await browser.request("/cases").csrf!
            let out = try await browser.request("/logout", method: .post, form: ["_csrf": token])
            #expect(out.location == "/login?notice=signedOut")
            browser.cookies["office_session_510100"] = old
            let after = try await browser.request("/cases")
            #expect(after.status == .seeOther)
            #expect(after.location?.hasPrefix("/login") == true)
        }
    }

    @Test("a person not on record: the console answers its not-found page (the refusal comes from inside the store transaction), the API a 404 problem")
    func personNotOnRecord() async throws {
        let bench = try await Bench()
        let unknown = Support.citizenID(birth: "19850310", sequence: "013").rawValue
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("clerk1")
            let page = try await browser.request("/persons/\(unknown)")
            #expect(page.status == .notFound, "\(page.status)")
            #expect(page.body.contains("<h1"), "an error page, not a bare body")
            let api = try await Support.callRaw(bench.office, .get, "/v1/persons/\(unknown)", nil)
            #expect(api.status == .notFound)
        }
    }

    @Test("an expired session (idle or absolute) goes back to sign-in, which returns to the page")
    func expiry() async throws {
        let bench = try await Bench(extra: ["console.session.idle.minutes": "30", "console.session.absolute.hours": "10"])
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("clerk1")
            let hash = StaffSession.hash(browser.cookies["office_session_510100"]!)
            try await bench.store.write { transaction in try transaction.touchStaffSession(idHash: hash, at: Date().addingTimeInterval(-31 * 60)) }
            let idle = try await browser.request("/cases?page=1")
            #expect(idle.location == "/login?return=%2Fcases%3Fpage%3D1&notice=expired")
            let login = try await browser.request(idle.location!)
            #expect(login.body.contains("Your session has ended"))
            let back = try await browser.signIn("clerk1", returnTo: "/cases?page=1")
            #expect(back.location == "/cases?page=1")
            // Absolute expiry: a session signed in 11 hours ago, used a minute ago.
            let second = StaffSession.hash(browser.cookies["office_session_510100"]!)
            try await bench.store.write { transaction in
                try transaction.portableExecute("UPDATE staffSession SET createdAt = $2 WHERE idHash = $1", [.text(second), .int(Int(Date().timeIntervalSince1970) - 11 * 3600)])
            }
            #expect(try await browser.request("/cases").status == .seeOther)
        }
    }

    @Test("what a user typed is escaped on every page; pages carry the security headers")
    func escaping() async throws {
        let bench = try await Bench()
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("clerk1")
            let person = Support.citizenID(birth: "19900504", sequence: "022")
            let token = try await browser.request("/persons/new").csrf!
            let hostile = "<img src=x onerror=alert(1)>"
            let saved = try await browser.request(
                "/persons/new", method: .post,
                form: ["_csrf": token, "citizenId": person.rawValue, "name": hostile, "hukouProvince": "44", "registeredOn": "2026-03-02", "contributing": "yes"])
            // The API takes the name as text (markup is not a control character): every page shows it as text.
            #expect(saved.status == .seeOther)
            let person_ = try await browser.request(saved.location!)
            #expect(person_.body.contains("&lt;img src=x onerror=alert(1)&gt;"))
            #expect(!person_.body.contains(hostile))
            // A form that comes back with an error keeps what was typed, escaped.
            let again = try await browser.request(
                "/persons/new", method: .post,
                form: ["_csrf": token, "citizenId": "440300199005040221", "name": hostile, "hukouProvince": "44", "registeredOn": "2026-03-02"])
            #expect(again.status == .unprocessableContent)
            #expect(again.body.contains("value=\"&lt;img src=x onerror=alert(1)&gt;\""))
            #expect(!again.body.contains(hostile))
            let page = try await browser.request("/cases?citizenId=%3Cscript%3E")
            #expect(!page.body.contains("<script>"))
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin")
        }
    }

    @Test("the language follows Accept-Language and the switch; labels and reason codes in both")
    func language() async throws {
        let bench = try await Bench()
        try await bench.application.test(.router) { client in
            let browser = Browser(client)
            browser.headers[.acceptLanguage] = "zh-CN,zh;q=0.9,en;q=0.5"
            let zh = try await browser.request("/login")
            #expect(zh.body.contains("<html lang=\"zh-CN\">") && zh.body.contains("登录"))
            let en = try await browser.request("/login?lang=en")
            #expect(en.body.contains("<html lang=\"en\">") && en.body.contains("Sign in"))
            #expect(browser.cookies["office_lang"] == "en")
            let kept = try await browser.request("/login")
            #expect(kept.body.contains("<html lang=\"en\">"), "the switch is remembered")
            // A form's own messages follow the language too.
            try await browser.signIn("clerk1")
            let token = try await browser.request("/persons/new?lang=zh").csrf!
            let empty = try await browser.request("/persons/new", method: .post, form: ["_csrf": token, "citizenId": "", "name": ""])
            #expect(empty.status == .unprocessableContent)
            #expect(empty.body.contains("公民身份号码(18位): 必填") && empty.body.contains("id=\"name-error\">必填"))
        }
    }

    @Test("the public progress page: a wrong pair answers like an unknown reference; lookups are rate-limited per address")
    func progress() async throws {
        let bench = try await Bench(extra: ["console.progress.lookups.per.minute": "3"])
        let person = Support.citizenID(birth: "19900504", sequence: "022")
        let other = Support.citizenID(birth: "19910504", sequence: "022")
        try await bench.application.test(.router) { client in
            let clerk = Browser(client)
            try await clerk.signIn("clerk1")
            var token = try await clerk.request("/persons/new").csrf!
            _ = try await clerk.request(
                "/persons/new", method: .post,
                form: ["_csrf": token, "citizenId": person.rawValue, "name": "Zhang Min", "hukouProvince": "44", "registeredOn": "2026-03-02", "contributing": "yes"])
            token = try await clerk.request("/applications/new").csrf!
            let filed = try await clerk.request("/applications/new", method: .post, form: ["_csrf": token, "citizenId": person.rawValue, "originOffice": "440300"])
            #expect(filed.status == .seeOther)
            let reference = filed.location!.components(separatedBy: "/")[2]
            let receipt = try await clerk.request(filed.location!)
            #expect(receipt.body.contains(reference) && receipt.body.contains("15 working days"))

            let public_ = Browser(client)
            let formToken = try await public_.request("/progress").csrf!
            func lookUp(_ citizen: String, _ ref: String) async throws -> (Browser.Page, Duration) {
                let start = ContinuousClock.now
                let page = try await public_.request("/progress", method: .post, form: ["_csrf": formToken, "citizenId": citizen, "reference": ref])
                return (page, ContinuousClock.now - start)
            }
            let (found, _) = try await lookUp(person.rawValue, reference)
            #expect(found.status == .ok)
            #expect(found.body.contains("Contact letter sent to the origin"))
            #expect(!found.body.contains("Zhang Min"), "no name on the public page")
            let (wrongPair, wrongTime) = try await lookUp(other.rawValue, reference)
            let (unknown, unknownTime) = try await lookUp(person.rawValue, UUID().uuidString)
            #expect(wrongPair.status == .notFound && unknown.status == .notFound)
            func result(_ page: Browser.Page) -> String { page.body.components(separatedBy: "<main id=\"main\">")[1].replacingOccurrences(of: other.rawValue, with: "").replacingOccurrences(of: person.rawValue, with: "").replacingOccurrences(of: reference, with: "") }
            #expect(result(wrongPair).replacingOccurrences(of: #"value="[^"]*""#, with: "", options: .regularExpression)
                == result(unknown).replacingOccurrences(of: #"value="[^"]*""#, with: "", options: .regularExpression))
            #expect(wrongTime >= .milliseconds(250) && unknownTime >= .milliseconds(250), "every lookup takes the same floor")
            let (limited, _) = try await lookUp(person.rawValue, reference)
            #expect(limited.status == .tooManyRequests, "the fourth lookup in a minute from one address (limit 3)")
        }
    }

    @Test("the origin console: an auditor reads a person's spells and yearly ledger; a viewer sees no ledger")
    func origin() async throws {
        let configuration = try Support.configuration(.origin, code: "440300")
        let database = try SQLiteStore(path: nil, migrations: { OriginOffice.registerMigrations(&$0) })
        let context = OfficeContext(
            configuration: configuration, database: database, signer: Support.eventKeys.signers["440300"]!, eventKeys: Support.eventKeys.keys,
            clock: Support.clock, logger: Support.logger)
        let office = OriginOffice(context: context)
        let hash = StaffPasswords.hash(ConsoleTests.password)
        try await database.write { transaction in
            try transaction.saveStaffAccount(StaffAccount(username: "audit", displayName: "Audit", roles: [.auditor], passwordHash: hash))
            try transaction.saveStaffAccount(StaffAccount(username: "view", displayName: "View", roles: [.viewer], passwordHash: hash))
        }
        let authentication = try await Support.authentication(office: "440300")
        let console = ConsoleEnvironment(
            configuration: configuration, store: database, authentication: authentication, logger: Support.logger, doorbell: context.doorbell,
            health: { HealthReport(status: "ok", database: "ok", broker: "ok", relay: "this instance", problems: [:], warnings: [:], checkedAt: "now", details: [:]) })
        let application = Application(router: OfficeRouter.make(office, authentication: authentication, console: console), logger: Support.logger)
        let person = Support.citizenID(birth: "19800504", sequence: "022")
        try await application.test(.router) { client in
            let api = try await Support.token(roles: [.clerk])
            try await client.execute(uri: "/v1/persons/\(person.rawValue)", method: .put, headers: [.authorization: "Bearer \(api)"], body: Support.json(["name": "Li Lei", "hukouProvince": "44"])) { #expect($0.status == .created) }
            let months = (1...24).map { index -> [String: Any] in
                ["period": String(format: "2019-%02d", (index - 1) % 12 + 1).replacingOccurrences(of: "2019", with: index > 12 ? "2020" : "2019"), "base": "6000.00", "employerRate": "16", "personalRate": "8"]
            }
            try await client.execute(uri: "/v1/persons/\(person.rawValue)/months", method: .post, headers: [.authorization: "Bearer \(api)"], body: Support.json(["months": months])) { #expect($0.status == .created) }
            let auditor = Browser(client)
            try await auditor.signIn("audit")
            let found = try await auditor.request("/persons?citizenId=\(person.rawValue)")
            #expect(found.location == "/persons/\(person.rawValue)")
            let page = try await auditor.request(found.location!)
            #expect(page.status == .ok)
            #expect(page.body.contains("2019-01") && page.body.contains("2020-12") && page.body.contains("6,000.00"), "one spell of 24 months")
            #expect(page.body.contains("Yearly ledger"))
            let viewer = Browser(client)
            try await viewer.signIn("view")
            let seen = try await viewer.request("/persons/\(person.rawValue)")
            #expect(seen.status == .ok && !seen.body.contains("Yearly ledger"))
        }
    }
}
