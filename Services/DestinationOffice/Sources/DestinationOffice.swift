import Foundation
import Hummingbird
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The destination office: takes applications, reviews them, issues contact letters,
/// reconciles forms against funds and completes cases.
public struct DestinationOffice: OfficeService {
    public static let role = OfficeRole.destination
    let context: OfficeContext
    let repository: DestinationRepository

    public init(context: OfficeContext) {
        self.context = context
        repository = DestinationRepository(store: context.database)
    }

    public var office: OfficeCode { context.office }

    public static var postgresMigrations: [PostgresMigration] { DestinationPostgresSchema.migrations }

    public static func registerMigrations(_ migrator: inout SQLiteMigrator) {
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
        write.post("collections") { request, _ in try await self.fileCollection(request) }
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
        let (created, view) = try await register(id, input)
        return try JSONBody.response(view, status: created ? .created : .ok)
    }

    /// Registers a person (the API's PUT and the console's form): checked, then written in one
    /// transaction.
    func register(_ id: CitizenID, _ input: DestinationAPI.PersonInput) async throws -> (created: Bool, view: DestinationAPI.PersonView) {
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
        return try await repository.write { records -> (Bool, DestinationAPI.PersonView) in
            let existing = try records.person(id)
            let record = DestinationPersonRecord(
                citizenId: id.rawValue, name: input.name, hukouProvince: input.hukouProvince.rawValue,
                registeredOn: input.registeredOn.description, contributing: input.contributing ?? true,
                receivesPension: input.receivesPension ?? false,
                contributingSince: (input.contributingSince ?? input.registeredOn.yearMonth).description, updatedAt: Date())
            try records.save(record)
            for card in input.cards ?? [] {
                try records.addCard(SocialSecurityCard(holder: id, issuer: card.issuer, issuedOn: card.issuedOn))
            }
            var issued = false
            if try records.cards(of: id).needsNewCard(at: office) {
                try records.addCard(SocialSecurityCard(holder: id, issuer: office, issuedOn: input.registeredOn))
                issued = true
            }
            var view = try personView(id, records)
            view.cardIssued = issued
            return (existing == nil, view)
        }
    }

    func getPerson(_ requestContext: OfficeRequestContext) async throws -> Response {
        try JSONBody.response(try await personView(try citizenID(requestContext)))
    }

    func personView(_ id: CitizenID) async throws -> DestinationAPI.PersonView {
        try await repository.read { records in try personView(id, records) }
    }

    func personView(_ id: CitizenID, _ records: any DestinationRecords) throws -> DestinationAPI.PersonView {
        let (person, cards, history) = (try records.person(id), try records.cards(of: id), try records.historyPlaces(of: id))
        guard let person else { throw NotOnRecord("person \(id.masked) at office \(context.office)") }
        let claimingPlaces = try DestinationReviewer(context: context).claimingPlaces(person, records)
        let places = claimingPlaces.map {
            DestinationAPI.PlaceView(placeCode: $0.office, accountKind: $0.kind, months: $0.contributionMonths, lastContribution: $0.lastContribution)
        }
        let since = try YearMonth(person.contributingSince)
        let thisMonth = context.clock.today.yearMonth
        let hukou = try ProvinceCode(person.hukouProvince)
        let decision = ClaimingPlace.decide(places: claimingPlaces, hukouProvince: hukou)
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
        // Each calendar month once: this office's own months and the months transfers credited,
        // as a set; months posted before forms carried them (counted by place) are added as counted.
        let months = try records.historyMonths(of: id)
        let credited = months.filter { $0.status == "credited" }
        var periods = Set(try credited.map { try YearMonth($0.period) })
        if person.contributing, since <= thisMonth { periods.formUnion(PeriodClearing.ownMonths(at: context.office, since: since, through: thisMonth).keys) }
        let countedByPlaceOnly = history.reduce(0) { $0 + $1.months } - credited.count
        let cleared = try months.filter { $0.status == "cleared" }.map { month in
            DestinationAPI.ClearedMonthView(
                period: try YearMonth(month.period), placeCode: try OfficeCode(month.placeCode), keptAt: try OfficeCode(month.keptAt ?? ""),
                returnedToPerson: Money(fen: month.returnedFen), caseId: month.sourceCaseId)
        }
        return DestinationAPI.PersonView(
            citizenId: id, name: person.name, hukouProvince: hukou, registeredOn: try LocalDate(person.registeredOn),
            contributing: person.contributing, cards: cards.map { .init(issuer: $0.issuer, issuedOn: $0.issuedOn) }, cardIssued: false,
            places: places, cumulativeMonths: periods.count + max(0, countedByPlaceOnly), clearedMonths: cleared,
            returnedToPerson: try cleared.map(\.returnedToPerson).sum(), claimingPlace: claiming)
    }

