import Foundation

/// The data of one event type: a Codable value with its schema, written once.
public protocol EventPayload: Codable, Hashable, Sendable {
    static var eventType: EventType { get }
    /// The JSON Schema of the encoded value (the source the schema files are generated from).
    static var schema: Schema { get }
    /// `ce_subject` and, for case events, the Kafka key.
    var subject: String { get }
    /// The case this event belongs to (`nil` for certificate events).
    var caseID: CaseID? { get }
}

/// A person as the documents name them.
public struct PersonRef: Codable, Hashable, Sendable {
    public var citizenId: CitizenID
    public var name: String
    public var sex: Sex
    public var birthDate: LocalDate
    public var hukouProvince: ProvinceCode

    public init(_ facts: PersonFacts) {
        citizenId = facts.citizenID
        name = facts.name
        sex = facts.sex
        birthDate = facts.birthDate
        hukouProvince = facts.hukouProvince
    }

    public var facts: PersonFacts { PersonFacts(citizenID: citizenId, name: name, hukouProvince: hukouProvince) }

    static let schema = Schema.object(
        properties: [
            "citizenId": .citizenID, "name": .nonEmpty, "sex": .string(enumeration: ["male", "female"]),
            "birthDate": .date, "hukouProvince": .province,
        ],
        required: ["citizenId", "name", "sex", "birthDate", "hukouProvince"])
}

/// An office as documents name it.
public struct OfficeRef: Codable, Hashable, Sendable {
    public var code: OfficeCode
    public var name: String

    public init(code: OfficeCode, name: String) {
        self.code = code
        self.name = name
    }

    public init(_ office: Office) { self.init(code: office.code, name: office.name) }

    static let schema = Schema.object(properties: ["code": .officeCode, "name": .nonEmpty], required: ["code", "name"])
}

extension BankAccount {
    static let schema = Schema.object(
        properties: ["bankName": .string(), "accountName": .string(), "accountNumber": .string()],
        required: ["bankName", "accountName", "accountNumber"])
}

extension PlaceMonths {
    static let schema = Schema.object(
        properties: ["placeCode": .officeCode, "months": .integer(minimum: 1), "lastMonth": .month],
        required: ["placeCode", "months", "lastMonth"])
}

extension LedgerRow {
    static let schema = Schema.object(
        properties: [
            "year": .integer(minimum: 1900), "placeCode": .officeCode, "months": .integer(minimum: 0),
            "monthlyBase": .money, "employerRate": .rate, "personalRate": .rate, "credited": .money,
            "interest": .money, "closingBalance": .money, "places": .array(of: PlaceMonths.schema),
        ],
        required: [
            "year", "placeCode", "months", "monthlyBase", "employerRate", "personalRate", "credited", "interest",
            "closingBalance",
        ])
}

extension ContributionMonth {
    static let schema = Schema.object(
        properties: ["period": .month, "base": .money, "employerRate": .rate, "personalRate": .rate, "placeCode": .officeCode],
        required: ["period", "base", "employerRate", "personalRate", "placeCode"])
}

extension InformationForm {
    static let schema = Schema.object(
        properties: [
            "accountKind": .string(enumeration: ["general", "temporary"]), "transferYear": .integer(minimum: 1998),
            "pre1998Account": .money, "accountThroughLastYear": .money, "currentYearPrincipal": .money,
            "individualAccountTotal": .money, "pooledFund": .money, "totalRemitted": .money,
            "ledger": .array(of: LedgerRow.schema), "months": .array(of: ContributionMonth.schema),
        ],
        required: [
            "accountKind", "transferYear", "pre1998Account", "accountThroughLastYear", "currentYearPrincipal",
            "individualAccountTotal", "pooledFund", "totalRemitted", "ledger",
        ],
        description: "lines ①-⑥ of the transfer information form and the yearly ledger")
}

/// Builds an object schema of a case event: `caseId` and the given properties, all required
/// except `optional`.
private func caseEventSchema(_ properties: [String: Schema], optional: Set<String> = []) -> Schema {
    var all = properties
    all["caseId"] = .uuid
    return .object(properties: all, required: all.keys.filter { !optional.contains($0) }.sorted())
}

// MARK: - destination → origin

