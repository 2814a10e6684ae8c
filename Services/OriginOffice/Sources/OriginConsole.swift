import Foundation
import Hummingbird
import OfficeConsole
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The origin office's console: find a person and read their months and spells (and, for
/// auditors, the yearly ledger); follow incoming contact letters, what the office answered,
/// remittances and returns; operators keep the office running.
extension OriginOffice {
    public func addConsole(to router: Router<OfficeRequestContext>, environment: ConsoleEnvironment) {
        let console: Console
        do {
            console = try Console(
                environment: environment, role: .origin, templates: OriginTemplates.all, strings: OriginTemplates.strings,
                nav: [
                    NavItem("/cases", "nav.cases", roles: [.viewer, .clerk, .auditor]),
                    NavItem("/persons", "nav.persons", roles: [.viewer, .clerk, .auditor]),
                    NavItem("/operations", "nav.operations", roles: [.operator]),
                ])
        } catch {
            fatalError("the origin console's templates do not parse: \(error)")
        }
        let pages = OriginPages(office: self, console: console)
        console.mount(on: router, home: { identity in
            identity.has(.clerk) || identity.has(.auditor) || identity.has(.viewer) ? "/cases" : identity.has(.operator) ? "/operations" : "/login"
        }) { group in
            let readers = group.group().add(middleware: Access.readers)
            readers.get("cases") { request, context in try await pages.cases(request, context) }
            readers.get("cases/:caseId") { request, context in try await pages.casePage(request, context) }
            readers.get("persons") { request, context in try await pages.search(request, context) }
            readers.get("persons/:citizenId") { request, context in try await pages.person(request, context) }
        }
    }
}

struct OriginPages: Sendable {
    let office: OriginOffice
    let console: Console

    var context: OfficeContext { office.context }
    var repository: OriginRepository { office.repository }

    func cases(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let today = self.context.clock.today
        let query = try CaseListQuery<OriginCaseState>(request, today: today, officeColumn: "destination", dateColumn: "receivedOn", console: console)
        let (filter, page) = (query.filter, query.page)
        let (rows, total) = query.problems.isEmpty ? try await repository.read { records in try records.cases(filter, page) } : ([], 0)
        let list = rows.map { row -> [String: Any] in
            let due = try? LocalDate(row.dueOn)
            let state = OriginCaseState(rawValue: row.state)
            let late = state.map { $0.isOverdue(on: .answer, today: today, due: due) } ?? false
            var line: [String: Any] = [
                "caseId": row.caseId, "letter": row.contactLetterNo, "destination": row.destination, "state": t["state_\(row.state)"] ?? row.state,
                "receivedOn": row.receivedOn, "overdue": late,
            ]
            if let due, state == .letterReceived {
                line["due"] = "\(due) (\(Format.remaining(until: due, today: today, calendar: self.context.calendar, t: t)))"
            }
            return line
        }
        return console.page("cases", title: t["nav_cases"]!, query.page(list, total: total, request: request), request: request, context: context)
    }

