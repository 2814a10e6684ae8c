import Foundation
import GRDB
import OfficeRuntime
import OriginOffice
import Testing
import TransferDomain

/// The origin's own checks, driven through its API and its event handler on an in-memory database
/// (no broker).
@Suite("Origin rules (no broker)")
struct OriginRulesTests {
    let context: OfficeContext
    let office: OriginOffice
    let chengdu = OfficeDirectory.standard[try! OfficeCode("510100")]!
    let shenzhen = OfficeDirectory.standard[try! OfficeCode("440300")]!
    let person = Support.citizenID(birth: "19850310", sequence: "013")

    init() throws {
        context = try Support.context(OriginOffice.self, code: "440300")
        office = OriginOffice(context: context)
    }

    /// Registers the person with a ledger and ends their employment (ready to transfer).
    func registerSuspended(base: String = "8000.00") async throws {
        #expect(try await Support.call(office, .put, "/v1/persons/\(person.rawValue)", ["name": "Li Wei", "hukouProvince": "51"]).status == .created)
        let months = (1...12).map { ["period": String(format: "2024-%02d", $0), "base": base, "employerRate": "16", "personalRate": "8"] }
        #expect(try await Support.call(office, .post, "/v1/persons/\(person.rawValue)/months", ["months": months]).status == .created)
        #expect(try await Support.call(office, .post, "/v1/persons/\(person.rawValue)/suspension", [:]).status == .ok)
    }

    func letter(number: Int = 1) -> ContactLetterIssued {
        ContactLetterIssued(
            caseId: CaseID(), contactLetterNo: ContactLetterNumber(office: chengdu.code, year: 2026, sequence: number),
            person: PersonRef(PersonFacts(citizenID: person, name: "Li Wei", hukouProvince: try! ProvinceCode("51"))),
            origin: OfficeRef(shenzhen), destination: OfficeRef(chengdu), destinationAccount: chengdu.account, certificateNo: nil,
            applicationDate: Support.today, issuedOn: Support.today)
    }

    func deliver(_ event: TransferEvent, from source: OfficeCode? = nil) async throws {
        let cloud = CloudEvent(source: source ?? chengdu.code, recipient: context.office, time: Date(), event: event)
        try await context.database.writer.write { db in try office.eventHandler.handle(cloud, in: SQLiteTransaction(db)) }
    }

    @Test("a stored status the office cannot read stops the transfer instead of being taken for 'suspended'")
    func unreadableStatus() async throws {
        try await registerSuspended()
        // A status outside the schema's list (written around the CHECK constraint).
        try await context.database.writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE person SET status = 'on-leave' WHERE citizenId = ?", arguments: [person.rawValue])
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        await #expect(throws: (any Error).self) { try await deliver(.contactLetterIssued(letter())) }
        #expect(try Support.outboxEvents(context.database).isEmpty, "no form, no funds, no termination")
        #expect(try await Support.call(office, .get, "/v1/persons/\(person.rawValue)").status == .internalServerError)
    }

    @Test("a monthly base far above any real one is refused at the API, naming the field; no amount can crash the office")
    func amountBounds() async throws {
        #expect(try await Support.call(office, .put, "/v1/persons/\(person.rawValue)", ["name": "Li Wei", "hukouProvince": "51"]).status == .created)
        let huge = try await Support.call(office, .post, "/v1/persons/\(person.rawValue)/months", [
            "months": [["period": "2024-01", "base": "1000000000000000.00", "employerRate": "16", "personalRate": "8"]],
        ])
        #expect(huge.status == .unprocessableContent)
        #expect(huge.body["field"] as? String == "months[0].base")
        let aboveCeiling = try await Support.call(office, .post, "/v1/persons/\(person.rawValue)/months", [
            "months": [["period": "2024-01", "base": "1000000.01", "employerRate": "16", "personalRate": "8"]],
        ])
        #expect(aboveCeiling.status == .unprocessableContent)
        #expect(aboveCeiling.body["field"] as? String == "months[0].base")
        for field in ["arrears", "pre1998Account"] {
            let response = try await Support.call(office, .put, "/v1/persons/\(person.rawValue)", ["name": "Li Wei", "hukouProvince": "51", field: "9999999999999.99"])
            #expect(response.status == .unprocessableContent, "\(field)")
            #expect(response.body["field"] as? String == field)
        }
        // The person can still be read: nothing out of range was stored.
        #expect(try await Support.call(office, .get, "/v1/persons/\(person.rawValue)").status == .ok)
    }

    func refusal(_ event: TransferEvent, from source: OfficeCode? = nil) async -> String? {
        do {
            try await deliver(event, from: source)
            return nil
        } catch {
            if case .record(let reason) = EventFailure.classify(error) { return reason }
            return "infrastructure: \(error)"
        }
    }

    @Test("a forged letter asking for the money to go to another account is returned with O07; nothing is remitted")
    func forgedAccount() async throws {
        try await registerSuspended()
        var forged = letter()
        forged.destinationAccount = BankAccount(bankName: "Some Bank", accountName: "Someone", accountNumber: "6222000011112222")
        try await deliver(.contactLetterIssued(forged))
        let sent = try Support.outboxEvents(context.database)
        #expect(sent.map(\.type) == [.contactLetterReturned])
        if case .contactLetterReturned(let returned) = sent.first?.event { #expect(returned.reasons == [.bankDetailsInvalid]) }
        #expect(try await Support.call(office, .get, "/v1/persons/\(person.rawValue)").body["status"] as? String == "suspended", "not transferred")
    }

    @Test("a letter from another office than the destination it names, or naming another origin, is refused")
    func forgedSender() async throws {
        try await registerSuspended()
        let hangzhou = try OfficeCode("330100")
        #expect(await refusal(.contactLetterIssued(letter()), from: hangzhou) == "wrong-sender")
        var otherOrigin = letter(number: 2)
        otherOrigin.origin = OfficeRef(OfficeDirectory.standard[hangzhou]!)
        #expect(await refusal(.contactLetterIssued(otherOrigin)) == "wrong-office")
        #expect(try Support.outboxEvents(context.database).isEmpty)
    }

    @Test("a completion, refund or discrepancy for a case from another office than its destination is refused")
    func forgedLaterEvents() async throws {
        try await registerSuspended()
        let genuine = letter()
        try await deliver(.contactLetterIssued(genuine))
        let hangzhou = try OfficeCode("330100")
        let completed = TransferEvent.transferCompleted(TransferCompleted(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, receivedTotal: try Money("1.00"), completedOn: Support.today))
        #expect(await refusal(completed, from: hangzhou) == "wrong-sender")
        let refund = TransferEvent.excessRefunded(ExcessRefunded(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, refundId: RemittanceID(office: chengdu.code, year: 2026, sequence: 5),
            amount: try Money("10.00"), payerAccount: chengdu.account,
            payeeAccount: BankAccount(bankName: "Elsewhere", accountName: "x", accountNumber: "6200000000000001"), valueDate: Support.today))
        #expect(await refusal(refund) == "wrong-account")
        #expect(try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body["state"] as? String == "terminated")
    }
}

