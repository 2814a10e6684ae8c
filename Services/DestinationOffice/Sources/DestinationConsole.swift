import Foundation
import Hummingbird
import OfficeConsole
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The destination office's console: clerks register people and file applications, everyone
/// with a role follows cases, supervisors see the dashboard, and the insured person looks up
/// their own transfer on the public progress page.
extension DestinationOffice {
    public func addConsole(to router: Router<OfficeRequestContext>, environment: ConsoleEnvironment) {
        let console: Console
        do {
            console = try Console(
                environment: environment, role: .destination, templates: DestinationTemplates.all, strings: DestinationTemplates.strings,
                nav: [
                    NavItem("/dashboard", "nav.dashboard", roles: [.viewer, .clerk, .auditor]),
                    NavItem("/cases", "nav.cases", roles: [.viewer, .clerk, .auditor]),
                    NavItem("/persons/new", "nav.newPerson", roles: [.clerk]),
                    NavItem("/applications/new", "nav.newApplication", roles: [.clerk]),
                    NavItem("/operations", "nav.operations", roles: [.operator]),
                    NavItem("/progress", "nav.progress", roles: nil),
                ])
        } catch {
            // The templates are part of the program: one that does not parse is a bug.
            fatalError("the destination console's templates do not parse: \(error)")
        }
        let pages = DestinationPages(office: self, console: console)
        console.mount(on: router, home: { identity in
            identity.has(.clerk) || identity.has(.auditor) ? "/cases" : identity.has(.viewer) ? "/dashboard" : identity.has(.operator) ? "/operations" : "/progress"
        }) { group in
            let readers = group.group().add(middleware: Access.readers)
            readers.get("dashboard") { request, context in try await pages.dashboard(request, context) }
            readers.get("cases") { request, context in try await pages.cases(request, context) }
            readers.get("cases/:caseId") { request, context in try await pages.casePage(request, context) }
            readers.get("cases/:caseId/receipt") { request, context in try await pages.receipt(request, context) }
            readers.get("persons/:citizenId") { request, context in try await pages.person(request, context) }
            let clerks = group.group().add(middleware: Access.clerks)
            clerks.get("persons/new") { request, context in pages.personForm(request, context, values: ["contributing": true]) }
            clerks.post("persons/new") { request, context in try await pages.register(request, context) }
            clerks.get("applications/new") { request, context in
                pages.applicationForm(request, context, values: ["citizenId": request.uri.queryParameters.get("citizenId").map { String($0) } ?? ""])
            }
            clerks.post("applications/new") { request, context in try await pages.fileApplication(request, context) }
            clerks.get("collections/new") { request, context in
                pages.collectionForm(request, context, values: ["citizenId": request.uri.queryParameters.get("citizenId").map { String($0) } ?? ""])
            }
            clerks.post("collections/new") { request, context in try await pages.fileCollection(request, context) }
            group.get("progress") { request, context in pages.progress(request, context) }
            group.post("progress") { request, context in try await pages.lookUp(request, context) }
        }
    }
}

/// The pages themselves.
struct DestinationPages: Sendable {
    let office: DestinationOffice
    let console: Console

    var context: OfficeContext { office.context }
    var repository: DestinationRepository { office.repository }

    // MARK: - Cases

    func cases(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let today = self.context.clock.today
        let query = try CaseListQuery<DestinationCaseState>(request, today: today, officeColumn: "origin", dateColumn: "submittedOn", console: console)
        let (filter, page) = (query.filter, query.page)
        let (rows, total) = query.problems.isEmpty ? try await repository.read { records in try records.cases(filter, page) } : ([], 0)
        let list = rows.map { row -> [String: Any] in
            let state = DestinationCaseState(rawValue: row.state)
            let due: [DestinationDeadlineKind: LocalDate] = [
                .originAnswer: row.originDueOn.flatMap { try? LocalDate($0) }, .completion: row.completionDueOn.flatMap { try? LocalDate($0) },
            ].compactMapValues { $0 }
            let next = state.flatMap { s in DestinationCaseState.overdueRules.first { $0.states.contains(s) }.flatMap { due[$0.deadline] } }
            return [
                "caseId": row.caseId, "short": String(row.caseId.prefix(8)), "citizen": CitizenID.masked(row.citizenId), "origin": row.origin,
                "state": t["state_\(row.state)"] ?? row.state, "submittedOn": row.submittedOn,
                "due": next.map { "\($0) (\(Format.remaining(until: $0, today: today, calendar: self.context.calendar, t: t)))" } ?? "",
                "overdue": state?.isOverdue(today: today) { due[$0] } ?? false,
            ]
        }
        return console.page("cases", title: t["nav_cases"]!, query.page(list, total: total, request: request), request: request, context: context)
    }

