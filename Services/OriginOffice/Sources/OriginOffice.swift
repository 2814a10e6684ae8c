import Foundation
import Hummingbird
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// The origin office: holds people's relationships and ledgers, answers contact letters,
/// remits funds and closes relationships.
public struct OriginOffice: OfficeService {
    public static let role = OfficeRole.origin
    let context: OfficeContext
    let repository: OriginRepository

    public init(context: OfficeContext) {
        self.context = context
        repository = OriginRepository(store: context.database)
    }

    public var office: OfficeCode { context.office }

    public static var postgresMigrations: [PostgresMigration] { OriginPostgresSchema.migrations }

    public static func registerMigrations(_ migrator: inout SQLiteMigrator) {
        OriginSchema.register(&migrator)
    }

    public var eventHandler: any OfficeEventHandler { OriginEventHandler(context: context) }

    /// Clerks write; viewers, clerks and auditors read (the yearly ledger only for auditors).
    public func addRoutes(to router: Router<OfficeRequestContext>) {
        let write = router.group("v1").add(middleware: Access.clerks)
        let read = router.group("v1").add(middleware: Access.readers)
        write.put("persons/:citizenId") { request, requestContext in try await self.putPerson(request, requestContext) }
        read.get("persons/:citizenId") { _, requestContext in try await self.getPerson(requestContext) }
        write.post("persons/:citizenId/months") { request, requestContext in try await self.postMonths(request, requestContext) }
        write.post("persons/:citizenId/suspension") { request, requestContext in try await self.suspend(request, requestContext) }
        write.post("persons/:citizenId/certificates") { request, requestContext in try await self.issueCertificate(request, requestContext) }
        read.get("cases/:caseId") { _, requestContext in try await self.getCase(requestContext) }
        read.get("cases") { request, _ in try await self.listCases(request) }
    }

    // MARK: - People

    private func citizenID(_ requestContext: OfficeRequestContext) throws -> CitizenID {
        try CitizenID(requestContext.parameters.get("citizenId") ?? "", field: "citizenId")
    }

    func putPerson(_ request: Request, _ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try citizenID(requestContext)
        let input = try await JSONBody.decode(OriginAPI.PersonInput.self, from: request)
        try FreeText.check(input.name, field: "name")
        if input.status == .transferred {
            throw ValidationError(field: "status", reason: "transferred is set by a transfer, not by hand")
        }
        if let arrears = input.arrears { try AmountLimits.check(arrears, atMost: AmountLimits.personAmount, field: "arrears") }
        if let pre = input.pre1998Account { try AmountLimits.check(pre, atMost: AmountLimits.personAmount, field: "pre1998Account") }
        // Written and answered in one transaction: nothing is stored for a request that fails.
        let (created, view) = try await repository.write { records -> (Bool, OriginAPI.PersonView) in
            let existing = try records.person(id)
            if existing?.status == .transferred {
                throw OriginRefusal.transferredOut(id, by: existing?.transferredBy)
            }
            let record = PersonRecord(
                citizenId: id.rawValue, name: input.name, hukouProvince: input.hukouProvince.rawValue,
                status: input.status ?? existing?.status ?? .contributing,
                arrearsFen: (input.arrears ?? existing.map { Money(fen: $0.arrearsFen) } ?? .zero).fen,
                pre1998Fen: (input.pre1998Account ?? existing.map { Money(fen: $0.pre1998Fen) } ?? .zero).fen,
                receivesPension: input.receivesPension ?? existing?.receivesPension ?? false,
                accountKind: input.accountKind ?? existing?.accountKind ?? .general, transferredBy: nil, updatedAt: Date())
            try records.save(record)
            return (existing == nil, try personView(id, records))
        }
        context.logger.info("Person registered", metadata: ["citizen.id": .string(id.masked), "created": "\(created)"])
        return try JSONBody.response(view, status: created ? .created : .ok)
    }

    func getPerson(_ requestContext: OfficeRequestContext) async throws -> Response {
        let withLedger = requestContext.identity?.has(.auditor) ?? false
        let id = try citizenID(requestContext)
        return try JSONBody.response(try await repository.read { records in try personView(id, records, withLedger: withLedger) })
    }

