import Foundation
import TransferDomain

/// A case as an office's database holds it.
public struct StoredCase: Sendable, Hashable {
    public var caseId: String
    public var state: String
    /// Received (destination) or remitted (origin), net of refunds.
    public var amount: Money

    public init(caseId: String, state: String, amount: Money) {
        self.caseId = caseId
        self.state = state
        self.amount = amount
    }
}

/// "Rebuild equals live": the cases an office stores against the cases rebuilt from the events.
public enum LiveComparison {
    /// Findings for every case whose stored state or amount differs from the rebuilt one, or
    /// that exists on one side only. Meaningful on a quiet system (no events in flight).
    public static func compare(_ report: AuditReport, stored: [StoredCase], role: OfficeRole, office: String) -> [Finding] {
        let rebuilt = report.cases.filter { role == .destination ? $0.destination == office : ($0.origin == office && $0.contactLetterNo != nil) }
        let rebuiltByID = Dictionary(rebuilt.map { ($0.caseId, $0) }, uniquingKeysWith: { first, _ in first })
        let storedByID = Dictionary(stored.map { ($0.caseId, $0) }, uniquingKeysWith: { first, _ in first })
        var findings: [Finding] = []
        // A destination case not reviewed yet (filed, or waiting for its certificate) has published nothing.
        let unpublished: Set<String> = [DestinationCaseState.submitted.rawValue, DestinationCaseState.awaitingCertificate.rawValue]
        for live in stored.sorted(by: { $0.caseId < $1.caseId }) {
            if role == .destination, unpublished.contains(live.state), rebuiltByID[live.caseId] == nil { continue }
            guard let case_ = rebuiltByID[live.caseId] else {
                findings.append(.init(severity: .violation, rule: "rebuild-equals-live", caseId: live.caseId, message: "the \(role.rawValue) office \(office) stores the case (\(live.state)) but the events do not show it", evidence: []))
                continue
            }
            let state = role == .destination ? case_.destinationState : case_.originState
            let amount = role == .destination ? case_.received : case_.remitted
            if state != live.state || amount != live.amount.description {
                findings.append(.init(
                    severity: .violation, rule: "rebuild-equals-live", caseId: live.caseId,
                    message: "stored \(live.state) \(live.amount), rebuilt \(state ?? "-") \(amount)", evidence: []))
            }
        }
        for case_ in rebuilt where storedByID[case_.caseId] == nil {
            findings.append(.init(severity: .violation, rule: "rebuild-equals-live", caseId: case_.caseId, message: "the events show the case but the \(role.rawValue) office \(office) does not store it", evidence: []))
        }
        return findings
    }
}