    /// A case as the console shows it (case page, receipt).
    struct Loaded {
        var record: DestinationCaseRecord
        var domain: DestinationCase
        var events: [DestinationCaseEvent]
        var remittances: [RemittanceRow]
    }

    func load(_ context: OfficeRequestContext) async throws -> Loaded {
        guard let id = try? CaseID(context.parameters.get("caseId") ?? "") else { throw Problem.notFound("no such case") }
        let (record, remittances) = try await repository.read { records in (try records.caseRecord(id), try records.remittances(of: id)) }
        guard let record else { throw Problem.notFound("no case \(id)") }
        return Loaded(record: record, domain: try record.domainCase(), events: try StoredDataError.reading("case \(id)") { try record.decodedEvents() }, remittances: remittances)
    }

    /// The facts every page about a case shows.
    func facts(_ loaded: Loaded, _ t: [String: String]) -> [String: Any] {
        let record = loaded.record
        return [
            "caseId": record.caseId, "short": String(record.caseId.prefix(8)), "name": record.name, "citizenId": record.citizenId,
            "citizenMasked": CitizenID.masked(record.citizenId), "origin": originName(record.origin), "stateLabel": t["state_\(record.state)"] ?? record.state,
            "submittedOn": record.submittedOn, "letter": record.contactLetterNo ?? t["doc_none"]!,
            "purpose": t["purpose_\(record.purpose)"] ?? record.purpose, "isCollection": record.letterPurpose == .collection, "certificate": record.certificateNo ?? t["doc_none"]!,
            "remittanceIds": loaded.remittances.isEmpty ? t["doc_none"]! : loaded.remittances.map(\.remittanceId).joined(separator: ", "),
        ]
    }

    func originName(_ code: String) -> String {
        (try? OfficeCode(code)).flatMap { self.context.directory[$0] }.map { "\(code) \($0.name)" } ?? code
    }

    func reasons(_ domain: DestinationCase, _ t: [String: String]) -> [String] {
        domain.reviewCodes.map { t["code_\($0.rawValue)"] ?? $0.rawValue } + domain.returnCodes.map { t["code_\($0.rawValue)"] ?? $0.rawValue }
    }