    func casePage(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        guard let id = try? CaseID(context.parameters.get("caseId") ?? "") else { throw Problem.notFound("no such case") }
        let (record, remittances) = try await repository.read { records in (try records.caseRecord(id: id), try records.remittances(of: id)) }
        guard let record else { throw Problem.notFound("no case \(id)") }
        let domain = try record.domainCase()
        let events = try StoredDataError.reading("case \(id)") { try record.decodedEvents() }
        let today = self.context.clock.today
        let calendar = self.context.calendar
        let deadline = domain.deadline(calendar: calendar)
        let answeredOn = events.compactMap { event -> LocalDate? in
            switch event {
            case .returned(_, let on), .formIssued(_, let on): on
            default: nil
            }
        }.first
        var steps: [[String: Any]] = []
        func add(_ key: String, _ on: LocalDate?, _ detail: String = "", answer: Bool = false) {
            var row: [String: Any] = ["label": t[key] ?? key, "date": on.map { "\($0)" } ?? ""]
            if !detail.isEmpty { row["detail"] = detail }
            if answer {
                row["limit"] = "\(deadline.due)"
                if let answeredOn {
                    row["met"] = answeredOn <= deadline.due ? t["met_yes"]! : t["met_no"]!
                    row["metClass"] = answeredOn <= deadline.due ? "good" : "bad"
                } else {
                    row["limit"] = "\(deadline.due) (\(Format.remaining(until: deadline.due, today: today, calendar: calendar, t: t)))"
                    row["met"] = today > deadline.due ? t["met_no"]! : t["met_open"]!
                    row["metClass"] = today > deadline.due ? "bad" : "warn"
                }
            }
            steps.append(row)
        }
        add("ostep_received", try? LocalDate(record.receivedOn), record.contactLetterNo, answer: answeredOn == nil)
        for event in events {
            switch event {
            case .returned(let codes, let on): add("ostep_returned", on, codes.map { t["code_\($0.rawValue)"] ?? $0.rawValue }.joined(separator: "; "), answer: true)
            case .formIssued(let form, let on): add("ostep_form", on, "⑥ \(Format.money(form.totalRemitted))", answer: true)
            case .fundsRemitted(let rid, let amount, let on): add("ostep_remitted", on, "\(rid.rawValue) · \(Format.money(amount))")
            case .relationshipTerminated(let on): add("ostep_terminated", on)
            case .discrepancyRaised(let expected, let received, let on): add("ostep_discrepancy", on, "\(Format.money(expected)) / \(Format.money(received))")
            case .supplementaryRemitted(let rid, let amount, let on): add("ostep_supplementary", on, "\(rid.rawValue) · \(Format.money(amount))")
            case .excessRefunded(let rid, let amount, let on): add("ostep_refund", on, "\(rid.rawValue) · \(Format.money(amount))")
            case .completed(let on): add("ostep_completed", on)
            case .claimRefused(let event, let reason, let on): add("ostep_refused", on, "\(reason) · \(event)")
            }
        }
        var lines: [[String: Any]] = []
        if let form = domain.form {
            for (key, amount) in [
                ("line_1", form.pre1998Account), ("line_2", form.accountThroughLastYear), ("line_3", form.currentYearPrincipal),
                ("line_4", form.individualAccountTotal), ("line_5", form.pooledFund), ("line_6", form.totalRemitted),
            ] {
                lines.append(["label": t[key]!, "amount": Format.money(amount)])
            }
        }
        lines.append(["label": t["money_remitted"]!, "amount": Format.money(domain.remitted)])
        let data: [String: Any] = [
            "c": [
                "caseId": record.caseId, "short": String(record.caseId.prefix(8)), "letter": record.contactLetterNo, "citizenId": record.citizenId,
                "citizenMasked": CitizenID.masked(record.citizenId), "destination": destinationName(record.destination),
                "stateLabel": t["state_\(record.state)"] ?? record.state, "receivedOn": record.receivedOn,
            ] as [String: Any],
            "steps": steps, "lines": lines,
            "remittances": remittances.map { ["id": $0.remittanceId, "kind": t[$0.kind == "refundReceived" ? "money_refund" : "money_remittance"] ?? $0.kind, "amount": Format.money(Money(fen: $0.amountFen)), "date": $0.valueDate] },
            "hasRemittances": !remittances.isEmpty,
            "returns": domain.returnCodes.map { t["code_\($0.rawValue)"] ?? $0.rawValue }, "hasReturns": !domain.returnCodes.isEmpty,
            "needsReview": domain.needsReview,
        ]
        return console.page("case", title: "\(t["case_title"]!) \(record.contactLetterNo)", data, request: request, context: context, live: !domain.state.isTerminal)
    }

    func destinationName(_ code: String) -> String {
        (try? OfficeCode(code)).flatMap { self.context.directory[$0] }.map { "\(code) \($0.name)" } ?? code
    }

    func search(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        let typed = (request.uri.queryParameters.get("citizenId").map { String($0) } ?? "").trimmingCharacters(in: .whitespaces).uppercased()
        var problems = FormProblems()
        if !typed.isEmpty {
            var found: CitizenID?
            var reason = ""
            do { found = try CitizenID(typed) } catch { reason = error.reason }
            if let found { return Console.redirect(to: "/persons/\(found.rawValue)") }
            problems.add("citizenId", reason)
        }
        var data: [String: Any] = ["v": ["citizenId": typed]]
        data.merge(console.errorValues(problems, labels: ["citizenId": t["filter_citizenId"]!])) { $1 }
        return console.page("search", title: t["nav_persons"]!, data, request: request, context: context, status: problems.isEmpty ? .ok : .unprocessableContent)
    }

