import DestinationOffice
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import OfficeRuntime
import OfficeStorage
import Testing
import TransferDomain

/// The destination's own checks and clocks, driven through its API and its event handler on an
/// in-memory database (no broker): what it refuses, and from when it counts.
@Suite("Destination rules (no broker)")
struct DestinationRulesTests {
    let manual = ManualClock(try! LocalDate("2026-06-15"))
    let context: OfficeContext
    let office: DestinationOffice
    let shenzhen = OfficeDirectory.standard[try! OfficeCode("440300")]!
    let hangzhou = OfficeDirectory.standard[try! OfficeCode("330100")]!
    let person = Support.citizenID(birth: "19900504", sequence: "022")

    init() throws {
        let base = try Support.context(DestinationOffice.self, code: "510100")
        context = OfficeContext(
            configuration: base.configuration, database: base.database, signer: base.signer, eventKeys: base.eventKeys, clock: manual.clock,
            logger: Support.logger)
        office = DestinationOffice(context: context)
    }

    /// Registers the person and files an application; returns the case id and state.
    func apply(certificate: String? = nil) async throws -> (caseId: String, state: String) {
        let registered = try await Support.call(
            office, .put, "/v1/persons/\(person.rawValue)", ["name": "Zhang Min", "hukouProvince": "51", "registeredOn": "2026-03-02"])
        #expect(registered.status == .created || registered.status == .ok)
        var body: [String: Any] = ["citizenId": person.rawValue, "originOffice": "440300"]
        if let certificate { body["certificateNo"] = certificate }
        let filed = try await Support.call(office, .post, "/v1/applications", body)
        #expect(filed.status == .created)
        return (filed.body["caseId"] as? String ?? "", filed.body["state"] as? String ?? "")
    }

    func letter() throws -> ContactLetterIssued {
        for event in try Support.outboxEvents(context.database) {
            if case .contactLetterIssued(let letter) = event.event { return letter }
        }
        throw DomainError("no contact letter in the outbox")
    }

    /// Applies an event as the consumer would (one transaction).
    func deliver(_ event: TransferEvent, from source: OfficeCode? = nil) async throws {
        let cloud = CloudEvent(source: source ?? shenzhen.code, recipient: context.office, time: manual.now, event: event)
        try await context.database.writer.write { db in try office.eventHandler.handle(cloud, in: SQLiteTransaction(db)) }
    }

    func caseView(_ id: String) async throws -> [String: Any] {
        try await Support.call(office, .get, "/v1/cases/\(id)").body
    }

    func form(months: [ContributionMonth]) throws -> InformationForm {
        try TransferCalculator.informationForm(
            months: months, pre1998Account: .zero, kind: .general, transferYear: 2026,
            rates: try Support.configuration(.origin, code: "440300").creditingRates)
    }

    func months(_ from: String, _ to: String, place: OfficeCode) -> [ContributionMonth] {
        var result: [ContributionMonth] = []
        var period = try! YearMonth(from)
        while period <= (try! YearMonth(to)) {
            result.append(ContributionMonth(period: period, base: try! Money("8000.00"), employerRate: .percent("16"), personalRate: .percent("8"), placeCode: place))
            period = period.advanced(by: 1)
        }
        return result
    }

    @Test("an application naming a certificate not yet received waits for it, and is reviewed when it arrives")
    func certificateArrivesDuringTheWait() async throws {
        let certificate = CertificateNumber(office: shenzhen.code, year: 2026, sequence: 7)
        let (caseID, state) = try await apply(certificate: certificate.rawValue)
        #expect(state == "awaiting-certificate")
        #expect(try Support.outboxEvents(context.database).isEmpty, "nothing is sent while the review waits")
        let view = try await caseView(caseID)
        // 5 working days after Monday 2026-06-15, the Dragon Boat Festival (Friday 06-19) not counted.
        #expect((view["deadlines"] as? [String: [String: Any]])?["certificateWait"]?["due"] as? String == "2026-06-23")
        try await deliver(.paymentCertificateIssued(PaymentCertificateIssued(
            certificateNo: certificate, person: PersonRef(PersonFacts(citizenID: person, name: "Zhang Min", hukouProvince: try ProvinceCode("51"))),
            origin: OfficeRef(shenzhen), insuredFrom: try YearMonth("2020-01"), insuredTo: try YearMonth("2026-02"), monthsPaid: 74,
            individualAccountBalance: try Money("1000.00"), issuedOn: manual.clock.today)))
        #expect(try await caseView(caseID)["state"] as? String == "contact-letter-sent")
        #expect(try letter().certificateNo == certificate)
        #expect(try letter().applicationDate == (try LocalDate("2026-06-15")))
    }

