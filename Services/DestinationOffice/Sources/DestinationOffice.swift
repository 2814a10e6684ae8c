import Foundation
import GRDB
import Hummingbird
import OfficeRuntime
import TransferDomain

/// The destination office: takes applications, reviews them, issues contact letters,
/// reconciles forms against funds and completes cases.
public struct DestinationOffice: OfficeService {
    public static let role = OfficeRole.destination
    let context: OfficeContext

    public init(context: OfficeContext) {
        self.context = context
    }

    public var office: OfficeCode { context.office }

    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        DestinationSchema.register(&migrator)
    }

    public var eventHandler: any OfficeEventHandler { DestinationEventHandler(context: context) }

    /// Clerks write; viewers, clerks and auditors read.
    public func addRoutes(to router: Router<OfficeRequestContext>) {
        let write = router.group("v1").add(middleware: Access.clerks)
        let read = router.group("v1").add(middleware: Access.readers)
        write.put("persons/:citizenId") { request, requestContext in try await self.putPerson(request, requestContext) }
        read.get("persons/:citizenId") { _, requestContext in try await self.getPerson(requestContext) }
        write.post("applications") { request, _ in try await self.fileApplication(request) }
        read.get("cases/:caseId") { _, requestContext in try await self.getCase(requestContext) }
        read.get("cases") { request, _ in try await self.listCases(request) }
    }

    // MARK: - People

    private func citizenID(_ requestContext: OfficeRequestContext) throws -> CitizenID {
        try CitizenID(requestContext.parameters.get("citizenId") ?? "", field: "citizenId")
    }

    /// Registers a person contributing here; issues a card for this province when none they
    /// hold is valid here ("one province, one card").
    func putPerson(_ request: Request, _ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try citizenID(requestContext)
        let input = try await JSONBody.decode(DestinationAPI.PersonInput.self, from: request)
        try FreeText.check(input.name, field: "name")
        let today = context.clock.today
        // Dates checked before anything is written (and everything below is one transaction).
        guard input.registeredOn >= id.birthDate else {
            throw ValidationError(field: "registeredOn", reason: "\(input.registeredOn) is before the person's birth date \(id.birthDate)")
        }
        guard input.registeredOn <= today else {
            throw ValidationError(field: "registeredOn", reason: "\(input.registeredOn) is after today, \(today)")
        }
        if let since = input.contributingSince, since < id.birthDate.yearMonth {
            throw ValidationError(field: "contributingSince", reason: "\(since) is before the person's birth")
        }
        for (index, card) in (input.cards ?? []).enumerated() where card.issuedOn > today || card.issuedOn < id.birthDate {
            throw ValidationError(field: "cards[\(index)].issuedOn", reason: "\(card.issuedOn) is not between the birth date and today")
        }
        let office = context.office
        let (created, view) = try await context.database.writer.write { db -> (Bool, DestinationAPI.PersonView) in
            let existing = try DestinationStore.person(id, db)
            let record = DestinationPersonRecord(
                citizenId: id.rawValue, name: input.name, hukouProvince: input.hukouProvince.rawValue,
                registeredOn: input.registeredOn.description, contributing: input.contributing ?? true,
                receivesPension: input.receivesPension ?? false,
                contributingSince: (input.contributingSince ?? input.registeredOn.yearMonth).description, updatedAt: Date())
            try record.save(db)
            for card in input.cards ?? [] {
                try db.execute(
                    sql: "INSERT INTO card (citizenId, issuer, issuedOn) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    arguments: [id.rawValue, card.issuer.rawValue, card.issuedOn.description])
            }
            let cards = try Self.cards(id, db)
            var issued = false
            if cards.needsNewCard(at: office) {
                try db.execute(
                    sql: "INSERT INTO card (citizenId, issuer, issuedOn) VALUES (?, ?, ?)",
                    arguments: [id.rawValue, office.rawValue, input.registeredOn.description])
                issued = true
            }
            var view = try personView(id, db)
            view.cardIssued = issued
            return (existing == nil, view)
        }
        return try JSONBody.response(view, status: created ? .created : .ok)
    }

    static func cards(_ id: CitizenID, _ db: Database) throws -> [SocialSecurityCard] {
        try Row.fetchAll(db, sql: "SELECT issuer, issuedOn FROM card WHERE citizenId = ? ORDER BY issuedOn", arguments: [id.rawValue]).map {
            SocialSecurityCard(holder: id, issuer: try OfficeCode($0["issuer"]), issuedOn: try LocalDate($0["issuedOn"]))
        }
    }

    func getPerson(_ requestContext: OfficeRequestContext) async throws -> Response {
        try JSONBody.response(try await personView(try citizenID(requestContext)))
    }

    func personView(_ id: CitizenID) async throws -> DestinationAPI.PersonView {
        try await context.database.writer.read { db in try personView(id, db) }
    }

    func personView(_ id: CitizenID, _ db: Database) throws -> DestinationAPI.PersonView {
        let (person, cards, history) = (
            try DestinationStore.person(id, db), try Self.cards(id, db),
            try HistoryRow.fetchAll(db, sql: "SELECT placeCode, accountKind, months, lastContribution FROM historyPlace WHERE citizenId = ? ORDER BY lastContribution", arguments: [id.rawValue]))
        guard let person else { throw Problem.notFound("no person \(id.masked) at office \(context.office)") }
        var places = try history.map {
            DestinationAPI.PlaceView(
                placeCode: try OfficeCode($0.placeCode), accountKind: $0.accountKind,
                months: $0.months, lastContribution: try YearMonth($0.lastContribution))
        }
        let since = try YearMonth(person.contributingSince)
        let thisMonth = context.clock.today.yearMonth
        if person.contributing, since <= thisMonth {
            places.append(.init(placeCode: context.office, accountKind: .general, months: since.distance(to: thisMonth) + 1, lastContribution: thisMonth))
        }
        let hukou = try ProvinceCode(person.hukouProvince)
        let decision = ClaimingPlace.decide(
            places: places.map { .init(office: $0.placeCode, kind: $0.accountKind, contributionMonths: $0.months, lastContribution: $0.lastContribution) },
            hukouProvince: hukou)
        let claiming: DestinationAPI.ClaimingPlaceView
        switch decision {
        case .hukouPlace(let office):
            claiming = .init(rule: 1, office: office, province: office.province, explanation: "general relationship in the hukou province")
        case .currentPlace(let office):
            claiming = .init(rule: 2, office: office, province: office.province, explanation: "current place, 10 or more contribution years")
        case .earlierPlace(let office):
            claiming = .init(rule: 3, office: office, province: office.province, explanation: "most recent earlier place with 10 or more years")
        case .hukouProvince(let province):
            claiming = .init(rule: 4, office: nil, province: province, explanation: "no place qualifies: everything is collected in the hukou province")
        }
        return DestinationAPI.PersonView(
            citizenId: id, name: person.name, hukouProvince: hukou, registeredOn: try LocalDate(person.registeredOn),
            contributing: person.contributing, cards: cards.map { .init(issuer: $0.issuer, issuedOn: $0.issuedOn) }, cardIssued: false,
            places: places, cumulativeMonths: places.reduce(0) { $0 + $1.months }, claimingPlace: claiming)
    }

    // MARK: - Applications

    /// Files an application and reviews it at once (step 2): a contact letter to the origin, a
    /// written explanation with reason codes, or a temporary account. An application naming a
    /// payment certificate that has not arrived yet waits for it (state `awaiting-certificate`).
    func fileApplication(_ request: Request) async throws -> Response {
        let input = try await JSONBody.decode(DestinationAPI.ApplicationInput.self, from: request)
        if let name = input.name { try FreeText.check(name, field: "name") }
        let origin = try context.directory.office(input.originOffice, field: "originOffice")
        guard origin.code != context.office else { throw ValidationError(field: "originOffice", reason: "is this office") }
        let today = context.clock.today
        let reviewer = DestinationReviewer(context: context)
        let result = try await context.database.writer.write { db -> DestinationAPI.ApplicationResult in
            let person = try DestinationStore.person(input.citizenId, db)
            guard let name = person?.name ?? input.name, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError(field: "name", reason: "is required for a person not registered here")
            }
            guard let hukou = try person.map({ try ProvinceCode($0.hukouProvince) }) ?? input.hukouProvince else {
                throw ValidationError(field: "hukouProvince", reason: "is required for a person not registered here")
            }
            let caseID = CaseID()
            var record = DestinationCaseRecord(
                caseId: caseID.description, citizenId: input.citizenId.rawValue, name: name, hukouProvince: hukou.rawValue,
                origin: origin.code.rawValue, submittedOn: today.description, state: DestinationCaseState.submitted.rawValue,
                certificateNo: input.certificateNo?.rawValue, approvedTransfer: input.approvedTransfer ?? false, events: "[]", updatedAt: Date())
            try record.insert(db)
            let domain = try reviewer.review(&record, mayWait: true, db)
            return .init(caseId: caseID, state: domain.state, contactLetterNo: domain.contactLetter, reasons: domain.reviewCodes)
        }
        context.doorbell.ring()
        context.logger.info(
            "Application reviewed",
            metadata: ["case.id": .string(result.caseId.description), "case.state": .string(result.state.rawValue), "citizen.id": .string(input.citizenId.masked)])
        return try JSONBody.response(result, status: .created)
    }

    /// Reviews applications whose wait for their payment certificate has ended.
    public func performScheduledWork() async throws {
        let reviewer = DestinationReviewer(context: context)
        let reviewed = try await context.database.writer.write { db in try reviewer.endExpiredWaits(db) }
        if reviewed > 0 {
            context.doorbell.ring()
            context.logger.info("Applications reviewed after their certificate wait ended", metadata: ["count": "\(reviewed)"])
        }
    }

    // MARK: - Cases

    func getCase(_ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try CaseID(requestContext.parameters.get("caseId") ?? "", field: "caseId")
        let (record, remittances) = try await context.database.writer.read { db in
            (try DestinationStore.caseRecord(id, db), try RemittanceRow.forCase(id, db))
        }
        guard let record else { throw Problem.notFound("no case \(id) at office \(context.office)") }
        let domain = try record.domainCase()
        let deadlines = domain.deadlines(calendar: context.calendar)
        let today = context.clock.today
        // Plain locals: the release compiler (6.3.1) crashes on an ownership check when the
        // closure below borrows `domain` itself.
        let expected = domain.expected
        let received = domain.received
        let difference = try expected.map { try received - $0 }
        return try JSONBody.response(
            DestinationAPI.CaseView(
                caseId: record.caseId, citizenId: record.citizenId, originOffice: record.origin, state: domain.state,
                contactLetterNo: record.contactLetterNo, submittedOn: record.submittedOn, reviewReasons: domain.reviewCodes,
                returnReasons: domain.returnCodes, expected: expected, received: received,
                difference: difference, originTerminatedOn: record.originTerminatedOn,
                deadlines: deadlines,
                originOverdue: [.contactLetterSent, .awaitingForm, .awaitingFunds].contains(domain.state) && (deadlines["originAnswer"].map { today > $0.due } ?? false),
                remittances: remittances.map(RemittanceView.init),
                timeline: domain.timeline, closedAt: record.closedAt.map(JSONBody.timestamp)))
    }

    /// `GET /v1/cases?state=...&overdue=true`: overdue means the origin is past its deadline to
    /// answer (or, once matched, completion is past its own).
    func listCases(_ request: Request) async throws -> Response {
        var sql = "SELECT caseId, citizenId, origin, state, submittedOn, originDueOn, completionDueOn, closedAt FROM destinationCase"
        var conditions: [String] = []
        var arguments: [String] = []
        if let state = try CaseStateFilter.parse(try request.query("state"), states: DestinationCaseState.allCases.map(\.rawValue)) {
            conditions.append("state = ?")
            arguments.append(state)
        }
        let today = context.clock.today.description
        if try request.queryFlag("overdue") {
            conditions.append(Self.overdueCondition)
            arguments += [today, today]
        }
        let page = try Page(limit: try request.query("limit"), offset: try request.query("offset"))
        let table = "destinationCase"
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        sql += filter + " ORDER BY submittedOn, caseId" + page.sql
        let (rows, total) = try await context.database.writer.read { [sql, arguments, filter, table] db in
            (try CaseRow.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)\(filter)", arguments: StatementArguments(arguments)) ?? 0)
        }
        let cases = rows.map { row -> DestinationAPI.CaseSummary in
            let state = row.state
            let originDue = row.originDueOn
            let completionDue = row.completionDueOn
            let overdue = (["contact-letter-sent", "awaiting-form", "awaiting-funds"].contains(state) && (originDue.map { $0 < today } ?? false))
                || (["matched", "discrepancy"].contains(state) && (completionDue.map { $0 < today } ?? false))
            return .init(
                caseId: row.caseId, citizenId: row.citizenId, originOffice: row.origin, state: state, submittedOn: row.submittedOn,
                originDueOn: originDue, overdue: overdue, closedAt: row.closedAt.map(JSONBody.timestamp))
        }
        return try JSONBody.response(page.body(cases, total: total))
    }

    /// Overdue: the origin is past its deadline to answer, or a matched case past its completion deadline.
    static let overdueCondition =
        "((state IN ('contact-letter-sent', 'awaiting-form', 'awaiting-funds') AND originDueOn < ?) OR (state IN ('matched', 'discrepancy') AND completionDueOn < ?))"

    struct CaseRow: Codable, FetchableRecord, Sendable {
        var caseId: String
        var citizenId: String
        var origin: String
        var state: String
        var submittedOn: String
        var originDueOn: String?
        var completionDueOn: String?
        var closedAt: Date?
    }

    struct HistoryRow: Codable, FetchableRecord, Sendable {
        var placeCode: String
        /// Decoded strictly: an unknown kind fails the read instead of passing for `general`.
        var accountKind: AccountKind
        var months: Int
        var lastContribution: String
    }

    // MARK: - Gauges

    public func recordGauges() async throws {
        try await CaseGauges.record(
            context.database, table: "destinationCase", states: DestinationCaseState.allCases.map(\.rawValue),
            overdueCondition: Self.overdueCondition, today: context.clock.today)
    }

}