    /// - Parameter withLedger: include the yearly ledger (auditors only).
    func personView(_ id: CitizenID, _ records: any OriginRecords, withLedger: Bool = false) throws -> OriginAPI.PersonView {
        let (person, months) = (try records.person(id), try records.months(of: id))
        guard let person else { throw NotOnRecord("person \(id.masked) at office \(context.office)") }
        var balance: Money?
        var balanceError: String?
        var ledger: [OriginAPI.YearSummary] = []
        do {
            let form = try TransferCalculator.informationForm(
                months: months, pre1998Account: Money(fen: person.pre1998Fen), kind: person.accountKind,
                transferYear: max(context.clock.today.year, months.last?.period.year ?? 0), rates: context.configuration.creditingRates)
            balance = form.individualAccountTotal
            ledger = form.ledger.map { .init(year: $0.year, months: $0.months, credited: $0.credited, interest: $0.interest, closingBalance: $0.closingBalance) }
        } catch {
            balanceError = "\(error)"
        }
        return OriginAPI.PersonView(
            citizenId: id, name: person.name, hukouProvince: try ProvinceCode(person.hukouProvince), status: person.status,
            accountKind: person.accountKind, arrears: Money(fen: person.arrearsFen), receivesPension: person.receivesPension,
            transferredBy: person.transferredBy, monthsPaid: months.count, insuredFrom: months.first?.period, insuredTo: months.last?.period,
            individualAccountBalance: balance, balanceError: balanceError, ledger: withLedger ? ledger : nil)
    }

    func postMonths(_ request: Request, _ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try citizenID(requestContext)
        let input = try await JSONBody.decode(OriginAPI.MonthsInput.self, from: request)
        for (index, month) in input.months.enumerated() {
            try AmountLimits.check(month.base, atMost: AmountLimits.monthlyBase, positive: true, field: "months[\(index)].base")
            for (name, rate) in [("employerRate", month.employerRate), ("personalRate", month.personalRate)] where rate > .percent("100") {
                throw ValidationError(field: "months[\(index)].\(name)", reason: "must be at most 100%")
            }
        }
        var seen: Set<YearMonth> = []
        for month in input.months where !seen.insert(month.period).inserted {
            throw ValidationError(field: "months", reason: "\(month.period) appears twice")
        }
        let office = context.office
        let result = try await repository.write { records -> OriginAPI.MonthsResult in
            guard let person = try records.person(id) else { throw NotOnRecord("person \(id.masked)") }
            if person.status == .transferred { throw OriginRefusal.transferredOut(id, by: person.transferredBy) }
            var added: [MonthRecord] = []
            var unchanged = 0
            // The months already recorded, read once (a history is hundreds of months).
            var existingMonths: [String: MonthRecord] = [:]
            for existing in try records.monthRecords(of: id) {
                existingMonths[existing.period] = existing
            }
            for (index, month) in input.months.enumerated() {
                let record = MonthRecord(
                    citizenId: id.rawValue, period: month.period.description, baseFen: month.base.fen,
                    employerRate: month.employerRate.description, personalRate: month.personalRate.description,
                    placeCode: (month.placeCode ?? office).rawValue)
                if let existing = existingMonths[record.period] {
                    guard existing.baseFen == record.baseFen && existing.employerRate == record.employerRate
                        && existing.personalRate == record.personalRate && existing.placeCode == record.placeCode
                    else {
                        throw OriginRefusal.monthRecordedOtherwise(month.period, index: index)
                    }
                    unchanged += 1
                } else {
                    added.append(record)
                }
            }
            try records.insert(added)
            return .init(added: added.count, unchanged: unchanged, totalMonths: existingMonths.count + added.count)
        }
        return try JSONBody.response(result, status: result.added > 0 ? .created : .ok)
    }

    func suspend(_ request: Request, _ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try citizenID(requestContext)
        _ = try await JSONBody.decode(OriginAPI.SuspensionInput.self, from: request)
        let view = try await repository.write { records in
            guard var person = try records.person(id) else { throw NotOnRecord("person \(id.masked)") }
            switch person.status {
            case .transferred, .retired:
                throw OriginRefusal.cannotSuspend(person.status)
            case .contributing, .suspended:
                person.status = .suspended
                person.updatedAt = Date()
                try records.update(person)
            }
            return try personView(id, records)
        }
        return try JSONBody.response(view)
    }

