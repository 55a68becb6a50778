import Assets
import ExplorerCLI
import Foundation
import P2PDMA
import PCITopology
import Testing

/// Property test for issue 5: every loader returns a topology or a typed error on any byte
/// sequence, and whatever loads can be drawn and decided on without traps or endless walks.
///
/// Inputs are real captures (when `../shared/data/real` is beside the checkout), the built-in
/// scenarios and a dump written here, mutated with a seeded generator so a failure reproduces.
/// `DMABUF_FUZZ_ITERATIONS` (default 1500) and `DMABUF_FUZZ_SEED` make longer local runs:
/// `DMABUF_FUZZ_ITERATIONS=200000 swift test -c release --filter RobustnessFuzz`.
@Suite struct RobustnessFuzzTests {
  static let iterations = ProcessInfo.processInfo.environment["DMABUF_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1500
  static let seed = ProcessInfo.processInfo.environment["DMABUF_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5eed_d3a_b0f

  @Test func mutatedInputsNeverTrap() throws {
    let corpus = Self.corpus()
    #expect(!corpus.isEmpty)
    var random = SplitMix64(seed: Self.seed)
    var loaded = 0
    var rejected = 0
    for iteration in 0..<Self.iterations {
      let (name, original) = corpus[Int(random.next() % UInt64(corpus.count))]
      let window = Self.window(of: original, random: &random)
      let mutant = Self.mutate(window, random: &random)
      let path = "fuzz-\(iteration)-\(name)"
      do {
        let topology = try TopologyLoader.load(data: Data(mutant), path: path)
        loaded += 1
        Self.exercise(topology, random: &random)
      } catch let error as TopologyError {
        rejected += 1
        // The message must name the input it is about.
        let text = error.description
        #expect(text.contains(path) || text.contains("fuzz-"), "message does not name the file: \(text)")
      } catch {
        Issue.record("untyped error for \(path): \(error)")
      }
    }
    print("fuzz: \(Self.iterations) inputs, \(loaded) loaded, \(rejected) rejected with a message")
    #expect(loaded > 0 && rejected > 0, "the mutations should produce both outcomes")
  }

  @Test func impossibleTopologiesLoadWithWarnings() throws {
    // Two bridges claim bus 01, and bus 02's bridge sits on bus 03 whose bridge sits on bus 02.
    let functions = [
      Self.bridge(BDF(bus: 0, device: 1, function: 0), secondary: 1, subordinate: 1),
      Self.bridge(BDF(bus: 0, device: 2, function: 0), secondary: 1, subordinate: 1),
      Self.bridge(BDF(bus: 2, device: 0, function: 0), secondary: 3, subordinate: 3),
      Self.bridge(BDF(bus: 3, device: 0, function: 0), secondary: 2, subordinate: 2),
      PCIFunction(bdf: BDF(bus: 1, device: 0, function: 0), vendorID: 0x1002, deviceID: 0x73ff, classCode: 0x030000),
      PCIFunction(bdf: BDF(bus: 3, device: 1, function: 0), vendorID: 0x15b3, deviceID: 0x101b, classCode: 0x020700),
    ]
    let topology = Topology(functions: functions, source: TopologySource(kind: .generated, location: "test"))
    #expect(topology.warnings.contains { $0.message.contains("claimed by two bridges") })
    #expect(topology.warnings.contains { $0.message.contains("bridge loop") })
    for index in 0..<topology.count {
      #expect(topology.pathToRoot(from: index).count <= topology.count)
    }
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))
    let verdict = try engine.verdict(
      provider: BDF(bus: 1, device: 0, function: 0), client: BDF(bus: 3, device: 1, function: 0))
    #expect(verdict.mapType != .unknown)
    #expect(!TreeRenderer.render(topology).isEmpty)
  }

  // MARK: - Special files (issue 13)