    func person(_ request: Request, _ context: OfficeRequestContext) async throws -> Response {
        let t = console.words(request)
        guard let id = try? CitizenID(context.parameters.get("citizenId") ?? "") else { throw Problem.notFound("no such person") }
        let auditor = context.identity?.has(.auditor) ?? false
        var filter = CaseFilter<OriginCaseState>()
        filter.newestFirst = true
        filter.conditions = [.init("citizenId", .equal, id.rawValue)]
        let chosen = filter
        let (view, months, cases) = try await repository.read { records in
            (try office.personView(id, records, withLedger: auditor), try records.months(of: id), try records.cases(chosen, try Page(limit: "100", offset: "0")).cases)
        }
        let data: [String: Any] = [
            "p": [
                "name": view.name, "citizenMasked": id.masked, "hukou": view.hukouProvince.rawValue, "status": t["status_\(view.status.rawValue)"] ?? view.status.rawValue,
                "kind": t["kind_\(view.accountKind.rawValue)"] ?? view.accountKind.rawValue, "arrears": Format.money(view.arrears), "monthsPaid": view.monthsPaid,
                "from": view.insuredFrom.map { "\($0)" } ?? "—", "to": view.insuredTo.map { "\($0)" } ?? "—",
                "balance": view.individualAccountBalance.map(Format.money) ?? (view.balanceError ?? "—"), "transferredBy": view.transferredBy ?? "",
            ] as [String: Any],
            "spells": Self.spells(months).map { spell -> [String: Any] in
                ["from": "\(spell.from)", "to": "\(spell.to)", "months": spell.months, "base": Format.money(spell.base), "place": spell.place.rawValue,
                 "employer": spell.employerRate, "personal": spell.personalRate]
            },
            "ledger": (view.ledger ?? []).map { row -> [String: Any] in
                ["year": row.year, "months": row.months, "credited": Format.money(row.credited), "interest": Format.money(row.interest), "closing": Format.money(row.closingBalance)]
            },
            "auditor": auditor,
            "cases": cases.map { ["caseId": $0.caseId, "letter": $0.contactLetterNo, "receivedOn": $0.receivedOn, "state": t["state_\($0.state)"] ?? $0.state] },
        ]
        return console.page("person", title: "\(t["person_title"]!) \(view.name)", data, request: request, context: context)
    }

    struct Spell {
        var from: YearMonth
        var to: YearMonth
        var months: Int
        var base: Money
        var place: OfficeCode
        var employerRate: String
        var personalRate: String
    }

    /// Months as spells: runs of consecutive months paid at one place on one base and rates.
    static func spells(_ months: [ContributionMonth]) -> [Spell] {
        var spells: [Spell] = []
        for month in months.sorted(by: { $0.period < $1.period }) {
            if var last = spells.last, last.to.advanced(by: 1) == month.period, last.base == month.base, last.place == month.placeCode,
               last.employerRate == month.employerRate.description, last.personalRate == month.personalRate.description
            {
                last.to = month.period
                last.months += 1
                spells[spells.count - 1] = last
            } else {
                spells.append(Spell(
                    from: month.period, to: month.period, months: 1, base: month.base, place: month.placeCode,
                    employerRate: month.employerRate.description, personalRate: month.personalRate.description))
            }
        }
        return spells
    }
}

enum OriginTemplates {
    static let all: [String: String] = ["cases": cases, "case": casePage, "search": search, "person": person]