    /// Each step of the case (both sides' as this office has seen them), with its date, its
    /// 15-working-day limit and whether that was met.
    func steps(_ loaded: Loaded, _ t: [String: String], today: LocalDate) -> [[String: Any]] {
        let calendar = context.calendar
        let domain = loaded.domain
        let deadlines = domain.deadlines(calendar: calendar)
        func limit(_ key: String, met on: LocalDate?) -> (String, String, String) {
            guard let due = deadlines[key]?.due else { return ("", "", "") }
            if let on { return ("\(due)", on <= due ? t["met_yes"]! : t["met_no"]!, on <= due ? "good" : "bad") }
            return ("\(due) (\(Format.remaining(until: due, today: today, calendar: calendar, t: t)))", today > due ? t["met_no"]! : t["met_open"]!, today > due ? "bad" : "warn")
        }
        var rows: [[String: Any]] = []
        func add(_ key: String, _ date: LocalDate, detail: String = "", limit: (String, String, String) = ("", "", "")) {
            var row: [String: Any] = ["label": t[key.replacingOccurrences(of: ".", with: "_")] ?? key, "date": "\(date)", "limit": limit.0, "met": limit.1]
            // Mustache shows a section for an empty string: leave empty values out.
            if !detail.isEmpty { row["detail"] = detail }
            if !limit.2.isEmpty { row["metClass"] = limit.2 }
            rows.append(row)
        }
        let reviewedOn = loaded.events.compactMap { event -> LocalDate? in if case .reviewed(_, _, let on) = event { on } else { nil } }.first
        add("step.filed", domain.submittedOn)
        let answeredOn = loaded.events.compactMap { event -> LocalDate? in
            switch event {
            case .formReceived(_, let on), .letterReturned(_, let on): on
            default: nil
            }
        }.first
        let completedOn = loaded.events.compactMap { event -> LocalDate? in if case .completed(let on) = event { on } else { nil } }.first
        for event in loaded.events {
            switch event {
            case .heldForCertificate(let until, let on): add("step.held", on, detail: "→ \(until)")
            case .reviewed(let outcome, let letter, let on):
                let key: String
                switch outcome {
                case .contactLetter: key = "step.letter"
                case .temporaryAccount: key = "step.temporary"
                case .rejected: key = "step.rejected"
                }
                add(key, on, detail: letter?.rawValue ?? "", limit: limit("review", met: reviewedOn))
            case .letterReturned(let codes, let on):
                add("step.returned", on, detail: codes.map { t["code_\($0.rawValue)"] ?? $0.rawValue }.joined(separator: "; "), limit: limit("originAnswer", met: answeredOn))
            case .formReceived(let form, let on):
                add("step.form", on, detail: "⑥ \(Format.money(form.totalRemitted))", limit: limit("originAnswer", met: answeredOn))
            case .fundsReceived(let id, let amount, let on): add("step.funds", on, detail: "\(id.rawValue) · \(Format.money(amount))")
            case .excessRefunded(let id, let amount, let on): add("step.refund", on, detail: "\(id.rawValue) · \(Format.money(amount))")
            case .completed(let on): add("step.completed", on, limit: limit("completion", met: completedOn))
            }
        }
        // The step still open, with the limit it runs against.
        if domain.state == .contactLetterSent, let due = deadlines["originAnswer"]?.due {
            rows.append(["label": t["step_form"] ?? "", "date": "", "limit": "\(due) (\(Format.remaining(until: due, today: today, calendar: calendar, t: t)))", "met": today > due ? t["met_no"]! : t["met_open"]!, "metClass": today > due ? "bad" : "warn"])
        }
        if [.matched, .awaitingFunds, .awaitingForm, .discrepancy].contains(domain.state), let due = deadlines["completion"]?.due {
            rows.append(["label": t["step_completed"] ?? "", "date": "", "limit": "\(due) (\(Format.remaining(until: due, today: today, calendar: calendar, t: t)))", "met": today > due ? t["met_no"]! : t["met_open"]!, "metClass": today > due ? "bad" : "warn"])
        }
        return rows
    }

    func casePage(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let loaded = try await load(context)
        let domain = loaded.domain
        let today = self.context.clock.today
        var money: [[String: Any]] = []
        if let expected = domain.expected { money.append(["label": t["money_expected"]!, "amount": Format.money(expected)]) }
        money.append(["label": t["money_received"]!, "amount": Format.money(domain.received)])
        var data: [String: Any] = [
            "c": facts(loaded, t), "steps": steps(loaded, t, today: today), "money": money, "reasons": reasons(domain, t),
            "hasReasons": !(domain.reviewCodes.isEmpty && domain.returnCodes.isEmpty), "open": !domain.state.isTerminal,
            "canFile": context.identity?.has(.clerk) ?? false, "live": !domain.state.isTerminal,
        ]
        // The reconciliation to the fen: for auditors.
        if context.identity?.has(.auditor) ?? false {
            var lines: [[String: Any]] = []
            if let form = domain.form {
                for (key, amount) in [
                    ("line_1", form.pre1998Account), ("line_2", form.accountThroughLastYear), ("line_3", form.currentYearPrincipal),
                    ("line_4", form.individualAccountTotal), ("line_5", form.pooledFund), ("line_6", form.totalRemitted),
                ] {
                    lines.append(["label": t[key]!, "date": "", "amount": Format.money(amount)])
                }
            }
            for row in loaded.remittances {
                let sign = row.kind == "refunded" ? "−" : "+"
                lines.append(["label": "\(sign) \(t[row.kind == "refunded" ? "money_refund" : "money_remittance"]!) \(row.remittanceId)", "date": row.valueDate, "amount": Format.money(Money(fen: row.amountFen))])
            }
            // Plain locals: the release compiler (6.3.1) crashes on an ownership check when a
            // closure borrows `domain` itself.
            let expectedFen = domain.expected?.fen
            let receivedFen = domain.received.fen
            let difference: Int? = expectedFen.map { receivedFen - $0 }
            data["reconciliation"] = [
                "lines": lines, "difference": difference.map { Format.money(Money(fen: $0)) } ?? "—",
                "differenceClass": difference == 0 ? "good" : "bad",
            ]
        }
        return console.page("case", title: "\(t["case_title"]!) \(loaded.record.caseId.prefix(8))", data, request: request, context: context, live: !domain.state.isTerminal)
    }