    func issueCertificate(_ request: Request, _ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try citizenID(requestContext)
        let input = try await JSONBody.decode(OriginAPI.CertificateInput.self, from: request)
        let materials = input.materials ?? .init()
        for (field, value) in [
            ("materials.identityDocument", materials.identityDocument), ("materials.householdRegister", materials.householdRegister),
            ("materials.laborContractTermination", materials.laborContractTermination),
        ] {
            guard let value else { throw ValidationError(field: field, reason: "the certificate needs this document (give its reference)") }
            try FreeText.check(value, field: field, maxLength: 200)
        }
        let destination = try context.directory.office(input.destinationOffice, field: "destinationOffice")
        let today = context.clock.today
        let rates = context.configuration.creditingRates
        let result = try await repository.write { records -> OriginAPI.CertificateResult in
            guard let person = try records.person(id) else { throw NotOnRecord("person \(id.masked)") }
            guard person.status == .suspended else { throw OriginRefusal.notSuspended(person.status) }
            let months = try records.months(of: id)
            guard let first = months.first, let last = months.last else { throw OriginRefusal.noMonths }
            let form = try TransferCalculator.informationForm(
                months: months, pre1998Account: Money(fen: person.pre1998Fen), kind: person.accountKind, transferYear: today.year, rates: rates)
            let number = try DocumentSequence.next(CertificateNumber.self, office: context.office, year: today.year, in: records.transaction)
            let materialsText = String(decoding: try JSONEncoder().encode(materials), as: UTF8.self)
            try records.addCertificate(number, citizen: id, destination: destination.code, issuedOn: today, materials: materialsText)
            let personRef = PersonRef(PersonFacts(citizenID: id, name: person.name, hukouProvince: try ProvinceCode(person.hukouProvince)))
            let origin = OfficeRef(try context.directory.office(context.office))
            try context.publish(
                .paymentCertificateIssued(PaymentCertificateIssued(
                    certificateNo: number, person: personRef, origin: origin, insuredFrom: first.period, insuredTo: last.period,
                    monthsPaid: months.count, individualAccountBalance: form.individualAccountTotal, issuedOn: today)),
                to: destination.code, in: records.transaction)
            return .init(
                certificateNo: number, citizenId: id, destinationOffice: destination.code, insuredFrom: first.period, insuredTo: last.period,
                monthsPaid: months.count, individualAccountBalance: form.individualAccountTotal, issuedOn: today)
        }
        context.doorbell.ring()
        return try JSONBody.response(result, status: .created)
    }

    // MARK: - Cases

    func getCase(_ requestContext: OfficeRequestContext) async throws -> Response {
        let id = try CaseID(requestContext.parameters.get("caseId") ?? "", field: "caseId")
        let (record, remittances) = try await repository.read { records in (try records.caseRecord(id: id), try records.remittances(of: id)) }
        guard let record else { throw Problem.notFound("no case \(id) at office \(context.office)") }
        let domain = try record.domainCase()
        let deadline = domain.deadline(calendar: context.calendar)
        return try JSONBody.response(
            OriginAPI.CaseView(
                caseId: record.caseId, contactLetterNo: record.contactLetterNo, citizenId: record.citizenId,
                destinationOffice: record.destination, state: domain.state, receivedOn: record.receivedOn, deadline: deadline,
                overdue: domain.state.isOverdue(on: .answer, today: context.clock.today, due: deadline.due), returnCodes: domain.returnCodes,
                form: domain.form, remitted: domain.remitted,
                remittances: remittances.map(RemittanceView.init),
                needsReview: domain.needsReview, refusedClaims: domain.refusedClaims.map { OriginAPI.RefusedClaim(eventId: $0.event, reason: $0.reason) },
                timeline: domain.timeline))
    }

    /// `GET /v1/cases?state=...&overdue=true`: overdue as the domain defines it for an origin case
    /// (``OriginCaseState/overdueRules``): the letter is unanswered past its deadline.
    func listCases(_ request: Request) async throws -> Response {
        let today = context.clock.today
        let filter = try CaseFilter<OriginCaseState>(state: try request.query("state"), overdue: try request.queryFlag("overdue"), today: today)
        let page = try Page(limit: try request.query("limit"), offset: try request.query("offset"))
        let (rows, total) = try await repository.read { records in try records.cases(filter, page) }
        let cases = try rows.map { row in
            guard let state = OriginCaseState(rawValue: row.state) else {
                throw DomainError("case \(row.caseId) is stored in an unknown state \(row.state)")
            }
            return OriginAPI.CaseSummary(
                caseId: row.caseId, contactLetterNo: row.contactLetterNo, destinationOffice: row.destination, state: row.state,
                receivedOn: row.receivedOn, dueOn: row.dueOn, overdue: state.isOverdue(on: .answer, today: today, due: try LocalDate(row.dueOn)))
        }
        return try JSONBody.response(page.body(cases, total: total))
    }

    // MARK: - Gauges

    public func recordGauges() async throws {
        let today = context.clock.today
        try await repository.read { records in try records.counts(today: today) }.record()
    }

}
