import Testing
@testable import TransferDomain

/// The schemas' patterns are matched byte by byte (``Shape``) instead of by ICU: both must agree on
/// every string, the near misses above all.
@Suite("Schema patterns: the byte-by-byte shapes agree with NSRegularExpression")
struct CompiledPatternTests {
    /// Every pattern the contract's schemas use.
    static let patterns: [String] = {
        var patterns: [Schema] = [.money, .signedMoney, .date, .month, .rate, .citizenID, .officeCode, .province, .uuid]
        patterns += ["CL", "PC", "RM"].map(Schema.documentNumber)
        return patterns.compactMap { if case .string(let pattern, _, _) = $0 { pattern } else { nil } }
    }()

    /// Valid values of each shape, and edits of them: one character changed, dropped, doubled or
    /// added at either end, from an alphabet of the characters that matter.
    static func candidates() -> [String] {
        let seeds = [
            "0.00", "12.34", "1234567890123.45", "12345678901234.56", "-0.01", "-12.00", "00.00", "01.00", "1.0", "1.000", ".50", "1.",
            "2026-06-15", "2026-06", "16", "8.5", "100.1234", "1000", "1.12345", "0", "440300", "44", "4403001", "44030019850312071X",
            "440300198503120712", "3f2a9c1d-0b1e-4c2d-9e8f-aabbccddeeff", "CL-510100-2026-000001", "PC-440300-2026-000042",
            "RM-440300-2025-000003", "XX-440300-2025-000003", "", "-", "X",
        ]
        let alphabet: [Character] = ["0", "1", "9", "-", ".", "X", "x", "a", "F", "g", " ", "C", "L"]
        var out = Set(seeds)
        for seed in seeds {
            let characters = Array(seed)
            for index in characters.indices {
                var dropped = characters
                dropped.remove(at: index)
                out.insert(String(dropped))
                var doubled = characters
                doubled.insert(characters[index], at: index)
                out.insert(String(doubled))
                for replacement in alphabet {
                    var changed = characters
                    changed[index] = replacement
                    out.insert(String(changed))
                }
            }
            for extra in alphabet {
                out.insert(String(extra) + seed)
                out.insert(seed + String(extra))
            }
        }
        return out.sorted()
    }

    @Test("every contract pattern has a shape, and shape and expression agree on thousands of near misses and valid values")
    func agree() {
        let strings = Self.candidates()
        var accepted = 0
        for pattern in Self.patterns {
            #expect(Shape.of(pattern) != nil, "no shape for \(pattern)")
            for string in strings {
                let byShape = CompiledPattern.matches(pattern, string)
                #expect(byShape == CompiledPattern.matchesByExpression(pattern, string), "\(pattern) on \"\(string)\"")
                if byShape { accepted += 1 }
            }
        }
        // The comparison covers both answers, not only refusals.
        #expect(accepted > 100 && strings.count > 2000, "\(accepted) accepted of \(strings.count * Self.patterns.count)")
    }

    @Test("a pattern outside the contract still goes to NSRegularExpression")
    func otherPatterns() {
        #expect(Shape.of(#"\S"#) == nil)
        #expect(CompiledPattern.matches(#"\S"#, " a ") && !CompiledPattern.matches(#"\S"#, "   "))
    }
}