/// Step 2: the destination accepts the application and asks the origin to transfer.
public struct ContactLetterIssued: EventPayload {
    public static let eventType = EventType.contactLetterIssued
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var person: PersonRef
    public var origin: OfficeRef
    public var destination: OfficeRef
    public var destinationAccount: BankAccount
    public var certificateNo: CertificateNumber?
    public var applicationDate: LocalDate
    public var issuedOn: LocalDate
    /// `collection`: the claiming place collects a temporary account at retirement; absent (or
    /// `transfer`): a transfer.
    public var purpose: LetterPurpose?

    public init(
        caseId: CaseID, contactLetterNo: ContactLetterNumber, person: PersonRef, origin: OfficeRef, destination: OfficeRef,
        destinationAccount: BankAccount, certificateNo: CertificateNumber?, applicationDate: LocalDate, issuedOn: LocalDate,
        purpose: LetterPurpose? = nil
    ) {
        self.purpose = purpose
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.person = person
        self.origin = origin
        self.destination = destination
        self.destinationAccount = destinationAccount
        self.certificateNo = certificateNo
        self.applicationDate = applicationDate
        self.issuedOn = issuedOn
    }

    public static let schema = caseEventSchema(
        [
            "contactLetterNo": .documentNumber("CL"), "person": PersonRef.schema, "origin": OfficeRef.schema,
            "destination": OfficeRef.schema, "destinationAccount": BankAccount.schema,
            "certificateNo": .documentNumber("PC"), "applicationDate": .date, "issuedOn": .date,
            "purpose": .string(enumeration: LetterPurpose.allCases.map(\.rawValue)),
        ], optional: ["certificateNo", "purpose"])
}

/// Step 2: the destination explains in writing why it does not send a letter.
public struct ApplicationRejected: EventPayload {
    public static let eventType = EventType.applicationRejected
    public var caseId: CaseID
    public var person: PersonRef
    public var origin: OfficeRef
    public var destination: OfficeRef
    public var reasons: [ReviewCode]
    public var decidedOn: LocalDate

    public init(caseId: CaseID, person: PersonRef, origin: OfficeRef, destination: OfficeRef, reasons: [ReviewCode], decidedOn: LocalDate) {
        self.caseId = caseId
        self.person = person
        self.origin = origin
        self.destination = destination
        self.reasons = reasons
        self.decidedOn = decidedOn
    }

    public static let schema = caseEventSchema([
        "person": PersonRef.schema, "origin": OfficeRef.schema, "destination": OfficeRef.schema,
        "reasons": .array(of: .string(enumeration: ReviewCode.allCases.map(\.rawValue)), minItems: 1), "decidedOn": .date,
    ])
}

/// Step 2 (D02): a temporary account opened at the destination; the origin keeps the relationship.
public struct TemporaryAccountOpened: EventPayload {
    public static let eventType = EventType.temporaryAccountOpened
    public var caseId: CaseID
    public var person: PersonRef
    public var origin: OfficeRef
    public var destination: OfficeRef
    public var reasons: [ReviewCode]
    public var openedOn: LocalDate

    public init(caseId: CaseID, person: PersonRef, origin: OfficeRef, destination: OfficeRef, openedOn: LocalDate) {
        self.caseId = caseId
        self.person = person
        self.origin = origin
        self.destination = destination
        self.reasons = [.temporaryAccount]
        self.openedOn = openedOn
    }

    public static let schema = caseEventSchema([
        "person": PersonRef.schema, "origin": OfficeRef.schema, "destination": OfficeRef.schema,
        "reasons": .array(of: .string(enumeration: ["D02"]), minItems: 1), "openedOn": .date,
    ])
}

/// Step 4: received funds differ from ⑥.
public struct ReconciliationDiscrepancyRaised: EventPayload {
    public static let eventType = EventType.reconciliationDiscrepancyRaised
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var expected: Money
    public var received: Money
    /// received − expected: negative for a shortfall, positive for an excess.
    public var difference: Money
    public var raisedOn: LocalDate

    public init(caseId: CaseID, contactLetterNo: ContactLetterNumber, expected: Money, received: Money, raisedOn: LocalDate) throws(DomainError) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.expected = expected
        self.received = received
        self.difference = try received - expected
        self.raisedOn = raisedOn
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"), "expected": .money, "received": .money, "difference": .signedMoney,
        "raisedOn": .date,
    ])
}