    static let strings: [Strings.Entry] = [
        ("person.title", "Person", "参保人员"),
        ("person.status", "Relationship", "参保关系状态"),
        ("person.kind", "Account", "账户类型"),
        ("person.arrears", "Arrears (yuan)", "欠费(元)"),
        ("person.monthsPaid", "Months paid", "缴费月数"),
        ("person.insured", "Insured from – to", "参保起止"),
        ("person.balance", "Individual account (yuan)", "个人账户(元)"),
        ("person.transferredBy", "Transferred out by", "转出业务"),
        ("person.spells", "Contribution months, as spells", "缴费记录(按连续时段)"),
        ("person.from", "From", "起"),
        ("person.to", "To", "止"),
        ("person.months", "Months", "月数"),
        ("person.base", "Monthly base (yuan)", "月缴费基数(元)"),
        ("person.place", "Place", "缴费地"),
        ("person.rates", "Employer / personal rate", "单位/个人费率"),
        ("person.ledger", "Yearly ledger (auditors)", "年度台账(稽核)"),
        ("person.year", "Year", "年度"),
        ("person.credited", "Credited", "记账额"),
        ("person.interest", "Interest", "利息"),
        ("person.closing", "Closing balance", "年末余额"),
        ("person.cases", "Contact letters about this person", "涉及此人的联系函"),
        ("person.find", "Find a person", "查找参保人员"),
        ("person.search", "Find", "查找"),
        ("case.answer", "What this office answered", "本机构的答复"),
        ("case.returns", "Returned with", "退回原因"),
        ("case.remittances", "Remittances", "汇款"),
        ("ostep.received", "Contact letter received", "收到联系函"),
        ("ostep.returned", "Letter returned", "退回联系函"),
        ("ostep.form", "Information form issued", "出具信息表"),
        ("ostep.remitted", "Funds remitted", "汇出资金"),
        ("ostep.terminated", "Relationship terminated here", "终止本地参保关系"),
        ("ostep.discrepancy", "The destination reported a discrepancy (expected / received)", "转入地反馈差额(应转/实收)"),
        ("ostep.supplementary", "Shortfall remitted", "补汇差额"),
        ("ostep.refund", "Excess refunded by the destination", "转入地退回多转资金"),
        ("ostep.completed", "The destination completed the transfer", "转入地已办结"),
        ("ostep.refused", "A claim of the destination was refused", "拒绝转入地的主张"),
    ]