    // MARK: - Applications

    /// Files an application and reviews it at once (step 2): a contact letter to the origin, a
    /// written explanation with reason codes, or a temporary account. An application naming a
    /// payment certificate that has not arrived yet waits for it (state `awaiting-certificate`).
    func fileApplication(_ request: Request) async throws -> Response {
        let input = try await JSONBody.decode(DestinationAPI.ApplicationInput.self, from: request)
        return try JSONBody.response(try await file(input), status: .created)
    }

    /// Files an application and reviews it (the API's POST and the console's form).
    func file(_ input: DestinationAPI.ApplicationInput) async throws -> DestinationAPI.ApplicationResult {
        if let name = input.name { try FreeText.check(name, field: "name") }
        let origin = try context.directory.office(input.originOffice, field: "originOffice")
        guard origin.code != context.office else { throw ValidationError(field: "originOffice", reason: "is this office") }
        let today = context.clock.today
        let reviewer = DestinationReviewer(context: context)
        let result = try await repository.write { records -> DestinationAPI.ApplicationResult in
            let person = try records.person(input.citizenId)
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
            try records.insert(record)
            let domain = try reviewer.review(&record, mayWait: true, records)
            return .init(caseId: caseID, state: domain.state, contactLetterNo: domain.contactLetter, reasons: domain.reviewCodes)
        }
        context.doorbell.ring()
        context.logger.info(
            "Application reviewed",
            metadata: ["case.id": .string(result.caseId.description), "case.state": .string(result.state.rawValue), "citizen.id": .string(input.citizenId.masked)])
        return result
    }

    /// `POST /v1/collections`: the claiming place collects a person's temporary accounts at
    /// retirement, one case per holder, each reviewed at once (C01, C02, D05, D07) and sent on as a
    /// contact letter with purpose `collection`.
    func fileCollection(_ request: Request) async throws -> Response {
        let input = try await JSONBody.decode(DestinationAPI.CollectionInput.self, from: request)
        return try JSONBody.response(try await collect(input), status: .created)
    }

    /// Files a collection (the API's POST and the console's form): all holders in one transaction.
    func collect(_ input: DestinationAPI.CollectionInput) async throws -> DestinationAPI.CollectionResult {
        guard !input.holderOffices.isEmpty else { throw ValidationError(field: "holderOffices", reason: "names no office") }
        guard input.holderOffices.count <= 50 else { throw ValidationError(field: "holderOffices", reason: "names more than 50 offices") }
        guard Set(input.holderOffices).count == input.holderOffices.count else { throw ValidationError(field: "holderOffices", reason: "names an office twice") }
        for (index, code) in input.holderOffices.enumerated() {
            _ = try context.directory.office(code, field: "holderOffices[\(index)]")
            guard code != context.office else { throw ValidationError(field: "holderOffices[\(index)]", reason: "is this office") }
        }
        let today = context.clock.today
        let reviewer = DestinationReviewer(context: context)
        let result = try await repository.write { records -> DestinationAPI.CollectionResult in
            guard let person = try records.person(input.citizenId) else {
                throw ValidationError(field: "citizenId", reason: "is not registered at this office: register the person first (their places decide the claiming place)")
            }
            var cases: [DestinationAPI.ApplicationResult] = []
            for holder in input.holderOffices {
                let caseID = CaseID()
                var record = DestinationCaseRecord(
                    caseId: caseID.description, citizenId: input.citizenId.rawValue, name: person.name, hukouProvince: person.hukouProvince,
                    origin: holder.rawValue, submittedOn: today.description, state: DestinationCaseState.submitted.rawValue,
                    certificateNo: nil, approvedTransfer: false, events: "[]", updatedAt: Date(), purpose: LetterPurpose.collection.rawValue)
                try records.insert(record)
                let domain = try reviewer.review(&record, mayWait: false, category: input.pensionCategory ?? .worker, records)
                cases.append(.init(caseId: caseID, state: domain.state, contactLetterNo: domain.contactLetter, reasons: domain.reviewCodes, holderOffice: holder))
            }
            return .init(citizenId: input.citizenId, cases: cases)
        }
        context.doorbell.ring()
        context.logger.info(
            "Collection reviewed",
            metadata: [
                "citizen.id": .string(input.citizenId.masked), "holders": "\(input.holderOffices.count)",
                "letters": "\(result.cases.filter { $0.contactLetterNo != nil }.count)",
            ])
        return result
    }

