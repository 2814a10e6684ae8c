import Testing
import TransferDomain

@Suite("Case state machines")
struct CaseStateMachineTests {
    static let letter = ContactLetterNumber(office: Fixtures.chengdu, year: 2026, sequence: 7)
    static let form = try! TransferCalculator.informationForm(
        months: [Fixtures.contribution("2025-01", base: "10000.00"), Fixtures.contribution("2026-01", base: "10000.00")],
        pre1998Account: .zero, kind: .general, transferYear: 2026, rates: CreditingRates(overrides: [2025: .percent("2")]))
    static let remittance = RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 1)
    static let day = Fixtures.date("2026-03-02")

    func sentCase() throws -> DestinationCase {
        var destination = DestinationCase(id: CaseID(), submittedOn: Self.day)
        try destination.apply(.reviewed(.contactLetter, letter: Self.letter, on: Self.day))
        return destination
    }

    @Test("form before funds and funds before form end in the same matched state")
    func orderIndependence() throws {
        var formFirst = try sentCase()
        try formFirst.apply(.formReceived(Self.form, on: Self.day))
        #expect(formFirst.state == .awaitingFunds)
        try formFirst.apply(.fundsReceived(Self.remittance, Self.form.totalRemitted, on: Self.day))

        var fundsFirst = try sentCase()
        try fundsFirst.apply(.fundsReceived(Self.remittance, Self.form.totalRemitted, on: Self.day))
        #expect(fundsFirst.state == .awaitingForm)
        try fundsFirst.apply(.formReceived(Self.form, on: Self.day))

        #expect(formFirst.state == .matched && fundsFirst.state == .matched)
        #expect(formFirst.received == fundsFirst.received)
        try formFirst.apply(.completed(on: Self.day))
        #expect(formFirst.state == .completed)
    }

    @Test("a remittance id posts once however often it is delivered")
    func duplicateRemittance() throws {
        var destination = try sentCase()
        #expect(try destination.apply(.fundsReceived(Self.remittance, Self.form.totalRemitted, on: Self.day)) == .applied)
        #expect(try destination.apply(.fundsReceived(Self.remittance, Self.form.totalRemitted, on: Self.day)) == .duplicate)
        try destination.apply(.formReceived(Self.form, on: Self.day))
        #expect(try destination.apply(.formReceived(Self.form, on: Self.day)) == .duplicate)
        #expect(destination.received == Self.form.totalRemitted)
        #expect(destination.state == .matched)
    }

    @Test("a shortfall is a discrepancy until a supplementary remittance matches; completion needs the match")
    func discrepancy() throws {
        var destination = try sentCase()
        try destination.apply(.formReceived(Self.form, on: Self.day))
        try destination.apply(.fundsReceived(Self.remittance, Self.form.totalRemitted - Money(fen: 1), on: Self.day))
        #expect(destination.state == .discrepancy)
        #expect(throws: IllegalTransition.self) { try destination.apply(.completed(on: Self.day)) }
        let supplement = RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 2)
        try destination.apply(.fundsReceived(supplement, Money(fen: 1), on: Self.day))
        #expect(destination.state == .matched)
    }

    @Test("an excess is refunded by the destination, then the case matches")
    func excess() throws {
        var destination = try sentCase()
        try destination.apply(.formReceived(Self.form, on: Self.day))
        try destination.apply(.fundsReceived(Self.remittance, Self.form.totalRemitted + Money(fen: 500), on: Self.day))
        #expect(destination.state == .discrepancy)
        let refund = RemittanceID(office: Fixtures.chengdu, year: 2026, sequence: 1)
        // Refunding more than the excess is refused.
        #expect(throws: IllegalTransition.self) { try destination.apply(.excessRefunded(refund, Money(fen: 501), on: Self.day)) }
        try destination.apply(.excessRefunded(refund, Money(fen: 500), on: Self.day))
        #expect(destination.state == .matched)
    }

    @Test("illegal transitions are errors; terminal states stay terminal")
    func illegal() throws {
        var fresh = DestinationCase(id: CaseID(), submittedOn: Self.day)
        #expect(throws: IllegalTransition.self) { try fresh.apply(.formReceived(Self.form, on: Self.day)) }
        try fresh.apply(.reviewed(.rejected([.sameProvince]), letter: nil, on: Self.day))
        #expect(fresh.state == .rejected && fresh.state.isTerminal)
        #expect(try fresh.apply(.reviewed(.rejected([.sameProvince]), letter: nil, on: Self.day)) == .duplicate)
        #expect(throws: IllegalTransition.self) { try fresh.apply(.reviewed(.contactLetter, letter: Self.letter, on: Self.day)) }

        var returned = try sentCase()
        try returned.apply(.letterReturned([.arrearsOutstanding], on: Self.day))
        #expect(returned.state == .letterReturned && returned.returnCodes == [.arrearsOutstanding])
        #expect(throws: IllegalTransition.self) { try returned.apply(.fundsReceived(Self.remittance, Money(fen: 1), on: Self.day)) }
    }

    @Test("deadlines per step from the working-day calendar")
    func deadlines() throws {
        var destination = DestinationCase(id: CaseID(), submittedOn: Fixtures.date("2024-02-05"))
        #expect(destination.deadlines()["review"]?.due == Fixtures.date("2024-03-01"))
        try destination.apply(.reviewed(.contactLetter, letter: Self.letter, on: Fixtures.date("2024-02-05")))
        #expect(destination.deadlines()["originAnswer"]?.due == Fixtures.date("2024-03-01"))
        #expect(destination.deadlines()["completion"] == nil)
    }

    @Test("origin: form, remittance and termination; a discrepancy settled by a supplementary remittance; then closed")
    func originCase() throws {
        var origin = OriginCase(id: CaseID(), contactLetter: Self.letter, receivedOn: Self.day)
        #expect(throws: IllegalTransition.self) { try origin.apply(.fundsRemitted(Self.remittance, Money(fen: 1), on: Self.day)) }
        try origin.apply(.formIssued(Self.form, on: Self.day))
        try origin.apply(.fundsRemitted(Self.remittance, Self.form.totalRemitted - Money(fen: 1), on: Self.day))
        #expect(try origin.apply(.fundsRemitted(Self.remittance, Self.form.totalRemitted - Money(fen: 1), on: Self.day)) == .duplicate)
        try origin.apply(.relationshipTerminated(on: Self.day))
        #expect(origin.state == .terminated)
        try origin.apply(.discrepancyRaised(expected: Self.form.totalRemitted, received: Self.form.totalRemitted - Money(fen: 1), on: Self.day))
        #expect(origin.state == .discrepancy && origin.outstandingDiscrepancy == Money(fen: 1))
        try origin.apply(.supplementaryRemitted(RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 2), Money(fen: 1), on: Self.day))
        #expect(origin.remitted == Self.form.totalRemitted)
        try origin.apply(.completed(on: Self.day))
        #expect(origin.state == .closed && origin.state.isTerminal)
        #expect(try origin.apply(.completed(on: Self.day)) == .duplicate)
    }

    @Test("origin: a returned letter is one outcome; no form after it")
    func originReturn() throws {
        var origin = OriginCase(id: CaseID(), contactLetter: Self.letter, receivedOn: Self.day)
        try origin.apply(.returned([.stillContributing], on: Self.day))
        #expect(try origin.apply(.returned([.stillContributing], on: Self.day)) == .duplicate)
        #expect(throws: IllegalTransition.self) { try origin.apply(.formIssued(Self.form, on: Self.day)) }
        #expect(origin.deadline().due == Fixtures.date("2026-03-23"))
    }

    @Test("open, terminal and overdue are defined once: terminal states take no more events; overdue is past the watched deadline in the watched states")
    func caseQuestions() throws {
        #expect(Set(DestinationCaseState.terminalStates) == [.rejected, .temporaryAccountOpened, .letterReturned, .completed])
        #expect(Set(OriginCaseState.terminalStates) == [.returned, .closed])
        #expect(DestinationCaseState.openStates.count + DestinationCaseState.terminalStates.count == DestinationCaseState.allCases.count)
        #expect(OriginCaseState.openStates.allSatisfy { !$0.isTerminal })
        let today = Fixtures.date("2026-06-15")
        let yesterday = today.adding(days: -1)
        // The origin owes its answer while the letter is out or half answered; completion is owed once matched.
        for state in [DestinationCaseState.contactLetterSent, .awaitingForm, .awaitingFunds] {
            #expect(state.isOverdue(today: today) { $0 == .originAnswer ? yesterday : nil })
            #expect(!state.isOverdue(today: today) { $0 == .originAnswer ? today : nil })
            #expect(!state.isOverdue(today: today) { $0 == .completion ? yesterday : nil })
            #expect(state.isOverdue(on: .originAnswer, today: today, due: yesterday))
        }
        for state in [DestinationCaseState.matched, .discrepancy] {
            #expect(state.isOverdue(today: today) { $0 == .completion ? yesterday : nil })
            #expect(!state.isOverdue(on: .originAnswer, today: today, due: yesterday))
        }
        // A terminal or not-yet-sent case is never overdue, whatever its dates say.
        for state in DestinationCaseState.terminalStates + [.submitted, .awaitingCertificate] {
            #expect(!state.isOverdue(today: today) { _ in yesterday })
        }
        #expect(OriginCaseState.letterReceived.isOverdue(today: today) { _ in yesterday })
        for state in OriginCaseState.allCases where state != .letterReceived {
            #expect(!state.isOverdue(today: today) { _ in yesterday })
        }
    }
}