/// Step 4: the destination refunds an excess to the origin.
public struct ExcessRefunded: EventPayload {
    public static let eventType = EventType.excessRefunded
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var refundId: RemittanceID
    public var amount: Money
    public var payerAccount: BankAccount
    public var payeeAccount: BankAccount
    public var valueDate: LocalDate

    public init(
        caseId: CaseID, contactLetterNo: ContactLetterNumber, refundId: RemittanceID, amount: Money, payerAccount: BankAccount,
        payeeAccount: BankAccount, valueDate: LocalDate
    ) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.refundId = refundId
        self.amount = amount
        self.payerAccount = payerAccount
        self.payeeAccount = payeeAccount
        self.valueDate = valueDate
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"), "refundId": .documentNumber("RM"), "amount": .money,
        "payerAccount": BankAccount.schema, "payeeAccount": BankAccount.schema, "valueDate": .date,
    ])
}

/// Step 4: form and funds matched; history and account posted; the person is notified.
public struct TransferCompleted: EventPayload {
    public static let eventType = EventType.transferCompleted
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var receivedTotal: Money
    public var completedOn: LocalDate

    public init(caseId: CaseID, contactLetterNo: ContactLetterNumber, receivedTotal: Money, completedOn: LocalDate) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.receivedTotal = receivedTotal
        self.completedOn = completedOn
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"), "receivedTotal": .money, "completedOn": .date,
    ])
}

// MARK: - origin → destination

/// Step 0: the origin issues a payment certificate (参保缴费凭证). Keyed by the person, not a case.
public struct PaymentCertificateIssued: EventPayload {
    public static let eventType = EventType.paymentCertificateIssued
    public var certificateNo: CertificateNumber
    public var person: PersonRef
    public var origin: OfficeRef
    public var insuredFrom: YearMonth
    public var insuredTo: YearMonth
    public var monthsPaid: Int
    public var individualAccountBalance: Money
    public var issuedOn: LocalDate

    public init(
        certificateNo: CertificateNumber, person: PersonRef, origin: OfficeRef, insuredFrom: YearMonth, insuredTo: YearMonth,
        monthsPaid: Int, individualAccountBalance: Money, issuedOn: LocalDate
    ) {
        self.certificateNo = certificateNo
        self.person = person
        self.origin = origin
        self.insuredFrom = insuredFrom
        self.insuredTo = insuredTo
        self.monthsPaid = monthsPaid
        self.individualAccountBalance = individualAccountBalance
        self.issuedOn = issuedOn
    }

    public var subject: String { certificateNo.rawValue }
    public var caseID: CaseID? { nil }

    public static let schema = Schema.object(
        properties: [
            "certificateNo": .documentNumber("PC"), "person": PersonRef.schema, "origin": OfficeRef.schema,
            "insuredFrom": .month, "insuredTo": .month, "monthsPaid": .integer(minimum: 0),
            "individualAccountBalance": .money, "issuedOn": .date,
        ],
        required: [
            "certificateNo", "person", "origin", "insuredFrom", "insuredTo", "monthsPaid", "individualAccountBalance",
            "issuedOn",
        ])
}

/// Step 3: the origin cannot transfer and returns the letter.
public struct ContactLetterReturned: EventPayload {
    public static let eventType = EventType.contactLetterReturned
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var reasons: [ReturnCode]
    public var returnedOn: LocalDate

    public init(caseId: CaseID, contactLetterNo: ContactLetterNumber, reasons: [ReturnCode], returnedOn: LocalDate) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.reasons = reasons
        self.returnedOn = returnedOn
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"),
        "reasons": .array(of: .string(enumeration: ReturnCode.allCases.map(\.rawValue)), minItems: 1), "returnedOn": .date,
    ])
}

/// Step 3: the transfer information form (信息表).
public struct InfoFormIssued: EventPayload {
    public static let eventType = EventType.infoFormIssued
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var person: PersonRef
    public var form: InformationForm
    public var issuedOn: LocalDate

    public init(caseId: CaseID, contactLetterNo: ContactLetterNumber, person: PersonRef, form: InformationForm, issuedOn: LocalDate) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.person = person
        self.form = form
        self.issuedOn = issuedOn
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"), "person": PersonRef.schema, "form": InformationForm.schema,
        "issuedOn": .date,
    ])
}

