import EventSigning
import Foundation
import Testing

/// `event-keys`, run as an operator runs it: the files it writes are the ones offices load.
@Suite("event-keys")
struct EventKeysToolTests {
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await Support.runTool("event-keys", arguments)
        return (result.status, String(decoding: result.output, as: UTF8.self) + result.error)
    }

    @Test("keygen, a second key for rotation, list and retire: the directory and private keys are what offices load; mistakes are refused")
    func rotationByHand() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("event-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("office-keys.json").path
        func key(_ name: String) -> String { folder.appendingPathComponent(name).path }

        #expect(try await run(["keygen", "--office", "440300", "--private-key", key("old.pem"), "--directory", directory]).status == 0)
        #expect(try await run(["keygen", "--office", "510100", "--private-key", key("chengdu.pem"), "--directory", directory]).status == 0)
        #expect(try await run(["keygen", "--office", "440300", "--private-key", key("new.pem"), "--directory", directory]).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: key("new.pem"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "private keys are readable by their owner only")

        let old = try EventSigner(pem: String(contentsOfFile: key("old.pem"), encoding: .utf8), office: "440300")
        let new = try EventSigner(pem: String(contentsOfFile: key("new.pem"), encoding: .utf8), office: "440300")
        var loaded = try EventKeyDirectory(json: Data(contentsOf: URL(fileURLWithPath: directory)))
        #expect(loaded.keys.map(\.id).sorted() == [old.keyID, new.keyID, loaded.keys.first { $0.office == "510100" }!.id].sorted())
        #expect(loaded.key(id: old.keyID)?.publicKey.rawRepresentation == old.publicKey.rawRepresentation)

        let listed = try await run(["list", "--directory", directory])
        #expect(listed.output.contains(old.keyID) && listed.output.contains(new.keyID) && !listed.output.contains("retired"))
        let retired = try await run(["retire", "--directory", directory, "--key-id", old.keyID])
        #expect(retired.status == 0 && !retired.output.contains("warning"))
        loaded = try EventKeyDirectory(json: Data(contentsOf: URL(fileURLWithPath: directory)))
        #expect(loaded.key(id: old.keyID)?.retired == true && loaded.key(id: new.keyID)?.retired == false)
        #expect(try await run(["list", "--directory", directory]).output.contains("\(old.keyID)  retired"))
        // Retiring an office's last key works, with a warning that it cannot start.
        #expect(try await run(["retire", "--directory", directory, "--key-id", new.keyID]).output.contains("no active key left"))

        // Mistakes: an existing private key, an unknown key id, a bad office code, a broken directory.
        let again = try await run(["keygen", "--office", "440300", "--private-key", key("old.pem"), "--directory", directory])
        #expect(again.status != 0 && again.output.contains("--force"))
        #expect(try await run(["retire", "--directory", directory, "--key-id", "440300-00000000"]).status != 0)
        #expect(try await run(["keygen", "--office", "44030", "--private-key", key("x.pem"), "--directory", directory]).status != 0)
        try Data("{\"keys\": [{\"office\": \"440300\", \"id\": \"x\", \"publicKey\": \"not base64\"}]}".utf8).write(to: URL(fileURLWithPath: key("broken.json")))
        let broken = try await run(["keygen", "--office", "440300", "--private-key", key("stray.pem"), "--directory", key("broken.json")])
        #expect(broken.status != 0 && broken.output.contains("publicKey"))
        #expect(!FileManager.default.fileExists(atPath: key("stray.pem")), "no private key is left behind for a directory that cannot take it")
        #expect(try await run(["list", "--directory", key("missing.json")]).status != 0)
    }
}
