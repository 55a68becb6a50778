import Foundation
import PCITopology
import Testing

/// Bad inputs: every one is a `TopologyError` naming the file (never a crash or a hang).
@Suite struct LoaderErrorTests {
  /// Writes `data` to a temporary file and returns its path.
  static func temporaryFile(_ data: Data, name: String = "input.txt") throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "loader-errors-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try data.write(to: url)
    return url.path
  }

  @Test func nonexistentFile() {
    let path = "/nonexistent/\(UUID().uuidString).txt"
    #expect(throws: TopologyError.unreadable(path: path, reason: "no such file")) {
      try TopologyLoader.load(spec: path)
    }
  }

  @Test func directory() throws {
    let path = FileManager.default.temporaryDirectory.path
    do {
      _ = try TopologyLoader.load(spec: path)
      Issue.record("a directory loaded")
    } catch let error as TopologyError {
      guard case .unreadable(let errorPath, let reason) = error else {
        Issue.record("expected .unreadable, got \(error)")
        return
      }
      #expect(errorPath == path)
      #expect(reason.contains("directory"))
    }
  }

  @Test func emptyFile() throws {
    let path = try Self.temporaryFile(Data())
    #expect(throws: TopologyError.empty(path: path)) { try TopologyLoader.load(spec: path) }
  }

  @Test func binaryJunk() throws {
    // Deterministic junk (a seeded xorshift), starting with a control byte: random bytes that
    // happened to start with "{" would be read as a broken scenario file, a different (also
    // named) error, and made this test fail once in a few hundred runs.
    var state: UInt64 = 0x9e37_79b9_7f4a_7c15
    var bytes: [UInt8] = [0x01]
    for _ in 0..<100_000 {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      bytes.append(UInt8(truncatingIfNeeded: state))
    }
    let junk = Data(bytes + [0])
    let path = try Self.temporaryFile(junk, name: "junk.bin")
    do {
      _ = try TopologyLoader.load(spec: path)
      Issue.record("binary junk loaded")
    } catch let error as TopologyError {
      guard case .unrecognizedFormat(let errorPath, let detail) = error else {
        Issue.record("expected .unrecognizedFormat, got \(error)")
        return
      }
      #expect(errorPath == path)
      #expect(detail.contains("expected lspci -x/-xxx/-xxxx, lspci -vvv, lspci -tv, a scenario .json, or sysfs"))
    }
  }

  @Test func textThatIsNoListing() throws {
    let path = try Self.temporaryFile(Data("hello\nworld\n".utf8))
    #expect(throws: TopologyError.self) { try TopologyLoader.load(spec: path) }
    do {
      _ = try TopologyLoader.load(spec: path)
    } catch {
      #expect("\(error)".hasPrefix("\(path): unrecognised format"))
    }
  }

  /// Junk lines that lspci ignores (no header, no tree) and long lines without newlines.
  @Test func hugeLineWithoutNewline() throws {
    let path = try Self.temporaryFile(Data(repeating: UInt8(ascii: "a"), count: 2_000_000))
    #expect(throws: TopologyError.self) { try TopologyLoader.load(spec: path) }
  }

  @Test func truncatedDump() throws {
    let text = """
      00:00.0 Host bridge: Intel Corporation Device 4641 (rev 02)
      00: 86 80 41 46 06 00 90 20 02 00 00 06 00 00 00 00
      10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      20: 00 00 00 00 00 00 00 00 00 00 00 00 43 10 62 1c
      30: 00 00 00 00 e0 00 00 00 00 00 00 00 00 00 00 00

      00:01.0 PCI bridge: Intel Corporation Device 460d (rev 02)
      00: 86 80 0d 46 07 04 10 00 02 00 04 06 10 00 81 00
      10: 00 00 00 00 00 00 00 00 00 01 01
      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "truncated.txt")
    #expect(topology.count == 2)
    let bridge = try function(topology, "00:01.0")
    #expect(bridge.isBridge && bridge.isMultiFunction)
    #expect(bridge.secondaryBus == 1 && bridge.subordinateBus == 1)
    #expect(topology.warnings.contains { $0.line == 7 && $0.message.contains("27 bytes") })
    #expect(bridge.acs.isUnknown)
    #expect(try function(topology, "00:00.0").vendorID == 0x8086)
  }

  @Test func malformedRowInTheMiddle() throws {
    let text = """
      00:02.0 VGA compatible controller: Intel Corporation Device 46a6
      00: 86 80 a6 46 07 04 10 00 0c 00 00 03 00 00 00 00
      10: 04 00 00 7e 60 00 00 00 0c 00 00 40 pcilib: oops
      20: 01 50 00 00 00 00 00 00 00 00 00 00 43 10 62 1c
      30: 00 00 00 00 40 00 00 00 00 00 00 00 ff 01 00 00

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "mixed.txt")
    let gpu = try function(topology, "00:02.0")
    #expect(topology.warnings.count == 1)
    #expect(topology.warnings.first?.line == 3)
    #expect(topology.warnings.first?.description.hasPrefix("mixed.txt:3: malformed hex row for 0000:00:02.0") == true)
    // The 64-bit BAR 0 was read before the junk; BAR 2's high half (at 0x1c) was not.
    #expect(gpu.bars.first?.address == 0x60_7e00_0000)
    #expect(gpu.bars.contains { $0.isIO && $0.address == 0x5000 })
  }

  /// A block of junk rows gives a bounded number of warnings (no stderr flood).
  @Test func manyMalformedRowsAreSummarised() throws {
    var text = "00:00.0 Host bridge: Intel Corporation Device 4641\n"
    for row in 0..<1000 { text += "\(hex(row % 16 * 16, width: 2)): 86 80 zz\n" }
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "junk.txt")
    #expect(topology.count == 1)
    #expect(topology.warnings.count <= 25)
    #expect(topology.warnings.contains { $0.message.contains("980 more malformed hex rows") })
  }

  @Test func scenarioJSONGoesToTheScenarioLoader() throws {
    // Whatever the scenario loader says about this (it may not exist yet), it is not ours.
    do {
      _ = try TopologyLoader.load(data: Data("  {\"nope\": 1}".utf8), path: "x.json")
    } catch let error as TopologyError {
      if case .unrecognizedFormat(_, let detail) = error {
        #expect(!detail.contains("no lspci function header"))
      }
    } catch {}
  }

  @Test func headerLineOnlyFileIsText() throws {
    let topology = try TopologyLoader.load(
      data: Data("lspci --vvxxx\n00:00.0 Host bridge: Intel Corporation Device 4641\n".utf8), path: "one.txt")
    #expect(topology.count == 1)
  }
}
