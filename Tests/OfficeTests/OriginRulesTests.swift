import Foundation
import GRDB
import OfficeRuntime
import OfficeStorage
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
        await Support.refusal { try await deliver(event, from: source) }
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

    @Test("issue 21: a letter naming a payment certificate this office did not issue for the person is returned O03; nothing is remitted")
    func letterWithForeignCertificate() async throws {
        try await registerSuspended()
        var named = letter()
        named.certificateNo = CertificateNumber(office: shenzhen.code, year: 2026, sequence: 999)
        try await deliver(.contactLetterIssued(named))
        let sent = try Support.outboxEvents(context.database)
        #expect(sent.map(\.type) == [.contactLetterReturned])
        if case .contactLetterReturned(let returned) = sent.first?.event { #expect(returned.reasons == [.personMismatch]) }
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

    // MARK: - Claims about money, against the office's own books (issue 21, item 1)

    /// Delivers `event` as the consumer does: a refusal undoes the handler's changes, then the
    /// office notes it (``OfficeEventHandler/refused(_:reason:in:)``). Returns the refusal's reason.
    func consume(_ event: TransferEvent) async throws -> String? {
        let cloud = CloudEvent(source: chengdu.code, recipient: context.office, time: Date(), event: event)
        guard let reason = await refusal(event) else { return nil }
        try await context.database.writer.write { db in try office.eventHandler.refused(cloud, reason: reason, in: SQLiteTransaction(db)) }
        return reason
    }

    func remittances(_ caseID: CaseID) async throws -> [[String: Any]] {
        try await Support.call(office, .get, "/v1/cases/\(caseID)").body["remittances"] as? [[String: Any]] ?? []
    }

    @Test("the hostile peer of issue 21: ten million claimed twice, then the real shortfall, then a refund nobody asked for and a completion of 0.00: nothing paid, all refused, the case needs review")
    func hostileClaims() async throws {
        try await registerSuspended()
        let genuine = letter()
        try await deliver(.contactLetterIssued(genuine))
        let view = try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body
        let total = try Money(try #require(view["remitted"] as? String))
        func discrepancy(expected: Money, received: Money) throws -> TransferEvent {
            .reconciliationDiscrepancyRaised(try ReconciliationDiscrepancyRaised(
                caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, expected: expected, received: received, raisedOn: Support.today))
        }
        let tenMillion = try discrepancy(expected: try Money("9999999.99"), received: .zero)
        #expect(try await consume(tenMillion) == "claim-mismatch")
        #expect(try await consume(tenMillion) == "claim-mismatch", "the same claim under a new event id")
        #expect(try await consume(try discrepancy(expected: total, received: try total - Money(yuan: 1))) == "claim-mismatch",
                "the office remitted ⑥ in full: a shortfall its books do not show")
        let refund = TransferEvent.excessRefunded(ExcessRefunded(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, refundId: RemittanceID(office: chengdu.code, year: 2026, sequence: 5),
            amount: try Money("10.00"), payerAccount: chengdu.account, payeeAccount: shenzhen.account, valueDate: Support.today))
        #expect(try await consume(refund) == "refund-not-owed")
        let zeroCompletion = TransferEvent.transferCompleted(TransferCompleted(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, receivedTotal: .zero, completedOn: Support.today))
        #expect(try await consume(zeroCompletion) == "claim-mismatch")

        #expect(try await remittances(genuine.caseId).count == 1, "only the first remittance: nothing paid or booked on a claim")
        #expect(try Support.outboxEvents(context.database).map(\.type) == [.infoFormIssued, .fundsRemitted, .originRelationshipTerminated])
        let after = try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body
        #expect(after["state"] as? String == "terminated")
        #expect(after["remitted"] as? String == total.description)
        #expect(after["needsReview"] as? Bool == true)
        #expect((after["refusedClaims"] as? [[String: Any]])?.compactMap { $0["reason"] as? String }
                == ["claim-mismatch", "claim-mismatch", "claim-mismatch", "refund-not-owed", "claim-mismatch"])

        // The genuine completion names what the office remitted and closes the case.
        #expect(try await consume(.transferCompleted(TransferCompleted(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, receivedTotal: total, completedOn: Support.today))) == nil)
        #expect(try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body["state"] as? String == "closed")
    }

    @Test("a shortfall the office's books show is paid once, exactly ⑥ less what was remitted; the same claim again is refused")
    func genuineShortfallPaidOnce() async throws {
        try await registerSuspended()
        let genuine = letter()
        try await deliver(.contactLetterIssued(genuine))
        // The office's first remittance went out 1.00 short (as if the bank had paid less): rewrite
        // the stored remittance in the case's history and the remittance table.
        let total = try Money(try #require(try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body["remitted"] as? String))
        let short = try total - Money(yuan: 1)
        try await context.database.writer.write { db in
            let events: String = try #require(try String.fetchOne(db, sql: "SELECT events FROM originCase WHERE caseId = ?", arguments: [genuine.caseId.description]))
            // Only the remittance's amount (the form's ⑥ stays what it is).
            var history = try #require(try JSONSerialization.jsonObject(with: Data(events.utf8)) as? [[String: Any]])
            let index = try #require(history.firstIndex { $0["fundsRemitted"] != nil })
            var remitted = try #require(history[index]["fundsRemitted"] as? [String: Any])
            #expect(remitted["_1"] as? String == total.description)
            remitted["_1"] = short.description
            history[index]["fundsRemitted"] = remitted
            let rewritten = String(decoding: try JSONSerialization.data(withJSONObject: history), as: UTF8.self)
            try db.execute(sql: "UPDATE originCase SET events = ? WHERE caseId = ?", arguments: [rewritten, genuine.caseId.description])
            try db.execute(sql: "UPDATE remittance SET amountFen = ? WHERE caseId = ?", arguments: [short.fen, genuine.caseId.description])
        }
        let claim = TransferEvent.reconciliationDiscrepancyRaised(try ReconciliationDiscrepancyRaised(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, expected: total, received: short, raisedOn: Support.today))
        #expect(try await consume(claim) == nil)
        let supplementary = try Support.outboxEvents(context.database).compactMap { event -> FundsRemitted? in
            guard case .fundsRemitted(let funds) = event.event, funds.supplementary else { return nil }
            return funds
        }
        #expect(supplementary.map(\.amount) == [Money(yuan: 1)])
        #expect(try await consume(claim) == "claim-mismatch", "the same shortfall under a new event id: already paid")
        #expect(try await remittances(genuine.caseId).count == 2)
        #expect(try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body["remitted"] as? String == total.description)
    }
    @Test("issue 21, item 7: a case history the office cannot read (damaged, or from a newer version) is the office's trouble: a valid event is retried, never dead-lettered")
    func unreadableStoredCase() async throws {
        try await registerSuspended()
        let genuine = letter()
        try await deliver(.contactLetterIssued(genuine))
        let total = try Money(try #require(try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").body["remitted"] as? String))
        // A history entry of a kind this version does not know, as a newer instance might write it.
        try await context.database.writer.write { db in
            try db.execute(
                sql: "UPDATE originCase SET events = ? WHERE caseId = ?",
                arguments: [#"[{"collectedToClaimingPlace": {"on": "2026-06-15"}}]"#, genuine.caseId.description])
        }
        let completion = TransferEvent.transferCompleted(TransferCompleted(
            caseId: genuine.caseId, contactLetterNo: genuine.contactLetterNo, receivedTotal: total, completedOn: Support.today))
        #expect(await refusal(completion)?.hasPrefix("infrastructure") == true, "retried, not dead-lettered")
        #expect(try await Support.call(office, .get, "/v1/cases/\(genuine.caseId)").status == .internalServerError)
    }
}
