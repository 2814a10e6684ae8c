import Foundation
import Testing

/// The module boundaries of DESIGN.md, checked on the sources.
@Suite("Architecture")
struct ArchitectureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func swiftFiles(under folder: String) -> [URL] {
        let base = root.appendingPathComponent(folder)
        guard let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    static func imports(of file: URL) -> [String] {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("import ") else { return nil }
            return String(trimmed.dropFirst("import ".count))
        }
    }

    @Test("the domain imports nothing but Foundation")
    func domainImportsOnlyFoundation() {
        let files = Self.swiftFiles(under: "Shared/TransferDomain")
        #expect(files.count > 10)
        for file in files {
            #expect(Self.imports(of: file).allSatisfy { $0 == "Foundation" }, "\(file.lastPathComponent): \(Self.imports(of: file))")
        }
    }

    @Test("only the Kafka module imports librdkafka")
    func onlyKafkaTouchesC() {
        for folder in ["Shared", "Services", "Tools", "Tests"] {
            for file in Self.swiftFiles(under: folder) where !file.path.contains("/Shared/Kafka/") {
                #expect(!Self.imports(of: file).contains("CRdKafka"), "\(file.path) imports CRdKafka")
            }
        }
    }

    @Test("a service's routes, handler and reviewer reach storage only through its repository: GRDB and SQL live in its *SQLite, *Postgres and *Schema files")
    func storageBehindRepositories() throws {
        let files = Self.swiftFiles(under: "Services")
        #expect(files.count > 10)
        for file in files {
            let name = file.lastPathComponent
            guard !name.hasSuffix("SQLite.swift"), !name.hasSuffix("Postgres.swift"), !name.hasSuffix("Schema.swift") else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!Self.imports(of: file).contains("GRDB"), "\(name) imports GRDB")
            for marker in ["sql:", "INSERT INTO", "SELECT ", "UPDATE "] {
                #expect(!text.contains(marker), "\(name) contains \(marker)")
            }
        }
    }
    @Test("the store is its own module: GRDB and PostgresNIO are imported only by the store's backend files and the services' backend files; the runtime imports no database library")
    func storeBoundary() throws {
        let databaseLibraries: Set<String> = ["GRDB", "PostgresNIO", "SQLite3", "CSQLite"]
        var checked = 0
        for folder in ["Shared", "Services", "Tools"] {
            for file in Self.swiftFiles(under: folder) {
                let path = file.path
                let name = file.lastPathComponent
                let allowed = path.contains("/Shared/OfficeStorage/SQLite/") || path.contains("/Shared/OfficeStorage/Postgres/")
                    || (path.contains("/Services/") && (name.hasSuffix("SQLite.swift") || name.hasSuffix("Postgres.swift") || name.hasSuffix("Schema.swift")))
                let used = Set(Self.imports(of: file)).intersection(databaseLibraries)
                if allowed { checked += used.isEmpty ? 0 : 1; continue }
                #expect(used.isEmpty, "\(path) imports \(used.sorted())")
            }
        }
        // The backend files are where the scan expects them (a moved folder would make this vacuous).
        #expect(checked >= 8, "only \(checked) backend files import a database library")
        // The store's backend-free files name no backend library either, and no service casts a
        // transaction to its backend: each backend's records come through StoreBackends.
        for file in Self.swiftFiles(under: "Services") + Self.swiftFiles(under: "Shared/OfficeRuntime") {
            let text = try String(contentsOf: file, encoding: .utf8)
            for cast in ["as? SQLiteTransaction", "as? PostgresTransaction", "is SQLiteTransaction", "is PostgresTransaction", "as! SQLiteTransaction", "as! PostgresTransaction"] {
                #expect(!text.contains(cast), "\(file.lastPathComponent) casts a transaction to its backend (\(cast))")
            }
        }
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let runtime = try #require(manifest.range(of: "name: \"OfficeRuntime\"")).upperBound
        let runtimeEnd = try #require(manifest.range(of: "path: \"Shared/OfficeRuntime\"", range: runtime..<manifest.endIndex)).lowerBound
        let runtimeTarget = manifest[runtime..<runtimeEnd]
        #expect(!runtimeTarget.contains("GRDB") && !runtimeTarget.contains("postgres-nio"), "OfficeRuntime depends on a database library in Package.swift")
    }

    @Test("every dead-letter reason an office or the audit can give is documented in docs/event-contract.md")
    func deadLetterReasonsDocumented() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/event-contract.md"), encoding: .utf8)
        // Reasons are the `code:` of a DomainError, a literal `reason:` of EventFailure, and the
        // `reason` of the intake errors (signature, decoding).
        let patterns = [#"code: "([a-z0-9]+(?:-[a-z0-9]+)*)""#, #"\.record\(reason: "([a-z0-9]+(?:-[a-z0-9]+)*)""#]
        var reasons: Set<String> = []
        for folder in ["Shared", "Services", "Tools"] {
            for file in Self.swiftFiles(under: folder) {
                let text = try String(contentsOf: file, encoding: .utf8)
                for pattern in patterns {
                    let regex = try NSRegularExpression(pattern: pattern)
                    for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                        if let range = Range(match.range(at: 1), in: text) { reasons.insert(String(text[range])) }
                    }
                }
                if file.lastPathComponent == "EventSignature.swift" || file.lastPathComponent == "CloudEvent.swift" {
                    let regex = try NSRegularExpression(pattern: #"return "([a-z]+(?:-[a-z]+)+|malformed)"$"#, options: .anchorsMatchLines)
                    for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                        if let range = Range(match.range(at: 1), in: text) { reasons.insert(String(text[range])) }
                    }
                }
            }
        }
        // The scan finds the reasons it must (a broken pattern would make this test vacuous).
        #expect(reasons.isSuperset(of: ["claim-mismatch", "constraint", "bad-signature", "unknown-major-version", "wrong-account", "wrong-office"]))
        for reason in reasons.sorted() {
            #expect(document.contains("`\(reason)`"), "dead-letter reason \(reason) is not in docs/event-contract.md")
        }
    }
}
