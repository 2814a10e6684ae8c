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
}
