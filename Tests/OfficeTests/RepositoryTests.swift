@testable import DestinationOffice
import Foundation
import Kafka
import OfficeRuntime
@testable import OriginOffice
import OfficeStorage
import Synchronization
import Testing
import TransferDomain

/// The repositories behind the routes and handlers: their queries answer the domain's questions
/// (open, terminal, overdue) exactly as the domain does case by case, and document numbers stay
/// gap-free; the runtime's tables behave the same. Each test runs on an in-memory SQLite store
/// and on a fresh PostgreSQL database (when the test server is there, see ``PostgresTest``).
@Suite("Repositories on SQLite and PostgreSQL (no broker)")
struct RepositoryTests {
    static let today = try! LocalDate("2026-06-15")
    /// No due date, due yesterday (overdue), due today (not yet), due tomorrow.
    static let dues: [LocalDate?] = [nil, today.adding(days: -1), today, today.adding(days: 1)]

    @Test("destination: the overdue filter, the counts and the open-case count of the store agree with the domain for every state and due date",
          arguments: Backend.available)
    func destinationQuestions(_ backend: Backend) async throws {
        let opened = try await backend.open(DestinationOffice.self)
        defer { Task { await opened.close() } }
        let repository = DestinationRepository(store: opened.store)
        let citizen = Support.citizenID(birth: "19900504", sequence: "022")
        var expected: [(id: String, state: DestinationCaseState, overdue: Bool, origin: String)] = []
        var index = 0
        for state in DestinationCaseState.allCases {
            for originDue in Self.dues {
                for completionDue in Self.dues {
                    index += 1
                    let record = DestinationCaseRecord(
                        caseId: CaseID().description, citizenId: citizen.rawValue, name: "Test", hukouProvince: "44", origin: index % 3 == 0 ? "330100" : "440300",
                        submittedOn: Self.today.adding(days: -(index % 40)).description, state: state.rawValue, approvedTransfer: false,
                        originDueOn: originDue?.description, completionDueOn: completionDue?.description, events: "[]", updatedAt: Date())
                    try await repository.write { records in try records.insert(record) }
                    let due: [DestinationDeadlineKind: LocalDate] = [.originAnswer: originDue, .completion: completionDue].compactMapValues { $0 }
                    expected.append((record.caseId, state, state.isOverdue(today: Self.today) { due[$0] }, record.origin))
                }
            }
        }
        let overdueIDs = Set(expected.filter(\.overdue).map(\.id))
        // The domain's rules do make some overdue and leave others (the test can fail both ways).
        #expect(overdueIDs.count > 0 && overdueIDs.count < expected.count)
        let (listed, total) = try await repository.read { records in
            try records.cases(CaseFilter(overdueOn: Self.today), try Page(limit: "10000", offset: nil))
        }
        #expect(Set(listed.map(\.caseId)) == overdueIDs)
        #expect(total == overdueIDs.count)
        let counts = try await repository.read { records in try records.counts(today: Self.today) }
        #expect(counts.overdue == overdueIDs.count)
        for state in DestinationCaseState.allCases {
            #expect(counts.byState[state] == expected.filter { $0.state == state }.count)
            // One state, overdue or not: the two filters combine.
            let (inState, inStateTotal) = try await repository.read { records in
                try records.cases(CaseFilter(state: state, overdueOn: Self.today), try Page(limit: "10000", offset: nil))
            }
            #expect(Set(inState.map(\.caseId)) == Set(expected.filter { $0.state == state && $0.overdue }.map(\.id)))
            #expect(inStateTotal == inState.count)
        }
        // Open cases of the person, other than one of them.
        let someone = expected[0].id
        let open = try await repository.read { records in try records.openCases(of: citizen, origin: nil, excluding: someone) }
        #expect(open == expected.filter { $0.id != someone && $0.state.isOpen }.count)
        // ... and with one origin only (a collection's holder).
        let openWithHangzhou = try await repository.read { records in try records.openCases(of: citizen, origin: OfficeCode("330100"), excluding: someone) }
        #expect(openWithHangzhou == expected.filter { $0.id != someone && $0.state.isOpen && $0.origin == "330100" }.count)
        #expect(openWithHangzhou > 0 && openWithHangzhou < open)
        // Pages: in submission order, the total counts every page.
        let (page, all) = try await repository.read { records in try records.cases(CaseFilter(), try Page(limit: "7", offset: "5")) }
        #expect(page.count == 7 && all == expected.count)
        let (everything, _) = try await repository.read { records in try records.cases(CaseFilter(), try Page(limit: "10000", offset: nil)) }
        #expect(page.map(\.caseId) == Array(everything.map(\.caseId)[5..<12]))
        #expect(everything.map(\.submittedOn) == everything.map(\.submittedOn).sorted())
    }