  /// Devices, FIFOs, directories and links as inputs: each is refused or read within the limit,
  /// quickly; none hangs or grows without bound.
  @Test func specialFilesAreRefusedOrBounded() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-special-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let loop = directory.appendingPathComponent("loop").path
    try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
    let dangling = directory.appendingPathComponent("dangling").path
    try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory.path + "/nothing")
    let toZero = directory.appendingPathComponent("zero-link").path
    try FileManager.default.createSymbolicLink(atPath: toZero, withDestinationPath: "/dev/zero")
    let endlessFIFO = directory.appendingPathComponent("endless").path
    #expect(mkfifo(endlessFIFO, 0o600) == 0)
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: "/bin/sh")
    writer.arguments = ["-c", "yes '00: 86 80 a2 09' > '\(endlessFIFO)'"]
    try writer.run()
    defer { writer.terminate() }
    let limit = 1 << 20
    for path in [
      "/dev/null", "/dev/zero", "/dev/urandom", "/dev/full", directory.path, loop, dangling, toZero, endlessFIFO,
    ] {
      let started = Date()
      do {
        let bytes = try BoundedRead.readFile(path: path, limit: limit)
        #expect(bytes.count <= limit, "\(path): read \(bytes.count) bytes")
      } catch let error as TopologyError {
        #expect(error.description.contains(path), "\(error)")
        #expect(!error.description.contains("NSCocoaErrorDomain"), "\(error)")
      }
      #expect(Date().timeIntervalSince(started) < 20, "\(path) took too long")
    }
  }

  // MARK: - Write failures (issue 13)

  /// Random commands into a full device, a closed pipe with SIGPIPE ignored, or a closed stdout:
  /// always one line on stderr and exit 1, never a trap or a silent exit 0.
  @Test func writeFailuresAreReported() throws {
    let binary = try CLI.requireBinary()
    let commands = [
      "tree", "tree --format json", "matrix", "matrix --format json", "scenarios", "generate --functions 2000",
      "explain --provider 03:00.0 --client 04:00.0", "simulate --exporter 03:00.0 --importer 04:00.0 --format json",
    ]
    let sinks = [
      (">/dev/full", "no space left on device"), (">&-", "it is closed"),
      ("| (exec 0<&-; sleep 0.3)", "the reader closed the pipe (broken pipe)"),
    ]
    var random = SplitMix64(seed: Self.seed)
    for _ in 0..<max(6, Self.iterations / 250) {
      let command = commands[Int(random.next() % UInt64(commands.count))]
      let (sink, words) = sinks[Int(random.next() % UInt64(sinks.count))]
      let script = "trap '' PIPE; ulimit -v 4000000; '\(binary)' \(command) \(sink); exit ${PIPESTATUS[0]}"
      let (status, _, stderr) = try CLI.run(executable: "/bin/bash", ["-c", script])
      #expect(status == 1, "\(command) \(sink): exit \(status), stderr \(stderr)")
      #expect(stderr == "dmabuf-explorer: cannot write to standard output: \(words)\n", "\(command) \(sink): \(stderr)")
    }
  }

  // MARK: - Corpus

  static func corpus() -> [(String, [UInt8])] {
    var corpus: [(String, [UInt8])] = []
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let real = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/real")
    if let names = try? FileManager.default.contentsOfDirectory(atPath: real.path) {
      for name in names.sorted() where name.hasSuffix(".txt") {
        if let data = FileManager.default.contents(atPath: real.appendingPathComponent(name).path) {
          corpus.append((name, Array(data)))
        }
      }
    } else {
      print("fuzz: ../shared/data/real not found; fuzzing built-in scenarios and a synthetic dump only")
    }
    for name in BuiltinAssets.scenarioNames {
      if let data = BuiltinAssets.scenarioData(named: name) { corpus.append((name + ".json", Array(data))) }
    }
    corpus.append(("synthetic-dump", Array(syntheticDump().utf8)))
    return corpus
  }

  /// A small hex dump with a root port, a switch and two endpoints, written here so the test has
  /// a dump even without the real captures.
  static func syntheticDump() -> String {
    func block(_ bdf: String, _ bytes: [Int: UInt8]) -> String {
      var config = [UInt8](repeating: 0, count: 256)
      for (offset, value) in bytes { config[offset] = value }
      var lines = ["\(bdf) Device"]
      for row in stride(from: 0, to: 256, by: 16) {
        let hexBytes = config[row..<row + 16].map { hex($0, width: 2) }.joined(separator: " ")
        lines.append("\(hex(row, width: 2)): \(hexBytes)")
      }
      return lines.joined(separator: "\n") + "\n\n"
    }
    let bridgeHeader: [Int: UInt8] = [0: 0x22, 1: 0x10, 2: 0x33, 3: 0x33, 0x0b: 0x06, 0x0a: 0x04, 0x0e: 0x01]
    var out = block("00:01.0", bridgeHeader.merging([0x18: 0, 0x19: 1, 0x1a: 3]) { $1 })
    out += block("01:00.0", bridgeHeader.merging([0x18: 1, 0x19: 2, 0x1a: 3]) { $1 })
    out += block("02:00.0", bridgeHeader.merging([0x18: 2, 0x19: 3, 0x1a: 3]) { $1 })
    out += block("03:00.0", [0: 0x02, 1: 0x10, 2: 0xbf, 3: 0x73, 0x0b: 0x03, 0x10: 0x0c, 0x13: 0xe0])
    return out
  }

  /// A slice of at most ~400 lines starting at a block boundary, so thousands of inputs stay fast.
  static func window(of bytes: [UInt8], random: inout SplitMix64) -> [UInt8] {
    guard bytes.count > 24_000 else { return bytes }
    var blockStarts: [Int] = [0]
    var index = 0
    while index < bytes.count - 1 {
      if bytes[index] == 0x0a && bytes[index + 1] == 0x0a { blockStarts.append(index + 2) }
      index += 1
    }
    let start = blockStarts[Int(random.next() % UInt64(blockStarts.count))]
    let end = min(bytes.count, start + 24_000)
    return Array(bytes[start..<end])
  }

  static func mutate(_ input: [UInt8], random: inout SplitMix64) -> [UInt8] {
    var bytes = input
    let rounds = 1 + Int(random.next() % 4)
    for _ in 0..<rounds {
      guard !bytes.isEmpty else { return Array("\u{0}\u{ff}junk".utf8) }
      let position = Int(random.next() % UInt64(bytes.count))
      switch random.next() % 11 {
      case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())  // flipped byte
      case 1: bytes.removeSubrange(position...)  // truncation
      case 2:  // junk line, like stderr mixed into stdout
        bytes.insert(contentsOf: Array("\npcilib: sysfs_read_vpd: read failed: No such device\n".utf8), at: position)
      case 3:  // a duplicated block: duplicate BDFs
        let end = min(bytes.count, position + Int(random.next() % 2000))
        bytes.insert(contentsOf: bytes[position..<end], at: end)
      case 4:  // all-ones row: 2^64-sized BARs, powered-off functions
        bytes.insert(contentsOf: Array("\n10: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff\n".utf8), at: position)
      case 5:  // bus numbers pointing anywhere: loops and double claims
        bytes.insert(
          contentsOf: Array("\n10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n18: 05 05 02\n".utf8), at: position)
      case 6: bytes.removeSubrange(position..<min(bytes.count, position + Int(random.next() % 400)))
      case 7:  // non-hex inside hex
        bytes.insert(contentsOf: Array("zz: qq 0x -1 \u{7f}".utf8), at: position)
      case 8:  // absurd numbers in text and JSON
        bytes.insert(
          contentsOf: Array(" [size=18446744073709551615] \"size\": 99999999999999999999999 ".utf8), at: position)
      case 9:  // terminal controls in names and rows: title, clear, hide cursor, C1 CSI, DEL, BEL
        let controls = ["\u{1b}]0;pwned\u{07}", "\u{1b}[2J", "\u{1b}[?25l", "\u{9b}31m", "\u{7f}", "\r", "\u{0}"]
        bytes.insert(contentsOf: Array(controls[Int(random.next() % UInt64(controls.count))].utf8), at: position)
      default:  // a very long line
        bytes.insert(contentsOf: [UInt8](repeating: 0x61, count: 70_000), at: position)
      }
    }
    return bytes
  }

  /// Uses what loaded the way the program does: tree, P2P decisions on a few pairs, a summary.
  static func exercise(_ topology: Topology, random: inout SplitMix64) {
    // What the text commands print passes through the one escaping function: nothing a
    // terminal acts on may survive it (issue 13).
    let printed = TreeRenderer.render(topology) + topology.warnings.map(\.description).joined(separator: "\n")
    let safe = TerminalText.escape(printed)
    #expect(
      !safe.unicodeScalars.contains {
        ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7f...0x9f).contains($0.value)
      },
      "control character left after escaping")
    for index in 0..<topology.count {
      precondition(topology.pathToRoot(from: index).count <= topology.count + 1)
    }
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))
    let endpoints = engine.endpointIndices
    guard !endpoints.isEmpty else { return }
    for _ in 0..<3 {
      let provider = endpoints[Int(random.next() % UInt64(endpoints.count))]
      let client = endpoints[Int(random.next() % UInt64(endpoints.count))]
      let verdict = engine.verdict(providerIndex: provider, clientIndex: client)
      let fast = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
      #expect(fast.0 == verdict.mapType, "fast path disagrees for \(verdict.provider) → \(verdict.client)")
    }
    if endpoints.count < 200 { _ = engine.summary() }
  }

  static func bridge(_ bdf: BDF, secondary: UInt8, subordinate: UInt8) -> PCIFunction {
    PCIFunction(
      bdf: bdf, vendorID: 0x10b5, deviceID: 0x8747, classCode: 0x060400, headerType: 1,
      portType: .downstreamPort, primaryBus: bdf.bus, secondaryBus: secondary, subordinateBus: subordinate)
  }
}

/// Small deterministic generator (SplitMix64) so a failing seed reproduces.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}
