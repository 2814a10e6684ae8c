import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultRuns {
    /// Start-up as an operator meets it: a wrong setting or a busy port is a clear message and an
    /// immediate exit; a broker that is away is no reason to keep the HTTP port closed.
    @Suite("Office start-up")
    struct StartupTests {
        let client = Client()

        /// Runs the origin office with `environment` until it exits or `limit` passes (then kills it).
        func run(_ environment: [String: String], limit: Duration = .seconds(20)) async throws -> (status: Int32?, log: String, seconds: Double) {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("startup-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            var settings = ["OFFICE_CODE": "440300", "HTTP_PORT": String(freePort()), "DATABASE_PATH": folder.appendingPathComponent("o.sqlite").path,
                            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "LOG_LEVEL": "notice", "KAFKA_STATISTICS_INTERVAL_MS": "0",
                            "AUTH_PUBLIC_KEYS": Support.keys.publicKey,
                            "EVENT_SIGNING_KEY": Support.eventKeys.privateKeys["440300"]!, "EVENT_KEYS_FILE": Support.eventKeys.directory]
            settings.merge(environment) { $1 }
            let started = ContinuousClock.now
            let office = try OfficeExecutable("origin-office", environment: settings, port: Int(settings["HTTP_PORT"]!) ?? 0, log: folder.appendingPathComponent("log"))
            let status = await office.waitForExit(limit: limit)
            if status == nil {
                office.kill(SIGKILL)
                _ = await office.waitForExit(limit: .seconds(5))
            }
            let seconds = (ContinuousClock.now - started).seconds
            return (status, (try? String(contentsOf: office.log, encoding: .utf8)) ?? "", seconds)
        }

        @Test("a setting that cannot work stops the office at once (exit 2), naming it", arguments: [
            (["KAFKA_SSL_CA_LOCATION": "/nonexistent/ca.pem", "KAFKA_SECURITY_PROTOCOL": "ssl"], "KAFKA_SSL_CA_LOCATION"),
            (["KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"], "KAFKA_SASL_USERNAME"),
            (["KAFKA_SECURITY_PROTOCOL": "sasl_plaintext"], "KAFKA_SASL_MECHANISM"),
            (["KAFKA_BOOTSTRAP_SERVERS": "kafka:ninety"], "KAFKA_BOOTSTRAP_SERVERS"),
            (["KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1"], "KAFKA_BOOTSTRAP_SERVERS"),
            (["OFFICE_CODE": "440399"], "OFFICE_CODE"),
            (["HTTP_PORT": "70000"], "HTTP_PORT"),
            (["EVENT_SIGNING_KEY": ""], "EVENT_SIGNING_KEY"),
            (["EVENT_KEYS_FILE": "/nonexistent/keys.json"], "EVENT_KEYS_FILE"),
            // Another office's key: its events would be dead-lettered everywhere as bad-signature.
            (["EVENT_SIGNING_KEY": Support.eventKeys.privateKeys["510100"]!], "EVENT_SIGNING_KEY"),
        ])
        func badSettings(environment: [String: String], named setting: String) async throws {
            let (status, log, seconds) = try await run(environment)
            #expect(status == 2, "\(log)")
            #expect(log.contains(setting), "\(log)")
            #expect(seconds < 10, "exits by itself, long before the 20 s after which it would be killed")
        }

        @Test("a busy HTTP port: the office says which and exits 1 at once")
        func busyPort() async throws {
            let port = freePort()
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            #expect(bound == 0 && listen(fd, 5) == 0)
            let (status, log, seconds) = try await run(["HTTP_PORT": String(port)])
            #expect(status == 1)
            #expect(log.contains("HTTP port \(port)") && log.contains("already in use"), "\(log)")
            #expect(seconds < 10, "exits by itself, long before the 20 s after which it would be killed")
        }

        @Test("a database that cannot be opened: the office names its path and exits 1")
        func unopenableDatabase() async throws {
            let (status, log, _) = try await run(["DATABASE_PATH": "/proc/no-such-folder/office.sqlite"])
            #expect(status == 1)
            #expect(log.contains("/proc/no-such-folder/office.sqlite"), "\(log)")
        }

        @Test("with the broker away, the office serves HTTP within seconds and /health says what is missing")
        func brokerAwayAtStart() async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("away-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let port = freePort()
            let office = try OfficeExecutable(
                "origin-office",
                environment: ["OFFICE_CODE": "440300", "HTTP_PORT": String(port), "DATABASE_PATH": folder.appendingPathComponent("o.sqlite").path,
                              "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "LOG_LEVEL": "critical", "AUTH_PUBLIC_KEYS": Support.keys.publicKey,
                              "EVENT_SIGNING_KEY": Support.eventKeys.privateKeys["440300"]!, "EVENT_KEYS_FILE": Support.eventKeys.directory],
                port: port, log: folder.appendingPathComponent("log"))
            let started = ContinuousClock.now
            var health: (Int, [String: Any])?
            while ContinuousClock.now - started < .seconds(10) {
                if let (data, response) = try? await URLSession.shared.data(from: office.url.appendingPathComponent("health")) {
                    health = ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(ContinuousClock.now - started < .seconds(15), "HTTP served while Kafka is away (it took about 80 s before)")
            #expect(health?.0 == 503)
            #expect((health?.1["broker"] as? String ?? "").contains("unreachable"))
            #expect(try await client.call("GET", office.url.appendingPathComponent("v1/cases"))["total"] as? Int == 0, "reads work")
            office.kill(SIGTERM)
            #expect(await office.waitForExit(limit: .seconds(30)) == 0)
        }

        @Test("TLS against a plaintext broker fails fast, naming the setting", .enabled(if: Broker.servers != nil))
        func tlsAgainstPlaintext() async throws {
            let (status, log, seconds) = try await run(["KAFKA_BOOTSTRAP_SERVERS": try Broker.require(), "KAFKA_SECURITY_PROTOCOL": "ssl"])
            #expect(status == 1, "\(log)")
            #expect(log.contains("TLS handshake") && log.contains("KAFKA_SECURITY_PROTOCOL"), "\(log)")
            #expect(seconds < 20, "not after 30-60 s of time-outs")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