    func receipt(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let loaded = try await load(context)
        let data: [String: Any] = [
            "c": facts(loaded, t), "reasons": reasons(loaded.domain, t),
            "hasReasons": !(loaded.domain.reviewCodes.isEmpty && loaded.domain.returnCodes.isEmpty),
            "originDue": loaded.domain.deadlines(calendar: self.context.calendar)["originAnswer"].map { "\($0.due)" } ?? "",
            "office": "\(office.office.rawValue) \(self.context.directory[office.office]?.name ?? "")",
            // The address the person types in later: this office's own, as the browser reached it.
            "progressURL": console.address(of: "/progress", request: request),
        ]
        return console.page("receipt", title: t["receipt_title"]!, data, request: request, context: context)
    }

    // MARK: - People

    func person(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        guard let id = try? CitizenID(context.parameters.get("citizenId") ?? "") else { throw Problem.notFound("no such person") }
        let view = try await office.personView(id)
        var filter = CaseFilter<DestinationCaseState>()
        filter.newestFirst = true
        filter.conditions = [.init("citizenId", .equal, id.rawValue)]
        let chosen = filter
        let (rows, _) = try await repository.read { records in try records.cases(chosen, try Page(limit: "100", offset: "0")) }
        return console.page(
            "person", title: "\(t["person_title"]!) \(view.name)", personData(view, cases: rows, t: t, context: context), request: request, context: context,
            notice: console.notice(request))
    }

    func personData(_ view: DestinationAPI.PersonView, cases: [DestinationCaseSummaryRecord], t: [String: String], context: OfficeRequestContext) -> [String: Any] {
        [
            "p": [
                "name": view.name, "citizenId": view.citizenId.rawValue, "citizenMasked": view.citizenId.masked, "hukou": view.hukouProvince.rawValue,
                "registeredOn": "\(view.registeredOn)", "contributing": view.contributing ? t["yes"]! : t["no"]!, "cumulative": view.cumulativeMonths,
                "claiming": "\(view.claimingPlace.office?.rawValue ?? view.claimingPlace.province?.rawValue ?? "") — \(view.claimingPlace.explanation)",
                "cards": view.cards.map { ["issuer": $0.issuer.rawValue, "issuedOn": "\($0.issuedOn)"] },
                "places": view.places.map { ["place": $0.placeCode.rawValue, "kind": t["kind_\($0.accountKind.rawValue)"] ?? $0.accountKind.rawValue, "months": $0.months, "last": "\($0.lastContribution)"] },
                "hasCleared": !view.clearedMonths.isEmpty,
                "cleared": view.clearedMonths.map { ["period": "\($0.period)", "place": $0.placeCode.rawValue, "keptAt": $0.keptAt.rawValue, "returned": "\($0.returnedToPerson)"] },
                "returnedTotal": "\(view.returnedToPerson)",
            ] as [String: Any],
            "cases": cases.map { ["caseId": $0.caseId, "short": String($0.caseId.prefix(8)), "submittedOn": $0.submittedOn, "state": t["state_\($0.state)"] ?? $0.state] },
            "canFile": context.identity?.has(.clerk) ?? false,
        ]
    }