    @Test("issue 21: a certificate in Shenzhen's numbering sent by Hangzhou is refused and does not unblock an application; Shenzhen's genuine one stands, and a second certificate under its number for someone else is refused, not dropped")
    func certificateFromAnotherOrigin() async throws {
        let number = CertificateNumber(office: shenzhen.code, year: 2026, sequence: 8)
        let (caseID, state) = try await apply(certificate: number.rawValue)
        #expect(state == "awaiting-certificate")
        func certificate(for citizen: CitizenID, origin: Office) throws -> TransferEvent {
            .paymentCertificateIssued(PaymentCertificateIssued(
                certificateNo: number, person: PersonRef(PersonFacts(citizenID: citizen, name: "Zhang Min", hukouProvince: try ProvinceCode("51"))),
                origin: OfficeRef(origin), insuredFrom: try YearMonth("2020-01"), insuredTo: try YearMonth("2026-02"), monthsPaid: 74,
                individualAccountBalance: try Money("1000.00"), issuedOn: manual.clock.today))
        }
        func refusal(_ event: TransferEvent, from source: OfficeCode) async -> String? {
            await Support.refusal { try await deliver(event, from: source) }
        }
        // Hangzhou, signing with its own key, in Shenzhen's name and numbering; then in its own name.
        #expect(await refusal(try certificate(for: person, origin: shenzhen), from: hangzhou.code) == "not-issuer")
        #expect(await refusal(try certificate(for: person, origin: hangzhou), from: hangzhou.code) == "not-issuer")
        #expect(try await caseView(caseID)["state"] as? String == "awaiting-certificate", "the forged certificate unblocked nothing")
        // Shenzhen's genuine certificate, for the applicant.
        #expect(await refusal(try certificate(for: person, origin: shenzhen), from: shenzhen.code) == nil)
        #expect(try await caseView(caseID)["state"] as? String == "contact-letter-sent")
        #expect(await refusal(try certificate(for: person, origin: shenzhen), from: shenzhen.code) == nil, "the same certificate again is a no-op")
        // Another certificate under the same number, for someone else: refused, not silently dropped.
        let other = Support.citizenID(birth: "19910605", sequence: "024")
        #expect(await refusal(try certificate(for: other, origin: shenzhen), from: shenzhen.code) == "conflicting-document")
    }

    @Test("issue 24, item 4 (MOHRSS 2016 No. 5, identity check of the certificate): a certificate this office already holds for someone else, or from another origin, is D04 at once, with no five-day wait")
    func certificateHeldForSomeoneElse() async throws {
        func certificate(_ number: CertificateNumber, for citizen: CitizenID, origin: Office) throws -> TransferEvent {
            .paymentCertificateIssued(PaymentCertificateIssued(
                certificateNo: number, person: PersonRef(PersonFacts(citizenID: citizen, name: "Zhang Min", hukouProvince: try ProvinceCode("51"))),
                origin: OfficeRef(origin), insuredFrom: try YearMonth("2020-01"), insuredTo: try YearMonth("2026-02"), monthsPaid: 74,
                individualAccountBalance: try Money("1000.00"), issuedOn: manual.clock.today))
        }
        // Shenzhen issued 2026-11 for someone else; Hangzhou issued one for the applicant.
        let someoneElses = CertificateNumber(office: shenzhen.code, year: 2026, sequence: 11)
        try await deliver(try certificate(someoneElses, for: Support.citizenID(birth: "19880203", sequence: "017"), origin: shenzhen))
        let hangzhous = CertificateNumber(office: hangzhou.code, year: 2026, sequence: 12)
        try await deliver(try certificate(hangzhous, for: person, origin: hangzhou), from: hangzhou.code)

        let (first, firstState) = try await apply(certificate: someoneElses.rawValue)
        #expect(firstState == "rejected", "no wait for a certificate that names someone else")
        #expect(try await caseView(first)["reviewReasons"] as? [String] == ["D04"])
        // The application names Shenzhen; the certificate held for the applicant is Hangzhou's.
        let (second, secondState) = try await apply(certificate: hangzhous.rawValue)
        #expect(secondState == "rejected", "no wait for a certificate another origin issued")
        #expect(try await caseView(second)["reviewReasons"] as? [String] == ["D04"])
        #expect(try Support.outboxEvents(context.database).map(\.type) == [.applicationRejected, .applicationRejected])
        // A number not held yet still waits (the certificate may be on its way).
        let (_, third) = try await apply(certificate: CertificateNumber(office: shenzhen.code, year: 2026, sequence: 13).rawValue)
        #expect(third == "awaiting-certificate")
    }

