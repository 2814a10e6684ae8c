import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// Request and response bodies of the origin office's HTTP API (see `openapi.yaml`).
enum OriginAPI {
    struct PersonInput: Decodable {
        var name: String
        var hukouProvince: ProvinceCode
        /// contributing (default), suspended or retired.
        var status: RelationshipStatus?
        var arrears: Money?
        var pre1998Account: Money?
        var receivesPension: Bool?
        var accountKind: AccountKind?
    }

    struct MonthInput: Decodable {
        var period: YearMonth
        var base: Money
        var employerRate: Rate
        var personalRate: Rate
        /// Where the month was paid, for months transferred in earlier (default: this office).
        var placeCode: OfficeCode?
    }

    struct MonthsInput: Decodable {
        var months: [MonthInput]
    }

    struct MonthsResult: Encodable {
        var added: Int
        var unchanged: Int
        var totalMonths: Int
    }

    struct SuspensionInput: Decodable {
        var on: LocalDate?
    }

    /// The step-1 materials of DOMAIN.md, recorded as document references.
    struct Materials: Codable {
        var identityDocument: String?
        var householdRegister: String?
        var laborContractTermination: String?
    }

    struct CertificateInput: Decodable {
        var destinationOffice: OfficeCode
        var materials: Materials?
    }

    struct CertificateResult: Encodable {
        var certificateNo: CertificateNumber
        var citizenId: CitizenID
        var destinationOffice: OfficeCode
        var insuredFrom: YearMonth
        var insuredTo: YearMonth
        var monthsPaid: Int
        var individualAccountBalance: Money
        var issuedOn: LocalDate
    }

    struct YearSummary: Encodable {
        var year: Int
        var months: Int
        var credited: Money
        var interest: Money
        var closingBalance: Money
    }

    struct PersonView: Encodable {
        var citizenId: CitizenID
        var name: String
        var hukouProvince: ProvinceCode
        var status: RelationshipStatus
        var accountKind: AccountKind
        var arrears: Money
        var receivesPension: Bool
        var transferredBy: String?
        var monthsPaid: Int
        var insuredFrom: YearMonth?
        var insuredTo: YearMonth?
        /// ④ as of today, when it can be computed.
        var individualAccountBalance: Money?
        /// Why the balance cannot be computed (e.g. a missing crediting rate).
        var balanceError: String?
        /// The yearly ledger: shown to auditors only.
        var ledger: [YearSummary]?
    }


    struct CaseView: Encodable {
        var caseId: String
        var contactLetterNo: String
        var citizenId: String
        var destinationOffice: String
        var state: OriginCaseState
        var receivedOn: String
        var deadline: Deadline
        var overdue: Bool
        var returnCodes: [ReturnCode]
        var form: InformationForm?
        var remitted: Money
        var remittances: [OfficeStorage.RemittanceView]
        /// A claim of the destination was refused against this office's books: staff review it.
        var needsReview: Bool
        var refusedClaims: [RefusedClaim]
        var timeline: [TimelineEntry]
    }

    struct RefusedClaim: Encodable {
        var eventId: String
        var reason: String
    }

    struct CaseSummary: Encodable, Sendable {
        var caseId: String
        var contactLetterNo: String
        var destinationOffice: String
        var state: String
        var receivedOn: String
        var dueOn: String
        var overdue: Bool
    }

}