    static let cases = #"""
        <h1>{{t.nav_cases}}</h1>
        {{> caseFilters}}
        {{#hasRows}}<table><thead><tr><th scope="col">{{t.doc_letter}}</th><th scope="col">{{t.col_destination}}</th><th scope="col">{{t.col_state}}</th><th scope="col">{{t.col_received}}</th><th scope="col">{{t.col_due}}</th></tr></thead><tbody>
        {{#rows}}<tr><td><a href="/cases/{{caseId}}">{{letter}}</a></td><td>{{destination}}</td><td>{{state}}</td><td>{{receivedOn}}</td><td>{{due}}{{#overdue}} <strong class="bad">{{t.col_overdue}}</strong>{{/overdue}}</td></tr>{{/rows}}
        </tbody></table>{{> pager}}{{/hasRows}}
        """#

    static let casePage = #"""
        <h1>{{t.doc_letter}} {{c.letter}} — {{c.stateLabel}}</h1>
        {{#needsReview}}<p class="notice bad" role="alert">{{t.case_needsReview}}</p>{{/needsReview}}
        <dl class="facts">
        <dt>{{t.col_reference}}</dt><dd><code>{{c.caseId}}</code></dd>
        <dt>{{t.col_citizen}}</dt><dd><a href="/persons/{{c.citizenId}}">{{c.citizenMasked}}</a></dd>
        <dt>{{t.col_destination}}</dt><dd>{{c.destination}}</dd>
        <dt>{{t.col_received}}</dt><dd>{{c.receivedOn}}</dd>
        </dl>
        <h2>{{t.case_steps}}</h2>
        <table><thead><tr><th scope="col">{{t.case_step}}</th><th scope="col">{{t.case_date}}</th><th scope="col">{{t.case_limit}}</th><th scope="col">{{t.case_met}}</th></tr></thead><tbody>
        {{#steps}}<tr><td>{{label}}{{#detail}}<br><span class="hint">{{detail}}</span>{{/detail}}</td><td>{{date}}</td><td>{{limit}}</td><td>{{#metClass}}<span class="{{metClass}}">{{met}}</span>{{/metClass}}</td></tr>{{/steps}}
        </tbody></table>
        <h2>{{t.case_answer}}</h2>
        {{#hasReturns}}<p>{{t.case_returns}}:</p><ul>{{#returns}}<li>{{.}}</li>{{/returns}}</ul>{{/hasReturns}}
        <table><thead><tr><th scope="col">{{t.money_line}}</th><th scope="col" class="num">{{t.money_amount}}</th></tr></thead><tbody>
        {{#lines}}<tr><td>{{label}}</td><td class="num">{{amount}}</td></tr>{{/lines}}
        </tbody></table>
        <h2>{{t.case_remittances}}</h2>
        {{^remittances}}<p>{{t.doc_none}}</p>{{/remittances}}
        {{#hasRemittances}}<table><thead><tr><th scope="col">{{t.money_remittance}}</th><th scope="col">{{t.money_line}}</th><th scope="col">{{t.money_valueDate}}</th><th scope="col" class="num">{{t.money_amount}}</th></tr></thead><tbody>
        {{#remittances}}<tr><td>{{id}}</td><td>{{kind}}</td><td>{{date}}</td><td class="num">{{amount}}</td></tr>{{/remittances}}
        </tbody></table>{{/hasRemittances}}
        """#

    static let search = #"""
        <h1>{{t.person_find}}</h1>
        {{> fieldErrors}}
        <form class="stacked" method="get" action="/persons">
        <div class="field"><label for="citizenId">{{t.filter_citizenId}}</label><input id="citizenId" name="citizenId" required maxlength="18" value="{{v.citizenId}}"{{#errors.citizenId}} aria-invalid="true" aria-describedby="citizenId-error"{{/errors.citizenId}}>{{#errors.citizenId}}<span class="field-error" id="citizenId-error">{{errors.citizenId}}</span>{{/errors.citizenId}}</div>
        <p><button class="primary" type="submit">{{t.person_search}}</button></p>
        </form>
        """#

    static let person = #"""
        <h1>{{t.person_title}}: {{p.name}}</h1>
        <dl class="facts">
        <dt>{{t.col_citizen}}</dt><dd>{{p.citizenMasked}}</dd>
        <dt>{{t.person_status}}</dt><dd>{{p.status}}{{#p.transferredBy}} · {{t.person_transferredBy}} {{p.transferredBy}}{{/p.transferredBy}}</dd>
        <dt>{{t.person_kind}}</dt><dd>{{p.kind}}</dd>
        <dt>{{t.person_monthsPaid}}</dt><dd>{{p.monthsPaid}}</dd>
        <dt>{{t.person_insured}}</dt><dd>{{p.from}} – {{p.to}}</dd>
        <dt>{{t.person_arrears}}</dt><dd>{{p.arrears}}</dd>
        <dt>{{t.person_balance}}</dt><dd>{{p.balance}}</dd>
        </dl>
        <h2>{{t.person_spells}}</h2>
        <table><thead><tr><th scope="col">{{t.person_from}}</th><th scope="col">{{t.person_to}}</th><th scope="col" class="num">{{t.person_months}}</th><th scope="col" class="num">{{t.person_base}}</th><th scope="col">{{t.person_rates}}</th><th scope="col">{{t.person_place}}</th></tr></thead><tbody>
        {{#spells}}<tr><td>{{from}}</td><td>{{to}}</td><td class="num">{{months}}</td><td class="num">{{base}}</td><td>{{employer}} / {{personal}}</td><td>{{place}}</td></tr>{{/spells}}
        </tbody></table>
        {{#auditor}}<h2>{{t.person_ledger}}</h2>
        <table><thead><tr><th scope="col">{{t.person_year}}</th><th scope="col" class="num">{{t.person_months}}</th><th scope="col" class="num">{{t.person_credited}}</th><th scope="col" class="num">{{t.person_interest}}</th><th scope="col" class="num">{{t.person_closing}}</th></tr></thead><tbody>
        {{#ledger}}<tr><td>{{year}}</td><td class="num">{{months}}</td><td class="num">{{credited}}</td><td class="num">{{interest}}</td><td class="num">{{closing}}</td></tr>{{/ledger}}
        </tbody></table>{{/auditor}}
        <h2>{{t.person_cases}}</h2>
        {{^cases}}<p>{{t.list_none}}</p>{{/cases}}
        <ul>{{#cases}}<li><a href="/cases/{{caseId}}">{{letter}}</a> · {{receivedOn}} · {{state}}</li>{{/cases}}</ul>
        """#
}