    static let personLabels = ["citizenId": "person_citizenId", "name": "person_name", "hukouProvince": "person_hukou", "registeredOn": "person_registeredOn",
        "contributingSince": "person_contributingSince", "cardIssuer": "person_cardIssuer", "cardIssuedOn": "person_cardIssuedOn"]

    func personForm(_ request: Request, _ context: OfficeRequestContext, values: [String: Any], problems: FormProblems = FormProblems(), status: HTTPResponse.Status = .ok) -> Response {
        let t = console.words(request)
        var data: [String: Any] = ["v": values]
        data.merge(console.errorValues(problems, labels: Self.personLabels.mapValues { t[$0] ?? $0 })) { $1 }
        return console.page("personForm", title: t["person_new"]!, data, request: request, context: context, status: status)
    }

    /// Each of `fields` left empty gets the message "is required" (in the page's language).
    static func required(_ fields: [String], in text: (String) -> String, _ problems: inout FormProblems, _ t: [String: String]) {
        for field in fields where text(field).isEmpty { problems.add(field, t["error_required"]!) }
    }

    /// Parses one field; a ValidationError becomes the field's message.
    static func field<T>(_ name: String, _ problems: inout FormProblems, _ t: [String: String], _ parse: () throws -> T) -> T? {
        do { return try parse() } catch let error as ValidationError {
            problems.add(name, error.reason)
        } catch {
            problems.add(name, "\(error)")
        }
        return nil
    }

    func register(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let form = context.form
        func text(_ name: String) -> String { (form[name] ?? "").trimmingCharacters(in: .whitespaces) }
        var values: [String: Any] = [:]
        for name in ["citizenId", "name", "hukouProvince", "registeredOn", "contributingSince", "cardIssuer", "cardIssuedOn"] { values[name] = text(name) }
        values["contributing"] = form["contributing"] == "yes"
        values["receivesPension"] = form["receivesPension"] == "yes"
        var problems = FormProblems()
        Self.required(["citizenId", "name", "hukouProvince", "registeredOn"], in: text, &problems, t)
        let id = problems.has("citizenId") ? nil : Self.field("citizenId", &problems, t) { try CitizenID(text("citizenId").uppercased()) }
        let hukou = problems.has("hukouProvince") ? nil : Self.field("hukouProvince", &problems, t) { try ProvinceCode(text("hukouProvince"), field: "hukouProvince") }
        let registeredOn = problems.has("registeredOn") ? nil : Self.field("registeredOn", &problems, t) { try LocalDate(text("registeredOn"), field: "registeredOn") }
        let since = text("contributingSince").isEmpty ? nil : Self.field("contributingSince", &problems, t) { try YearMonth(text("contributingSince")) }
        var cards: [DestinationAPI.CardInput] = []
        if !text("cardIssuer").isEmpty || !text("cardIssuedOn").isEmpty {
            let issuer = Self.field("cardIssuer", &problems, t) { try OfficeCode(text("cardIssuer")) }
            let issuedOn = Self.field("cardIssuedOn", &problems, t) { try LocalDate(text("cardIssuedOn"), field: "cardIssuedOn") }
            if let issuer, let issuedOn { cards.append(.init(issuer: issuer, issuedOn: issuedOn)) }
        }
        guard problems.isEmpty, let id, let hukou, let registeredOn else {
            return personForm(request, context, values: values, problems: problems, status: .unprocessableContent)
        }
        let input = DestinationAPI.PersonInput(
            name: text("name"), hukouProvince: hukou, registeredOn: registeredOn, contributing: form["contributing"] == "yes",
            receivesPension: form["receivesPension"] == "yes", contributingSince: since, cards: cards)
        do {
            let (_, view) = try await office.register(id, input)
            self.context.logger.info("Person registered from the console", metadata: ["citizen.id": .string(id.masked), "user": .string(context.identity?.subject ?? "")])
            return Console.redirect(to: "/persons/\(id.rawValue)?notice=\(view.cardIssued ? "registeredWithCard" : "registered")")
        } catch let error as ValidationError {
            problems.add(error.field.hasPrefix("cards") ? "cardIssuedOn" : error.field, error.reason)
            return personForm(request, context, values: values, problems: problems, status: .unprocessableContent)
        }
    }

    // MARK: - Applications