    @Test("origin: the overdue filter and the counts of the store agree with the domain for every state and due date", arguments: Backend.available)
    func originQuestions(_ backend: Backend) async throws {
        let opened = try await backend.open(OriginOffice.self)
        defer { Task { await opened.close() } }
        let repository = OriginRepository(store: opened.store)
        var expected: [(id: String, state: OriginCaseState, overdue: Bool)] = []
        var sequence = 0
        for state in OriginCaseState.allCases {
            for due in Self.dues.compactMap({ $0 }) {
                sequence += 1
                let record = CaseRecord(
                    caseId: CaseID().description, contactLetterNo: ContactLetterNumber(office: try OfficeCode("510100"), year: 2026, sequence: sequence).rawValue,
                    citizenId: "440300199005040221", destination: "510100", receivedOn: Self.today.description, dueOn: due.description,
                    state: state.rawValue, events: "[]", updatedAt: Date())
                try await repository.write { records in try records.insert(record) }
                expected.append((record.caseId, state, state.isOverdue(today: Self.today) { _ in due }))
            }
        }
        let overdueIDs = Set(expected.filter(\.overdue).map(\.id))
        #expect(overdueIDs.count > 0 && overdueIDs.count < expected.count)
        let (listed, total) = try await repository.read { records in
            try records.cases(CaseFilter(overdueOn: Self.today), try Page(limit: "10000", offset: nil))
        }
        #expect(Set(listed.map(\.caseId)) == overdueIDs && total == overdueIDs.count)
        let counts = try await repository.read { records in try records.counts(today: Self.today) }
        #expect(counts.overdue == overdueIDs.count)
        for state in OriginCaseState.allCases {
            #expect(counts.byState[state] == expected.filter { $0.state == state }.count)
        }
    }