    @Test("when the wait ends without the certificate, the review rejects with D04")
    func waitEnds() async throws {
        let (caseID, _) = try await apply(certificate: CertificateNumber(office: shenzhen.code, year: 2026, sequence: 99).rawValue)
        try await office.performScheduledWork()
        #expect(try await caseView(caseID)["state"] as? String == "awaiting-certificate", "not before the wait ends")
        manual.advance(days: 8)  // 2026-06-23, the last day of the wait
        try await office.performScheduledWork()
        #expect(try await caseView(caseID)["state"] as? String == "awaiting-certificate")
        manual.advance(days: 1)
        try await office.performScheduledWork()
        let view = try await caseView(caseID)
        #expect(view["state"] as? String == "rejected")
        #expect(view["reviewReasons"] as? [String] == ["D04"])
        let sent = try Support.outboxEvents(context.database)
        #expect(sent.map(\.type) == [.applicationRejected])
    }

    @Test("a form whose lines do not add up, a remittance naming another letter, and events from another office are refused as wrong records")
    func refusedRecords() async throws {
        let (caseID, _) = try await apply()
        let letter = try letter()
        var bad = try form(months: months("2020-01", "2025-12", place: shenzhen.code))
        bad.totalRemitted = try bad.totalRemitted + Money(fen: 1)
        func refusal(_ event: TransferEvent, from source: OfficeCode? = nil) async -> String? {
            await Support.refusal { try await deliver(event, from: source) }
        }
        #expect(await refusal(.infoFormIssued(InfoFormIssued(
            caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: bad, issuedOn: manual.clock.today))) == "form-arithmetic")
        let good = try form(months: months("2020-01", "2025-12", place: shenzhen.code))
        func funds(letter number: ContactLetterNumber, payer: Office) -> TransferEvent {
            .fundsRemitted(FundsRemitted(
                caseId: letter.caseId, contactLetterNo: number, remittanceId: RemittanceID(office: shenzhen.code, year: 2026, sequence: 1),
                amount: good.totalRemitted, payerAccount: payer.account, payeeAccount: letter.destinationAccount, valueDate: manual.clock.today))
        }
        #expect(await refusal(funds(letter: ContactLetterNumber(office: context.office, year: 2026, sequence: 999), payer: shenzhen)) == "contact-letter-mismatch")
        #expect(await refusal(funds(letter: letter.contactLetterNo, payer: hangzhou), from: hangzhou.code) == "wrong-sender")
        // From the case's origin, but paid from an account the directory does not give it.
        #expect(await refusal(funds(letter: letter.contactLetterNo, payer: hangzhou)) == "wrong-account")
        let view = try await caseView(caseID)
        #expect(view["state"] as? String == "contact-letter-sent", "nothing refused was applied")
        #expect(view["received"] as? String == "0.00")
        // The real form and funds still complete the case.
        try await deliver(.infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: good, issuedOn: manual.clock.today)))
        try await deliver(funds(letter: letter.contactLetterNo, payer: shenzhen))
        #expect(try await caseView(caseID)["state"] as? String == "completed")
    }

    @Test("the completion deadline counts from the day the later of form and funds was received, whichever it is")
    func completionDeadlineStart() async throws {
        let (caseID, _) = try await apply()
        let letter = try letter()
        let good = try form(months: months("2020-01", "2025-12", place: shenzhen.code))
        // Funds valued a week earlier arrive first; the form arrives two days later.
        try await deliver(.fundsRemitted(FundsRemitted(
            caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: 2026, sequence: 1),
            amount: good.totalRemitted, payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: try LocalDate("2026-06-08"))))
        manual.advance(days: 2)
        try await deliver(.infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: good, issuedOn: try LocalDate("2026-06-15"))))
        let view = try await caseView(caseID)
        // Matched on 2026-06-17 (receipt of the form): 15 working days later, across the Dragon Boat holiday of 2026-06-19.
        let due = (view["deadlines"] as? [String: [String: Any]])?["completion"]?["due"] as? String
        #expect(due == context.calendar.adding(workingDays: 15, after: try LocalDate("2026-06-17")).due.description)
        #expect((view["timeline"] as? [[String: Any]])?.contains { ($0["on"] as? String) == "2026-06-15" && ($0["what"] as? String ?? "").hasPrefix("funds") } == true,
                "funds are dated by their receipt, not their value date")
    }

    @Test("completion credits each place its own months and real last month; the claiming place follows the current relationship")
    func transferredPlaces() async throws {
        let (caseID, _) = try await apply()
        let letter = try letter()
        // Hangzhou 2015-01..2018-06, then Shenzhen 2018-07..2026-02 (a year split between them).
        var history = months("2015-01", "2018-06", place: hangzhou.code)
        history += months("2018-07", "2026-02", place: shenzhen.code)
        let form = try TransferCalculator.informationForm(
            months: history, pre1998Account: .zero, kind: .general, transferYear: 2026,
            rates: try Support.configuration(.origin, code: "440300").creditingRates)
        try await deliver(.infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: manual.clock.today)))
        try await deliver(.fundsRemitted(FundsRemitted(
            caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: 2026, sequence: 1),
            amount: form.totalRemitted, payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: manual.clock.today)))
        #expect(try await caseView(caseID)["state"] as? String == "completed")
        let personView = try await Support.call(office, .get, "/v1/persons/\(person.rawValue)").body
        let places = (personView["places"] as? [[String: Any]] ?? []).map { ($0["placeCode"] as? String ?? "", $0["months"] as? Int ?? 0, $0["lastContribution"] as? String ?? "") }
        #expect(places.contains { $0 == ("330100", 42, "2018-06") })
        #expect(places.contains { $0 == ("440300", 92, "2026-02") })
        // Chengdu (hukou Sichuan) is the current place: rule 1.
        #expect((personView["claimingPlace"] as? [String: Any])?["rule"] as? Int == 1)
    }

    @Test("issue 24, item 3 (MOHRSS 2009 No. 187; 2010 No. 70 Art. 10, transfer first, clear afterwards): months paid in Shenzhen after the person began paying in Chengdu count once; the destination says which it cleared and what goes back to the person")
    func overlappingMonthsCountOnce() async throws {
        let (caseID, _) = try await apply()  // registered and paying in Chengdu from 2026-03
        let letter = try letter()
        // Shenzhen's record runs to 2026-05: March to May were paid at both places.
        let form = try form(months: months("2024-01", "2026-05", place: shenzhen.code))
        try await deliver(.infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: manual.clock.today)))
        try await deliver(.fundsRemitted(FundsRemitted(
            caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, remittanceId: RemittanceID(office: shenzhen.code, year: 2026, sequence: 2),
            amount: form.totalRemitted, payerAccount: shenzhen.account, payeeAccount: letter.destinationAccount, valueDate: manual.clock.today)))
        #expect(try await caseView(caseID)["state"] as? String == "completed", "transfer first: the whole ⑥ is received and the case completes")
        let personView = try await Support.call(office, .get, "/v1/persons/\(person.rawValue)").body
        let places = (personView["places"] as? [[String: Any]] ?? []).map { ($0["placeCode"] as? String ?? "", $0["months"] as? Int ?? 0, $0["lastContribution"] as? String ?? "") }
        #expect(places.contains { $0 == ("440300", 26, "2026-02") }, "\(places)")
        #expect(places.contains { $0 == ("510100", 4, "2026-06") }, "\(places)")
        // 2024-01 .. 2026-06 is 30 calendar months, whichever place paid them (33 counted twice).
        #expect(personView["cumulativeMonths"] as? Int == 30)
        let cleared = personView["clearedMonths"] as? [[String: Any]] ?? []
        #expect(cleared.map { $0["period"] as? String ?? "" } == ["2026-03", "2026-04", "2026-05"])
        #expect(cleared.allSatisfy { $0["placeCode"] as? String == "440300" && $0["keptAt"] as? String == "510100" && $0["returnedToPerson"] as? String == "640.00" })
        #expect(personView["returnedToPerson"] as? String == "1920.00")
        // The same events again change nothing.
        try await deliver(.infoFormIssued(InfoFormIssued(caseId: letter.caseId, contactLetterNo: letter.contactLetterNo, person: letter.person, form: form, issuedOn: manual.clock.today)))
        #expect(try await Support.call(office, .get, "/v1/persons/\(person.rawValue)").body["cumulativeMonths"] as? Int == 30)
    }
}
