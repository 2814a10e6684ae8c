import Foundation
import OfficeRuntime
import OfficeStorage
import TransferDomain

/// Request and response bodies of the destination office's HTTP API (see `openapi.yaml`).
enum DestinationAPI {
    struct CardInput: Codable {
        var issuer: OfficeCode
        var issuedOn: LocalDate
    }

    struct PersonInput: Decodable {
        var name: String
        var hukouProvince: ProvinceCode
        var registeredOn: LocalDate
        var contributing: Bool?
        var receivesPension: Bool?
        /// First month contributed here (default: the registration month).
        var contributingSince: YearMonth?
        /// Cards the person already holds.
        var cards: [CardInput]?
    }

    struct PlaceView: Encodable {
        var placeCode: OfficeCode
        var accountKind: AccountKind
        var months: Int
        var lastContribution: YearMonth
    }

    /// A month a transfer brought in that this office already held from another place: counted
    /// once (at `keptAt`), its individual-account credit returned to the person.
    struct ClearedMonthView: Encodable {
        var period: YearMonth
        var placeCode: OfficeCode
        var keptAt: OfficeCode
        var returnedToPerson: Money
        var caseId: String
    }

    struct ClaimingPlaceView: Encodable {
        var rule: Int
        var office: OfficeCode?
        var province: ProvinceCode?
        var explanation: String
    }

    struct PersonView: Encodable {
        var citizenId: CitizenID
        var name: String
        var hukouProvince: ProvinceCode
        var registeredOn: LocalDate
        var contributing: Bool
        var cards: [CardInput]
        /// A card for this province was issued by this registration.
        var cardIssued: Bool
        var places: [PlaceView]
        /// Each calendar month once, whichever places paid it.
        var cumulativeMonths: Int
        /// Overlapping months cleared after a transfer ("transfer first, clear afterwards").
        var clearedMonths: [ClearedMonthView]
        /// Σ returnedToPerson over the cleared months.
        var returnedToPerson: Money
        var claimingPlace: ClaimingPlaceView
    }

    struct ApplicationInput: Decodable {
        var citizenId: CitizenID
        /// As on the application form; the registered name wins when the person is registered here.
        var name: String?
        var hukouProvince: ProvinceCode?
        var originOffice: OfficeCode
        var certificateNo: CertificateNumber?
        var approvedTransfer: Bool?
    }

    struct ApplicationResult: Encodable {
        var caseId: CaseID
        var state: DestinationCaseState
        var contactLetterNo: ContactLetterNumber?
        var reasons: [ReviewCode]
        /// For a collection: the office asked for its temporary account.
        var holderOffice: OfficeCode? = nil
    }

    /// At the claiming place, when the person reaches pension age: collect the temporary
    /// accounts `holderOffices` keep for them (one case per holder).
    struct CollectionInput: Decodable {
        var citizenId: CitizenID
        var holderOffices: [OfficeCode]
        /// A woman's original statutory pension age: `worker` (50, the default) or `staff` (55).
        var pensionCategory: PensionAge.Category?
    }

    struct CollectionResult: Encodable {
        var citizenId: CitizenID
        var cases: [ApplicationResult]
    }


    struct CaseView: Encodable {
        var caseId: String
        var purpose: LetterPurpose
        var citizenId: String
        var originOffice: String
        var state: DestinationCaseState
        var contactLetterNo: String?
        var submittedOn: String
        var reviewReasons: [ReviewCode]
        var returnReasons: [ReturnCode]
        var expected: Money?
        var received: Money
        var difference: Money?
        var originTerminatedOn: String?
        var deadlines: [String: Deadline]
        var originOverdue: Bool
        var remittances: [OfficeStorage.RemittanceView]
        var timeline: [TimelineEntry]
        /// When the case reached its terminal state (wall clock, RFC 3339 with milliseconds).
        var closedAt: String?
    }

    struct CaseSummary: Encodable, Sendable {
        var caseId: String
        var citizenId: String
        var originOffice: String
        var state: String
        var submittedOn: String
        var originDueOn: String?
        var overdue: Bool
        /// When the case reached its terminal state (wall clock, RFC 3339 with milliseconds).
        var closedAt: String?
    }

}