    @Test("document numbers are gap-free: a number taken by a transaction that rolls back is issued again", arguments: Backend.available)
    func gapFreeNumbers(_ backend: Backend) async throws {
        let opened = try await backend.open(OriginOffice.self)
        defer { Task { await opened.close() } }
        let store = opened.store
        let office = try OfficeCode("440300")
        func take() async throws -> RemittanceID {
            try await store.write { transaction in try DocumentSequence.next(RemittanceID.self, office: office, year: 2026, in: transaction) }
        }
        let first = try await take()
        struct Abandon: Error {}
        await #expect(throws: Abandon.self) {
            try await store.write { transaction -> Int in
                _ = try DocumentSequence.next(RemittanceID.self, office: office, year: 2026, in: transaction)
                throw Abandon()
            }
        }
        let second = try await take()
        let nextYear = try await store.write { transaction in try DocumentSequence.next(RemittanceID.self, office: office, year: 2027, in: transaction) }
        #expect(first == RemittanceID(office: office, year: 2026, sequence: 1))
        #expect(second == RemittanceID(office: office, year: 2026, sequence: 2))
        #expect(nextYear == RemittanceID(office: office, year: 2027, sequence: 1))
    }

    @Test("a contribution history goes in as one batch and comes back in period order; a month recorded twice or a zero base is refused as a constraint", arguments: Backend.available)
    func originMonths(_ backend: Backend) async throws {
        let opened = try await backend.open(OriginOffice.self)
        defer { Task { await opened.close() } }
        let repository = OriginRepository(store: opened.store)
        let citizen = Support.citizenID(birth: "19900504", sequence: "022")
        try await repository.write { records in
            try records.save(PersonRecord(
                citizenId: citizen.rawValue, name: "张三", hukouProvince: "44", status: .contributing, arrearsFen: 0, pre1998Fen: 0,
                receivesPension: false, accountKind: .general, transferredBy: nil, updatedAt: Date()))
        }
        @Sendable func month(_ period: String, _ baseFen: Int = 600_000) -> MonthRecord {
            MonthRecord(citizenId: citizen.rawValue, period: period, baseFen: baseFen, employerRate: "16", personalRate: "8", placeCode: "440300")
        }
        // 300 months, handed over newest first.
        let periods = (0..<300).map { String(format: "%04d-%02d", 2000 + $0 / 12, 1 + $0 % 12) }
        let history = periods.reversed().enumerated().map { month($1, 600_000 + $0) }
        try await repository.write { records in
            try records.insert([])
            try records.insert(history)
        }
        let stored = try await repository.read { records in try records.monthRecords(of: citizen) }
        #expect(stored.map(\.period) == periods)
        #expect(stored.first?.baseFen == 600_299 && stored.last?.baseFen == 600_000 && stored.allSatisfy { $0.placeCode == "440300" && $0.employerRate == "16" })
        for refused in [[month("2030-01"), month("2000-01")], [month("2030-02", 0)]] {
            do {
                try await repository.write { records in try records.insert(refused) }
                Issue.record("\(refused.map(\.period)) was accepted")
            } catch {
                #expect(EventFailure.classify(error) == .record(reason: "constraint"), "\(error)")
            }
        }
        // A refused batch leaves nothing behind: not even its valid month.
        #expect(try await repository.read { records in try records.monthRecords(of: citizen) }.count == 300)
    }

    @Test("people, cards, history places, certificates and remittances round-trip through the destination's records", arguments: Backend.available)
    func destinationRoundTrip(_ backend: Backend) async throws {
        let opened = try await backend.open(DestinationOffice.self)
        defer { Task { await opened.close() } }
        let repository = DestinationRepository(store: opened.store)
        let citizen = Support.citizenID(birth: "19900504", sequence: "022")
        let shenzhen = try OfficeCode("440300")
        let person = DestinationPersonRecord(
            citizenId: citizen.rawValue, name: "张三", hukouProvince: "51", registeredOn: "2020-01-02", contributing: true, receivesPension: false,
            contributingSince: "2020-01", updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
        let caseRecord = DestinationCaseRecord(
            caseId: CaseID().description, citizenId: citizen.rawValue, name: "张三", hukouProvince: "51", origin: shenzhen.rawValue,
            submittedOn: "2026-06-15", state: DestinationCaseState.completed.rawValue, contactLetterNo: "CL-510100-2026-000007",
            certificateNo: nil, approvedTransfer: true, originDueOn: "2026-07-06", completionDueOn: nil, originTerminatedOn: "2026-06-16",
            events: "[]", updatedAt: Date(timeIntervalSince1970: 1_700_000_000), closedAt: Date(timeIntervalSince1970: 1_700_000_500))
        try await repository.write { records in
            try records.save(person)
            try records.save(person)  // a second save replaces
            try records.addCard(SocialSecurityCard(holder: citizen, issuer: shenzhen, issuedOn: try LocalDate("2015-03-01")))
            try records.addCard(SocialSecurityCard(holder: citizen, issuer: shenzhen, issuedOn: try LocalDate("2016-03-01")))  // one per issuer
            try records.insert(caseRecord)
            let place = HistoryPlaceRecord(placeCode: shenzhen.rawValue, accountKind: .general, months: 60, lastContribution: "2019-12")
            try records.addHistoryPlace(place, citizen: citizen.rawValue, sourceCase: caseRecord.caseId)
            try records.addHistoryPlace(place, citizen: citizen.rawValue, sourceCase: caseRecord.caseId)  // once per case and place
            try records.addCertificate(try CertificateNumber("PC-440300-2026-000001"), citizen: citizen, origin: shenzhen, issuedOn: try LocalDate("2026-06-01"))
            for (index, kind) in ["received", "refunded"].enumerated() {
                try records.addRemittance(RemittanceRow(
                    remittanceId: RemittanceID(office: shenzhen, year: 2026, sequence: index + 1), caseId: caseRecord.caseId, kind: kind,
                    amount: Money(fen: 100 + index), valueDate: try LocalDate("2026-06-16")))
            }
        }
        let (storedPerson, cards, places, certificates, storedCase, remittances) = try await repository.read { records in
            (try records.person(citizen), try records.cards(of: citizen), try records.historyPlaces(of: citizen),
             try records.certificates(of: citizen, from: shenzhen), try records.caseRecord(try CaseID(caseRecord.caseId)),
             try records.remittances(of: try CaseID(caseRecord.caseId)))
        }
        #expect(storedPerson?.name == "张三" && storedPerson?.contributing == true && storedPerson?.updatedAt == person.updatedAt)
        let firstCard = try LocalDate("2015-03-01")
        #expect(cards.count == 1 && cards[0].issuedOn == firstCard)
        #expect(places.count == 1 && places[0].months == 60 && places[0].accountKind == .general)
        #expect(certificates.map(\.rawValue) == ["PC-440300-2026-000001"])
        #expect(storedCase?.contactLetterNo == caseRecord.contactLetterNo && storedCase?.closedAt == caseRecord.closedAt)
        #expect(storedCase?.approvedTransfer == true && storedCase?.completionDueOn == nil)
        #expect(remittances.map(\.kind) == ["received", "refunded"] && remittances.map(\.amountFen) == [100, 101])
        // A remittance id posts once: the schema refuses the second, as a constraint (the data's fault).
        await #expect(throws: (any Error).self) {
            try await repository.write { records in
                try records.addRemittance(RemittanceRow(
                    remittanceId: RemittanceID(office: shenzhen, year: 2026, sequence: 1), caseId: caseRecord.caseId, kind: "received",
                    amount: Money(fen: 5), valueDate: try LocalDate("2026-06-16")))
            }
        }
        do {
            try await repository.write { records in
                try records.addRemittance(RemittanceRow(
                    remittanceId: RemittanceID(office: shenzhen, year: 2026, sequence: 1), caseId: caseRecord.caseId, kind: "received",
                    amount: Money(fen: 5), valueDate: try LocalDate("2026-06-16")))
            }
        } catch {
            #expect(EventFailure.classify(error) == .record(reason: "constraint"), "\(error)")
        }
    }

    @Test("after-commit actions run once the transaction has committed: never for a rolled-back savepoint or a failed transaction (issue 21, item 11: log lines of undone work)", arguments: Backend.available)
    func afterCommit(_ backend: Backend) async throws {
        let opened = try await backend.open(OriginOffice.self)
        defer { Task { await opened.close() } }
        let lines = Lines()
        try await opened.store.write { transaction in
            transaction.afterCommit { lines.add("kept") }
            do {
                try transaction.savepoint {
                    transaction.afterCommit { lines.add("undone with its savepoint") }
                    throw DomainError("refused", code: "test")
                }
            } catch is DomainError {}
            #expect(lines.all.isEmpty, "nothing runs before the commit")
        }
        #expect(lines.all == ["kept"])
        await #expect(throws: DomainError.self) {
            try await opened.store.write { transaction in
                transaction.afterCommit { lines.add("rolled back") }
                throw DomainError("refused", code: "test")
            }
        }
        #expect(lines.all == ["kept"])
    }

    @Test("the runtime's tables: the inbox claims an event once (undone with its savepoint), positions only move forward, the outbox parks and releases", arguments: Backend.available)
    func runtimeTables(_ backend: Backend) async throws {
        let opened = try await backend.open(OriginOffice.self)
        defer { Task { await opened.close() } }
        let store = opened.store
        struct Refused: Error {}
        let claims = try await store.write { transaction -> [Bool] in
            let first = try transaction.claimInbox(eventId: "e1", eventType: "t", topic: "in", partition: 0, offset: 1)
            let again = try transaction.claimInbox(eventId: "e1", eventType: "t", topic: "in", partition: 0, offset: 1)
            // A claim inside a savepoint that fails is undone with it.
            _ = try? transaction.savepoint { () throws -> Bool in
                _ = try transaction.claimInbox(eventId: "e2", eventType: "t", topic: "in", partition: 0, offset: 2)
                throw Refused()
            }
            let afterUndo = try transaction.claimInbox(eventId: "e2", eventType: "t", topic: "in", partition: 0, offset: 2)
            return [first, again, afterUndo]
        }
        #expect(claims == [true, false, true])
        let partition = TopicPartition("in", 3)
        try await store.write { transaction in try transaction.recordPositions([partition: 10]) }
        try await store.write { transaction in try transaction.recordPositions([partition: 5]) }
        #expect(try await store.read { transaction in try transaction.positions() } == [partition: 10])
        try await store.write { transaction in try transaction.probeWrite() }

        // Three events of case A, one of case B.
        let signer = Support.eventKeys.signers["440300"]!
        let caseA = CaseID()
        let caseB = CaseID()
        func completed(_ id: CaseID) throws -> CloudEvent {
            CloudEvent(
                source: try OfficeCode("440300"), recipient: try OfficeCode("510100"), time: Date(),
                event: .transferCompleted(TransferCompleted(
                    caseId: id, contactLetterNo: ContactLetterNumber(office: try OfficeCode("510100"), year: 2026, sequence: 1),
                    receivedTotal: Money(fen: 1), completedOn: try LocalDate("2026-06-15"))))
        }
        let events = [try completed(caseA), try completed(caseA), try completed(caseB), try completed(caseA)]
        try await store.write { transaction in for event in events { try transaction.appendToOutbox(event, topic: "out", signer: signer) } }
        let rows = try await store.read { transaction in try transaction.publishableOutbox(limit: 10) }
        #expect(rows.map(\.eventId) == events.map { $0.id.uuidString.lowercased() })
        #expect(rows.compactMap(\.seq) == rows.compactMap(\.seq).sorted() && rows.allSatisfy { $0.seq != nil })
        try await store.write { transaction in
            try transaction.markSent([(seq: rows[0].seq!, partition: 2, offset: 40)], at: Date())
            try transaction.park(seq: rows[1].seq!, reason: "too large")
        }
        // Case A's later events wait behind its parked one; case B's goes on.
        let (publishable, statistics, parked, sent) = try await store.read { transaction in
            (try transaction.publishableOutbox(limit: 10), try transaction.outboxStatistics(), try transaction.parkedOutbox(),
             try transaction.sentCount(eventType: nil))
        }
        #expect(publishable.map(\.eventId) == [rows[2].eventId])
        #expect(statistics.pending == 2 && statistics.parked == 1 && statistics.oldestUnsent != nil)
        #expect(parked.count == 1 && parked[0].reason == "too large" && parked[0].heldBehind == 1 && parked[0].bytes > 0)
        #expect(sent == 1)
        #expect(try await store.write { transaction in try transaction.release(seq: rows[1].seq!) })
        #expect(try await !store.write { transaction in try transaction.release(seq: rows[1].seq!) })
        #expect(try await store.read { transaction in try transaction.publishableOutbox(limit: 10) }.count == 3)
        // The stored bytes are the ones signed: payload and headers come back unchanged.
        #expect(rows[0].payload == (try events[0].data()))
    }
}

/// Lines an after-commit action wrote, for the test to read.
final class Lines: Sendable {
    private let values = Mutex<[String]>([])
    func add(_ line: String) { values.withLock { $0.append(line) } }
    var all: [String] { values.withLock { $0 } }
}