    /// Reviews applications whose wait for their payment certificate has ended.
    public func performScheduledWork() async throws {
        let reviewer = DestinationReviewer(context: context)
        let reviewed = try await repository.write { records in try reviewer.endExpiredWaits(records) }
        if reviewed > 0 {
            context.doorbell.ring()
            context.logger.info("Applications reviewed after their certificate wait ended", metadata: ["count": "\(reviewed)"])
        }
    }

    // MARK: - Cases

    func getCase(_ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try CaseID(requestContext.parameters.get("caseId") ?? "", field: "caseId")
        let (record, remittances) = try await repository.read { records in (try records.caseRecord(id), try records.remittances(of: id)) }
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
                caseId: record.caseId, purpose: record.letterPurpose, citizenId: record.citizenId, originOffice: record.origin, state: domain.state,
                contactLetterNo: record.contactLetterNo, submittedOn: record.submittedOn, reviewReasons: domain.reviewCodes,
                returnReasons: domain.returnCodes, expected: expected, received: received,
                difference: difference, originTerminatedOn: record.originTerminatedOn,
                deadlines: deadlines,
                originOverdue: domain.state.isOverdue(on: .originAnswer, today: today, due: deadlines["originAnswer"]?.due),
                remittances: remittances.map(RemittanceView.init),
                timeline: domain.timeline, closedAt: record.closedAt.map(JSONBody.timestamp)))
    }

    /// `GET /v1/cases?state=...&overdue=true`: overdue as the domain defines it for a destination
    /// case (``DestinationCaseState/overdueRules``): the origin is past its deadline to answer, or
    /// form and funds are in and completion is past its own.
    func listCases(_ request: Request) async throws -> Response {
        let today = context.clock.today
        let filter = try CaseFilter<DestinationCaseState>(state: try request.query("state"), overdue: try request.queryFlag("overdue"), today: today)
        let page = try Page(limit: try request.query("limit"), offset: try request.query("offset"))
        let (rows, total) = try await repository.read { records in try records.cases(filter, page) }
        let cases = try rows.map { row -> DestinationAPI.CaseSummary in
            guard let state = DestinationCaseState(rawValue: row.state) else {
                throw DomainError("case \(row.caseId) is stored in an unknown state \(row.state)")
            }
            let due: [DestinationDeadlineKind: LocalDate] = [
                .originAnswer: try row.originDueOn.map { try LocalDate($0) }, .completion: try row.completionDueOn.map { try LocalDate($0) },
            ].compactMapValues { $0 }
            return .init(
                caseId: row.caseId, citizenId: row.citizenId, originOffice: row.origin, state: row.state, submittedOn: row.submittedOn,
                originDueOn: row.originDueOn, overdue: state.isOverdue(today: today) { due[$0] }, closedAt: row.closedAt.map(JSONBody.timestamp))
        }
        return try JSONBody.response(page.body(cases, total: total))
    }

    // MARK: - Gauges

    public func recordGauges() async throws {
        let today = context.clock.today
        try await repository.read { records in try records.counts(today: today) }.record()
    }

}
