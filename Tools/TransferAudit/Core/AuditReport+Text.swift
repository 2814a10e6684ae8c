import Foundation

extension AuditReport {
    /// The readable summary an operator reads.
    public func text(maxFindings: Int = 50) -> String {
        var lines: [String] = []
        func counts(_ dictionary: [String: Int]) -> String {
            dictionary.isEmpty ? "none" : dictionary.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        lines.append("transfer-audit as of \(asOf): \(recordsRead) records read, \(distinctEvents) distinct events, \(duplicateEvents) duplicate deliveries (same ce_id, absorbed by the inboxes)")
        if let signatures {
            lines.append("Signatures: \(signatures.verified) verified against the office key directory, \(signatures.refused) refused")
        }
        lines.append("Cases: \(cases.count), open \(openCases.count)")
        lines.append("  destination states: \(counts(casesByDestinationState))")
        lines.append("  origin states:      \(counts(casesByOriginState))")
        lines.append("Money: remitted \(money.remitted), refunded \(money.refunded), completed \(money.completedReceived), in flight \(money.inFlight): \(money.conserved ? "conserved" : "NOT conserved")")
        lines.append("Deadlines: met \(deadlines.met), breached \(deadlines.breached), pending \(deadlines.pending) (\(deadlines.provisional) provisional)")
        lines.append("Dead-letter records: \(deadLetters.count)" + (deadLetters.isEmpty ? "" : " (\(counts(Dictionary(grouping: deadLetters, by: \.reason).mapValues(\.count))))"))
        for entry in deadLetters.prefix(maxFindings) {
            lines.append("  \(entry.evidence): \(entry.reason) from \(entry.source) by \(entry.consumer)\(entry.detail.isEmpty ? "" : " - \(entry.detail)")")
        }
        if !rejected.isEmpty {
            lines.append("Rejected records (refused by the offices' rules, not counted): \(rejected.count)")
            for entry in rejected.prefix(maxFindings) {
                lines.append("  \(entry.evidence): \(entry.reason)\(entry.deadLettered ? " (dead-lettered)" : "") - \(entry.message)")
            }
        }
        if !openCases.isEmpty {
            lines.append("Open cases (not violations):")
            for open in openCases.prefix(maxFindings) {
                lines.append("  \(open.caseId): destination \(open.destinationState ?? "?"), origin \(open.originState ?? "-"), open \(open.openForDays ?? 0) days")
            }
            if openCases.count > maxFindings { lines.append("  ... \(openCases.count - maxFindings) more") }
        }
        for note in notes { lines.append("Note: \(note)") }
        let violations = self.violations
        let anomalies = findings.filter { $0.severity == .anomaly }
        lines.append("Findings: \(violations.count) violations, \(anomalies.count) anomalies")
        for finding in findings.prefix(maxFindings) {
            lines.append("  [\(finding.severity.rawValue)] \(finding.rule) case \(finding.caseId ?? "-"): \(finding.message)")
            for evidence in finding.evidence where !evidence.isEmpty { lines.append("      at \(evidence)") }
        }
        if findings.count > maxFindings { lines.append("  ... \(findings.count - maxFindings) more (use --format json)") }
        lines.append(isClean ? "Verdict: CLEAN" : "Verdict: \(violations.count) VIOLATION\(violations.count == 1 ? "" : "S")")
        return lines.joined(separator: "\n")
    }

    /// The report as JSON (keys sorted).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