    func applicationForm(_ request: Request, _ context: OfficeRequestContext, values: [String: Any], problems: FormProblems = FormProblems(), status: HTTPResponse.Status = .ok) -> Response {
        let t = console.words(request)
        let chosen = values["originOffice"] as? String ?? ""
        let offices = self.context.directory.offices.values.filter { $0.code != office.office }.sorted { $0.code.rawValue < $1.code.rawValue }
        var data: [String: Any] = [
            "v": values, "offices": offices.map { ["code": $0.code.rawValue, "name": $0.name, "selected": $0.code.rawValue == chosen] },
        ]
        let labels = ["citizenId": "person_citizenId", "originOffice": "app_origin", "certificateNo": "app_certificate", "name": "app_name", "hukouProvince": "app_hukou"]
        data.merge(console.errorValues(problems, labels: labels.mapValues { t[$0] ?? $0 })) { $1 }
        return console.page("applicationForm", title: t["app_new"]!, data, request: request, context: context, status: status)
    }

    func fileApplication(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let form = context.form
        func text(_ name: String) -> String { (form[name] ?? "").trimmingCharacters(in: .whitespaces) }
        var values: [String: Any] = [:]
        for name in ["citizenId", "originOffice", "certificateNo", "name", "hukouProvince"] { values[name] = text(name) }
        values["approvedTransfer"] = form["approvedTransfer"] == "yes"
        var problems = FormProblems()
        Self.required(["citizenId", "originOffice"], in: text, &problems, t)
        let id = problems.has("citizenId") ? nil : Self.field("citizenId", &problems, t) { try CitizenID(text("citizenId").uppercased()) }
        let origin = problems.has("originOffice") ? nil : Self.field("originOffice", &problems, t) { try OfficeCode(text("originOffice")) }
        let certificate = text("certificateNo").isEmpty ? nil : Self.field("certificateNo", &problems, t) { try CertificateNumber(text("certificateNo")) }
        let hukou = text("hukouProvince").isEmpty ? nil : Self.field("hukouProvince", &problems, t) { try ProvinceCode(text("hukouProvince"), field: "hukouProvince") }
        guard problems.isEmpty, let id, let origin else {
            return applicationForm(request, context, values: values, problems: problems, status: .unprocessableContent)
        }
        let input = DestinationAPI.ApplicationInput(
            citizenId: id, name: text("name").isEmpty ? nil : text("name"), hukouProvince: hukou, originOffice: origin, certificateNo: certificate,
            approvedTransfer: form["approvedTransfer"] == "yes")
        do {
            let result = try await office.file(input)
            self.context.logger.info("Application filed from the console", metadata: ["case.id": .string(result.caseId.description), "user": .string(context.identity?.subject ?? "")])
            return Console.redirect(to: "/cases/\(result.caseId)/receipt")
        } catch let error as ValidationError {
            problems.add(error.field, error.reason)
            return applicationForm(request, context, values: values, problems: problems, status: .unprocessableContent)
        }
    }

    // MARK: - Collections (temporary accounts at retirement)

    func collectionForm(_ request: Request, _ context: OfficeRequestContext, values: [String: Any], problems: FormProblems = FormProblems(), status: HTTPResponse.Status = .ok) -> Response {
        let t = console.words(request)
        let chosen = Set(values["holderOffices"] as? [String] ?? [])
        let offices = self.context.directory.offices.values.filter { $0.code != office.office }.sorted { $0.code.rawValue < $1.code.rawValue }
        let category = values["pensionCategory"] as? String ?? PensionAge.Category.worker.rawValue
        var data: [String: Any] = [
            "v": values,
            "offices": offices.map { ["code": $0.code.rawValue, "name": $0.name, "checked": chosen.contains($0.code.rawValue)] },
            "categories": PensionAge.Category.allCases.map { ["value": $0.rawValue, "label": t["coll_\($0.rawValue)"] ?? $0.rawValue, "selected": $0.rawValue == category] },
        ]
        let labels = ["citizenId": "person_citizenId", "holderOffices": "coll_holders", "pensionCategory": "coll_category"]
        data.merge(console.errorValues(problems, labels: labels.mapValues { t[$0] ?? $0 })) { $1 }
        return console.page("collectionForm", title: t["coll_new"]!, data, request: request, context: context, status: status)
    }

