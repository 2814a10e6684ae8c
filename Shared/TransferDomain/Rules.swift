/// Why the destination does not send a contact letter (DOMAIN.md, "Review rules at the destination").
public enum ReviewCode: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    /// Not registered and contributing at the destination.
    case notContributingHere = "D01"
    /// Temporary-account rule: a temporary account is opened instead of a transfer.
    case temporaryAccount = "D02"
    /// Already receives a basic pension.
    case receivesPension = "D03"
    /// The certificate number given does not match one the origin issued for the person.
    case certificateMismatch = "D04"
    /// A transfer for the same person is already open.
    case transferAlreadyOpen = "D05"
    /// Origin and destination are in the same province: no fund transfer is needed.
    case sameProvince = "D07"
    /// A collection before the person reaches pension age (``PensionAge``).
    case notAtPensionAge = "C01"
    /// A collection asked for by an office that is not the person's claiming place.
    case notClaimingPlace = "C02"

    public static func < (lhs: ReviewCode, rhs: ReviewCode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why the origin returns a contact letter (DOMAIN.md, "Checks at the origin").
public enum ReturnCode: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case stillContributing = "O01"
    case arrearsOutstanding = "O02"
    case personMismatch = "O03"
    case alreadyTerminated = "O04"
    case receivesPension = "O05"
    case bankDetailsInvalid = "O07"
    /// A collection letter, but this office holds no temporary account for the person (a general
    /// relationship moves by transfer, not by collection).
    case noTemporaryAccount = "O08"

    public static func < (lhs: ReturnCode, rhs: ReturnCode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Who the application is about, as the destination knows them.
public struct PersonFacts: Hashable, Sendable, Codable {
    public var citizenID: CitizenID
    public var name: String
    public var hukouProvince: ProvinceCode

    public init(citizenID: CitizenID, name: String, hukouProvince: ProvinceCode) {
        self.citizenID = citizenID
        self.name = name
        self.hukouProvince = hukouProvince
    }

    public var birthDate: LocalDate { citizenID.birthDate }
    public var sex: Sex { citizenID.sex }
}

/// Step 2 at the destination: send a contact letter, open a temporary account, or explain.
public enum DestinationReview {
    public struct Input: Sendable {
        public var person: PersonFacts
        public var origin: OfficeCode
        public var destination: OfficeCode
        /// When the person registered at the destination; `nil` if not registered (D01).
        public var registeredOn: LocalDate?
        public var contributingHere: Bool
        public var receivesPension: Bool
        /// The certificate number the applicant gave, if any.
        public var certificateNumber: CertificateNumber?
        /// Certificates the origin is known to have issued for this person.
        public var certificatesFromOrigin: Set<CertificateNumber>
        /// The certificate number given is one this office already holds, issued for another
        /// person or by another origin: it can never match, so there is nothing to wait for.
        public var certificateHeldForOther: Bool
        public var hasOpenTransfer: Bool
        /// An officially approved transfer (调动): the temporary-account rule does not apply.
        public var approvedTransfer: Bool

        public init(
            person: PersonFacts, origin: OfficeCode, destination: OfficeCode, registeredOn: LocalDate?,
            contributingHere: Bool, receivesPension: Bool = false, certificateNumber: CertificateNumber? = nil,
            certificatesFromOrigin: Set<CertificateNumber> = [], certificateHeldForOther: Bool = false, hasOpenTransfer: Bool = false,
            approvedTransfer: Bool = false
        ) {
            self.person = person
            self.origin = origin
            self.destination = destination
            self.registeredOn = registeredOn
            self.contributingHere = contributingHere
            self.receivesPension = receivesPension
            self.certificateNumber = certificateNumber
            self.certificatesFromOrigin = certificatesFromOrigin
            self.certificateHeldForOther = certificateHeldForOther
            self.hasOpenTransfer = hasOpenTransfer
            self.approvedTransfer = approvedTransfer
        }
    }

    public enum Outcome: Hashable, Sendable, Codable {
        case contactLetter
        case temporaryAccount
        case rejected([ReviewCode])
    }

    /// Decided here: every applicable rejection code is reported at once (D01, D03, D04, D05,
    /// D07), so the written explanation is complete; the temporary-account rule (D02) is only
    /// considered when nothing rejects, since it is an outcome, not a denial.
    public static func review(_ input: Input) -> Outcome {
        var codes: [ReviewCode] = []
        if input.registeredOn == nil || !input.contributingHere { codes.append(.notContributingHere) }
        if input.receivesPension { codes.append(.receivesPension) }
        if let number = input.certificateNumber, !input.certificatesFromOrigin.contains(number) {
            codes.append(.certificateMismatch)
        }
        if input.hasOpenTransfer { codes.append(.transferAlreadyOpen) }
        if input.origin.sameProvince(as: input.destination) { codes.append(.sameProvince) }
        if !codes.isEmpty { return .rejected(codes.sorted()) }
        if let registeredOn = input.registeredOn, temporaryAccountRuleApplies(input, registeredOn: registeredOn) {
            return .temporaryAccount
        }
        return .contactLetter
    }

    /// Whether the review should wait for the origin's certificate event instead of deciding
    /// now: the certificate number given is the only thing that fails (D04), and the
    /// certificate may simply not have arrived yet. A certificate this office already holds for
    /// someone else (or from another origin) will not arrive: D04 at once.
    public static func shouldWaitForCertificate(_ input: Input) -> Bool {
        !input.certificateHeldForOther && review(input) == .rejected([.certificateMismatch])
    }

    /// The temporary-account rule: at registration a man is 50 or older or a woman 40 or older,
    /// the destination is not the hukou province (a return there is exempt), and the move is not
    /// an approved transfer.
    public static func temporaryAccountRuleApplies(_ input: Input, registeredOn: LocalDate) -> Bool {
        let age = registeredOn.years(since: input.person.birthDate)
        let threshold = input.person.sex == .male ? 50 : 40
        return age >= threshold && input.destination.province != input.person.hukouProvince && !input.approvedTransfer
    }
}

/// The origin's relationship with a person.
public enum RelationshipStatus: String, Codable, Sendable, Hashable {
    case contributing, suspended, transferred, retired
}

/// Step 3 at the origin: answer a contact letter, return it, or recognise a duplicate.
public enum OriginCheck {
    public struct Relationship: Sendable {
        public var citizenID: CitizenID
        public var name: String
        public var status: RelationshipStatus
        public var arrears: Money
        public var receivesPension: Bool
        /// The contact letter that transferred the relationship out, once it has.
        public var transferredBy: ContactLetterNumber?
        public var kind: AccountKind

        public init(
            citizenID: CitizenID, name: String, status: RelationshipStatus, arrears: Money = .zero,
            receivesPension: Bool = false, transferredBy: ContactLetterNumber? = nil, kind: AccountKind = .general
        ) {
            self.citizenID = citizenID
            self.name = name
            self.status = status
            self.arrears = arrears
            self.receivesPension = receivesPension
            self.transferredBy = transferredBy
            self.kind = kind
        }
    }

    public struct Letter: Sendable {
        public var number: ContactLetterNumber
        public var citizenID: CitizenID
        public var name: String
        public var destinationAccount: BankAccount
        /// The account is the one the office directory has for the destination (a letter asking
        /// for the money to go anywhere else is returned with O07).
        public var accountInDirectory: Bool
        /// The payment certificate the letter names, if any, is one this office issued for this
        /// person (a certificate of someone else, or not ours, is an identity mismatch: O03).
        public var certificateMatches: Bool
        /// A collection asks for a temporary account only (O08 otherwise).
        public var purpose: LetterPurpose

        public init(
            number: ContactLetterNumber, citizenID: CitizenID, name: String, destinationAccount: BankAccount, accountInDirectory: Bool = true,
            certificateMatches: Bool = true, purpose: LetterPurpose = .transfer
        ) {
            self.purpose = purpose
            self.number = number
            self.citizenID = citizenID
            self.name = name
            self.destinationAccount = destinationAccount
            self.accountInDirectory = accountInDirectory
            self.certificateMatches = certificateMatches
        }
    }

    public enum Outcome: Hashable, Sendable {
        /// Produce the form, remit and terminate.
        case transfer
        /// The same letter again: already answered, nothing to do.
        case duplicate
        case returned([ReturnCode])
    }

    /// - Parameter relationship: the origin's record for the letter's citizen ID, if any.
    public static func check(_ letter: Letter, relationship: Relationship?) -> Outcome {
        guard let relationship, relationship.citizenID == letter.citizenID,
              relationship.name.trimmingWhitespace == letter.name.trimmingWhitespace, letter.certificateMatches
        else {
            return .returned([.personMismatch])
        }
        if relationship.status == .transferred, relationship.transferredBy == letter.number {
            return .duplicate
        }
        var codes: [ReturnCode] = []
        if relationship.status == .contributing { codes.append(.stillContributing) }
        if relationship.arrears > .zero { codes.append(.arrearsOutstanding) }
        if relationship.status == .transferred { codes.append(.alreadyTerminated) }
        if relationship.status == .retired || relationship.receivesPension { codes.append(.receivesPension) }
        if !letter.destinationAccount.isValid || !letter.accountInDirectory { codes.append(.bankDetailsInvalid) }
        if letter.purpose == .collection && relationship.kind != .temporary { codes.append(.noTemporaryAccount) }
        return codes.isEmpty ? .transfer : .returned(codes.sorted())
    }
}

/// Where the pension is finally claimed and paid (DOMAIN.md, "Where the pension is finally paid").
public enum ClaimingPlace {
    public struct Place: Hashable, Sendable, Codable {
        public var office: OfficeCode
        public var kind: AccountKind
        public var contributionMonths: Int
        /// The last month contributed there; orders places in time.
        public var lastContribution: YearMonth

        public init(office: OfficeCode, kind: AccountKind, contributionMonths: Int, lastContribution: YearMonth) {
            self.office = office
            self.kind = kind
            self.contributionMonths = contributionMonths
            self.lastContribution = lastContribution
        }
    }

    public enum Decision: Hashable, Sendable {
        /// Rule 1: the general relationship in the hukou province.
        case hukouPlace(OfficeCode)
        /// Rule 2: the current place, with 10 or more years.
        case currentPlace(OfficeCode)
        /// Rule 3: the most recent earlier place with 10 or more years.
        case earlierPlace(OfficeCode)
        /// Rule 4: everything is collected in the hukou province.
        case hukouProvince(ProvinceCode)

        public var rule: Int {
            switch self {
            case .hukouPlace: return 1
            case .currentPlace: return 2
            case .earlierPlace: return 3
            case .hukouProvince: return 4
            }
        }
    }

    public static let qualifyingMonths = 120

    /// Decides the claiming place (2009 No. 66, Art. 6).
    ///
    /// Spells at the same office are one place: their months are summed and the latest month
    /// orders the place in time. Rule 1 applies when the basic (general) relationship *is now*
    /// in the hukou province, that is when the most recent general place is there; an earlier
    /// spell in the hukou province does not make it the claiming place once the relationship
    /// has moved on.
    /// - Parameter places: every spell the person contributed, in any order; the most recent
    ///   general one is the current place. Temporary-account places never qualify.
    public static func decide(places: [Place], hukouProvince: ProvinceCode) -> Decision {
        var merged: [Place] = []
        for place in places where place.kind == .general && place.contributionMonths > 0 {
            if let index = merged.firstIndex(where: { $0.office == place.office }) {
                merged[index].contributionMonths += place.contributionMonths
                merged[index].lastContribution = max(merged[index].lastContribution, place.lastContribution)
            } else {
                merged.append(place)
            }
        }
        let general = merged.sorted { $0.lastContribution > $1.lastContribution }
        guard let current = general.first else { return .hukouProvince(hukouProvince) }
        if current.office.province == hukouProvince {
            return .hukouPlace(current.office)
        }
        if current.contributionMonths >= qualifyingMonths {
            return .currentPlace(current.office)
        }
        if let earlier = general.dropFirst().first(where: { $0.contributionMonths >= qualifyingMonths }) {
            return .earlierPlace(earlier.office)
        }
        return .hukouProvince(hukouProvince)
    }
}