/// Step 3 (and discrepancy settlement): money sent to the destination's account.
public struct FundsRemitted: EventPayload {
    public static let eventType = EventType.fundsRemitted
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var remittanceId: RemittanceID
    public var amount: Money
    public var payerAccount: BankAccount
    public var payeeAccount: BankAccount
    public var valueDate: LocalDate
    /// A supplementary remittance answering a shortfall.
    public var supplementary: Bool

    public init(
        caseId: CaseID, contactLetterNo: ContactLetterNumber, remittanceId: RemittanceID, amount: Money,
        payerAccount: BankAccount, payeeAccount: BankAccount, valueDate: LocalDate, supplementary: Bool = false
    ) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.remittanceId = remittanceId
        self.amount = amount
        self.payerAccount = payerAccount
        self.payeeAccount = payeeAccount
        self.valueDate = valueDate
        self.supplementary = supplementary
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"), "remittanceId": .documentNumber("RM"), "amount": .money,
        "payerAccount": BankAccount.schema, "payeeAccount": BankAccount.schema, "valueDate": .date,
        "supplementary": .boolean,
    ])
}

/// Step 3: the relationship at the origin is terminated (transferred out).
public struct OriginRelationshipTerminated: EventPayload {
    public static let eventType = EventType.originRelationshipTerminated
    public var caseId: CaseID
    public var contactLetterNo: ContactLetterNumber
    public var citizenId: CitizenID
    public var terminatedOn: LocalDate

    public init(caseId: CaseID, contactLetterNo: ContactLetterNumber, citizenId: CitizenID, terminatedOn: LocalDate) {
        self.caseId = caseId
        self.contactLetterNo = contactLetterNo
        self.citizenId = citizenId
        self.terminatedOn = terminatedOn
    }

    public static let schema = caseEventSchema([
        "contactLetterNo": .documentNumber("CL"), "citizenId": .citizenID, "terminatedOn": .date,
    ])
}

// MARK: - destination → origin of the same office

/// After a transfer into this city completes: the office's destination role hands what arrived to
/// its own origin role, so the person's record there carries it on at the next move (Social
/// Insurance Law Art. 19: periods accumulate; 2009 No. 66: the funds follow the person). Written
/// and read by the same office (`ce_source` = `ce_recipient`); a city that runs no origin service
/// leaves it unread in its origin inbox.
public struct RelationshipReceived: EventPayload {
    public static let eventType = EventType.relationshipReceived
    /// The destination's case that brought the relationship in.
    public var caseId: CaseID
    public var person: PersonRef
    /// The office it came from.
    public var from: OfficeRef
    public var accountKind: AccountKind
    /// ① as the form carried it.
    public var pre1998Account: Money
    /// The months the destination credited (counted), with their places: those it cleared as
    /// overlapping are left out.
    public var months: [ContributionMonth]
    public var completedOn: LocalDate

    public init(
        caseId: CaseID, person: PersonRef, from: OfficeRef, accountKind: AccountKind, pre1998Account: Money, months: [ContributionMonth],
        completedOn: LocalDate
    ) {
        self.caseId = caseId
        self.person = person
        self.from = from
        self.accountKind = accountKind
        self.pre1998Account = pre1998Account
        self.months = months
        self.completedOn = completedOn
    }

    public static let schema = Schema.object(
        properties: [
            "caseId": .uuid, "person": PersonRef.schema, "from": OfficeRef.schema,
            "accountKind": .string(enumeration: ["general", "temporary"]), "pre1998Account": .money,
            "months": .array(of: ContributionMonth.schema), "completedOn": .date,
        ],
        required: ["caseId", "person", "from", "accountKind", "pre1998Account", "months", "completedOn"])
}

/// Keyed by the case id; not a step of the case between two offices (`caseID` is `nil`), so the
/// audit judges it on its own.
extension RelationshipReceived { public var subject: String { caseId.description }; public var caseID: CaseID? { nil } }

// Case events share their subject and key: the case id.
extension ContactLetterIssued { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension ApplicationRejected { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension TemporaryAccountOpened { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension ReconciliationDiscrepancyRaised { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension ExcessRefunded { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension TransferCompleted { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension ContactLetterReturned { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension InfoFormIssued { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension FundsRemitted { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
extension OriginRelationshipTerminated { public var subject: String { caseId.description }; public var caseID: CaseID? { caseId } }