    func fileCollection(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let form = context.form
        func text(_ name: String) -> String { (form[name] ?? "").trimmingCharacters(in: .whitespaces) }
        // Each checked holder is one `holderOffices` field; the form decoder keeps the last of a
        // repeated name, so the boxes are named by office (`holder.440300`).
        let holders = form.keys.filter { $0.hasPrefix("holder.") && form[$0] == "yes" }.map { String($0.dropFirst("holder.".count)) }.sorted()
        var values: [String: Any] = ["citizenId": text("citizenId"), "holderOffices": holders, "pensionCategory": text("pensionCategory")]
        var problems = FormProblems()
        Self.required(["citizenId"], in: text, &problems, t)
        if holders.isEmpty { problems.add("holderOffices", t["error_required"]!) }
        let id = problems.has("citizenId") ? nil : Self.field("citizenId", &problems, t) { try CitizenID(text("citizenId").uppercased()) }
        var codes: [OfficeCode] = []
        for holder in holders {
            if let code = Self.field("holderOffices", &problems, t, { try OfficeCode(holder) }) { codes.append(code) }
        }
        let category = PensionAge.Category(rawValue: text("pensionCategory").isEmpty ? "worker" : text("pensionCategory"))
        if category == nil { problems.add("pensionCategory", text("pensionCategory")) }
        guard problems.isEmpty, let id, let category else {
            return collectionForm(request, context, values: values, problems: problems, status: .unprocessableContent)
        }
        do {
            let result = try await office.collect(.init(citizenId: id, holderOffices: codes, pensionCategory: category))
            self.context.logger.info(
                "Collection filed from the console", metadata: ["cases": "\(result.cases.count)", "user": .string(context.identity?.subject ?? "")])
            return Console.redirect(to: "/persons/\(id.rawValue)")
        } catch let error as ValidationError {
            values["citizenId"] = id.rawValue
            problems.add(error.field.hasPrefix("holderOffices") ? "holderOffices" : error.field, error.reason)
            return collectionForm(request, context, values: values, problems: problems, status: .unprocessableContent)
        }
    }

    // MARK: - The public progress page

    func progress(_ request: Request, _ context: OfficeRequestContext, values: [String: Any] = [:], found: [String: Any]? = nil, notFound: Bool = false) -> Response {
        let t = console.words(request)
        var data: [String: Any] = ["v": values, "notFound": notFound]
        if let found { data["found"] = found }
        return console.page(
            "progress", title: t["progress_title"]!, data, request: request, context: context, status: notFound ? .notFound : .ok,
            formToken: console.formToken(request))
    }

    /// Looks a transfer up by citizen ID and reference. A wrong pair and an unknown reference get
    /// the same answer after the same work, and every lookup takes at least 250 ms.
    func lookUp(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        try console.admitLookup(context)
        let started = ContinuousClock.now
        let t = console.words(request)
        let citizenText = (context.form["citizenId"] ?? "").trimmingCharacters(in: .whitespaces).uppercased()
        let referenceText = (context.form["reference"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        // The same query whatever was typed: an unparsable reference looks up a random one.
        let id = (try? CaseID(referenceText)) ?? CaseID()
        let record = try await repository.read { records in try records.caseRecord(id) }
        let matches = record.map { Console.sameSecret($0.citizenId, citizenText) } ?? Console.sameSecret(citizenText, citizenText + "x")
        var found: [String: Any]?
        if matches, let record {
            let loaded = Loaded(record: record, domain: try record.domainCase(), events: try record.decodedEvents(), remittances: [])
            found = publicProgress(loaded, t)
        }
        let floor = Duration.milliseconds(250)
        let spent = ContinuousClock.now - started
        if spent < floor { try await Task.sleep(for: floor - spent) }
        self.context.logger.info("Progress lookup", metadata: ["found": "\(found != nil)", "client": .string(context.remoteAddress ?? "")])
        return progress(request, context, values: ["citizenId": citizenText, "reference": referenceText], found: found, notFound: found == nil)
    }

    /// What the public page shows of a case: steps and dates, the current deadline, and once
    /// completed the months credited and the amount. Nothing else (no name, no other case).
    func publicProgress(_ loaded: Loaded, _ t: [String: String]) -> [String: Any] {
        let today = context.clock.today
        let rows = steps(loaded, t, today: today).filter { !($0["date"] as? String ?? "").isEmpty }
        let deadlines = loaded.domain.deadlines(calendar: context.calendar)
        let current: Deadline? = switch loaded.domain.state {
        case .contactLetterSent: deadlines["originAnswer"]
        case .awaitingFunds, .awaitingForm, .discrepancy, .matched: deadlines["completion"] ?? deadlines["originAnswer"]
        case .submitted: deadlines["review"]
        case .awaitingCertificate: deadlines["certificateWait"]
        default: nil
        }
        var result: [String: Any] = [
            "step": t["state_\(loaded.record.state)"] ?? loaded.record.state,
            "steps": rows.map { ["label": $0["label"] ?? "", "date": $0["date"] ?? ""] },
        ]
        if let current { result["deadline"] = "\(current.due) (\(Format.remaining(until: current.due, today: today, calendar: context.calendar, t: t)))" }
        if loaded.domain.state == .completed {
            result["completed"] = true
            result["months"] = loaded.domain.form?.ledger.reduce(0) { $0 + $1.months } ?? 0
            result["amount"] = Format.money(loaded.domain.received)
        }
        return result
    }

    // MARK: - Dashboard

    func dashboard(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let today = self.context.clock.today
        let calendar = self.context.calendar
        let soon = calendar.adding(workingDays: 5, after: today).due
        let since30 = today.adding(days: -29)
        let since90 = today.adding(days: -89)
        let figures = try await repository.read { records in
            try records.dashboard(today: today, soon: soon, since30: since30, since90: since90)
        }
        let openStates = DestinationCaseState.allCases.filter { !$0.isTerminal }
        let open = openStates.map { Charts.Bar(label: t["state_\($0.rawValue)"] ?? $0.rawValue, values: [figures.byState[$0.rawValue] ?? 0]) }
        var dueBars: [Charts.Bar] = []
        var day = today
        while day <= soon {
            if calendar.isWorkingDay(day) { dueBars.append(.init(label: "\(day)", values: [figures.dueOn["\(day)"] ?? 0])) }
            day = day.adding(days: 1)
        }
        let perDay = (0..<30).map { offset -> Charts.Bar in
            let date = since30.adding(days: offset)
            return .init(label: String("\(date)".suffix(5)), values: [figures.filedOn["\(date)"] ?? 0, figures.completedOn["\(date)"] ?? 0])
        }
        let bins: [(String, ClosedRange<Int>)] = [("0–5", 0...5), ("6–10", 6...10), ("11–15", 11...15), ("16–20", 16...20), ("21–30", 21...30), ("31–45", 31...45), ("46+", 46...Int.max)]
        var durations = Array(repeating: 0, count: bins.count)
        for (submitted, closed, count) in figures.completions {
            let days = calendar.workingDays(after: submitted, through: closed)
            if let index = bins.firstIndex(where: { $0.1.contains(days) }) { durations[index] += count }
        }
        let completion = zip(bins, durations).map { Charts.Bar(label: "\($0.0) \(t["dash_workingDays"]!)", values: [$1]) }
        let data: [String: Any] = [
            "overdue": figures.overdue, "dueSoonTotal": figures.dueOn.values.reduce(0, +), "openTotal": open.reduce(0) { $0 + ($1.values.first ?? 0) },
            "openChart": Charts.horizontalBars(open, title: t["dash_open"]!),
            "dueChart": Charts.horizontalBars(dueBars, title: t["dash_dueSoon"]!),
            "perDayChart": Charts.groupedColumns(perDay, series: [t["dash_filed"]!, t["dash_completed"]!], title: t["dash_perDay"]!, labelEvery: 5),
            "completionChart": Charts.horizontalBars(completion, title: t["dash_completionTime"]!),
        ]
        return console.page("dashboard", title: t["dash_title"]!, data, request: request, context: context)
    }
}

