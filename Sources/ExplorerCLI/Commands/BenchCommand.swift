import ArgumentParser
import DMABufSim
import Foundation
import P2PDMA
import PCITopology

/// `dmabuf-explorer bench`: measures the speed targets of issue 5 on this machine and prints a
/// table. Each figure runs in a child process of its own (this same binary) so that peak memory
/// and start-up cost are the child's alone, the way a user would meet them.
public struct BenchCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure speed: tree vs lspci, matrix summary, 16 GiB simulate, UI frame times.",
    discussion: """
      Generates a synthetic machine (--functions, default 4000) as an lspci -xxxx dump in a \
      temporary folder, then times `tree` against `lspci -F DUMP -tv` side by side, `matrix \
      --format summary` over every ordered endpoint pair, `simulate` of a 16 GiB system-memory \
      buffer in 4 KiB pages with the IOMMU on and off (time and peak memory), and the UI's \
      frame render times. Use a release build: swift run -c release dmabuf-explorer bench
      """)

  @Option(help: "Functions in the generated machine.") var functions = 4000
  @Option(help: "Runs per figure; the best run is reported.") var repeats = 3
  @Option(help: "Size of the simulated system-memory buffer in GiB.") var simulateGiB = 16
  @Flag(
    name: .customLong("load-scaling"), inversion: .prefixedNo,
    help: "Time loading 10,000, 100,000 and 500,000 functions (needs about 2 GB of memory).")
  var loadScaling = true
  @Flag(name: .customLong("load-scaling-only"), help: "Run only the load-scaling figure.")
  var loadScalingOnly = false
  @Option(name: .customLong("case"), help: .hidden) var childCase: String?
  @Option(name: .customLong("child-iommu"), help: .hidden) var childIOMMU: String = "off"
  @Option(name: .customLong("child-layout"), help: .hidden) var childLayout: String = "partly-contiguous"
  @Option(help: .hidden) var dump: String?

  public init() {}

  public mutating func run() async throws {
    switch childCase {
    case nil where loadScalingOnly:
      guard repeats >= 1 else { throw CLIFailure("bench: --repeats must be 1 or more, got \(repeats)") }
      print("build: \(Self.buildConfiguration), best of \(repeats) runs\n")
      Self.printTable(try Self.loadScalingRows(repeats: repeats))
    case nil: try runAll()
    case "simulate": try runSimulateChild()
    case "ui": try await Self.runUIChild(dump: dump)
    case let other?: throw CLIFailure("bench: unknown case '\(other)'")
    }
  }

  // MARK: - Parent

  package struct Row {
    package var name: String
    package var value: String
    package var target: String
    package var met: Bool?

    package init(name: String, value: String, target: String, met: Bool?) {
      self.name = name
      self.value = value
      self.target = target
      self.met = met
    }
  }

  func runAll() throws {
    guard functions > 0, functions <= MachineGenerator.maximumFunctionCount else {
      throw CLIFailure("bench: --functions must be 1...\(MachineGenerator.maximumFunctionCount)")
    }
    guard repeats >= 1 else { throw CLIFailure("bench: --repeats must be 1 or more, got \(repeats)") }
    guard simulateGiB >= 1 else { throw CLIFailure("bench: --simulate-gi-b must be 1 or more, got \(simulateGiB)") }
    let me = try Self.executablePath()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "dmabuf-explorer-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let dumpPath = directory.appendingPathComponent("machine-\(functions).dump").path

    let machine = MachineGenerator(options: .init(functionCount: functions, seed: 1)).generate()
    let dumpBytes = HexDumpWriter.write(machine.functions)
    guard FileManager.default.createFile(atPath: dumpPath, contents: Data(dumpBytes)) else {
      throw CLIFailure("bench: cannot write \(dumpPath)")
    }
    let topology = machine.topology(location: dumpPath)
    let endpoints = topology.functions.filter(\.isEndpointForMatrix).count
    print("dmabuf-explorer bench: \(functions) functions (\(endpoints) endpoints), dump \(dumpBytes.count / 1024) KiB")
    print("machine: \(Self.machineDescription())")
    print("build: \(Self.buildConfiguration), best of \(repeats) runs\n")

    var rows: [Row] = []
    // tree vs lspci, interleaved so both see the same machine state.
    var ours = Double.infinity
    var theirs = Double.infinity
    let lspci = Subprocess.which("lspci")
    for _ in 0..<max(1, repeats) {
      let run = try Subprocess.run(me, ["tree", "--topology", dumpPath])
      guard run.status == 0 else { throw CLIFailure("bench: tree exited with \(run.status)") }
      ours = min(ours, run.seconds)
      if let lspci {
        theirs = min(theirs, try Subprocess.run(lspci, ["-F", dumpPath, "-tv"]).seconds)
      }
    }
    if lspci != nil {
      let ratio = ours / theirs
      rows.append(
        Row(
          name: "tree, \(functions) functions", value: Self.ms(ours), target: "lspci -F -tv: \(Self.ms(theirs))",
          met: nil))
      rows.append(
        Row(name: "  ratio tree / lspci", value: String(format: "%.2f", ratio), target: "<= 1.00", met: ratio <= 1.0))
    } else {
      rows.append(
        Row(
          name: "tree, \(functions) functions", value: Self.ms(ours), target: "lspci not installed: no ratio", met: nil)
      )
    }

    var matrix = Double.infinity
    var matrixOutput = ""
    for _ in 0..<max(1, repeats) {
      let run = try Subprocess.run(me, ["matrix", "--topology", dumpPath, "--format", "summary"], captureOutput: true)
      guard run.status == 0 else { throw CLIFailure("bench: matrix exited with \(run.status)") }
      matrix = min(matrix, run.seconds)
      matrixOutput = run.output
    }
    let pairs = endpoints * (endpoints - 1)
    rows.append(
      Row(
        name: "matrix summary, \(Self.grouped(pairs)) pairs", value: Self.seconds(matrix), target: "< 3 s",
        met: matrix < 3))

    // Partly contiguous pages are what a long-running machine hands out; scattered is the worst
    // case, one sg entry per 4 KiB page (4,194,304 for 16 GiB).
    for layout in [SystemPageLayout.partlyContiguous, .scattered] {
      for mode in ["off", "on"] {
        var best = Double.infinity
        var peak: UInt64 = 0
        var childReport = ""
        for _ in 0..<max(1, repeats) {
          let run = try Subprocess.run(
            me,
            [
              "bench", "--case", "simulate", "--child-iommu", mode, "--child-layout", layout.rawValue,
              "--simulate-gi-b", "\(simulateGiB)",
            ], captureOutput: true)
          guard run.status == 0 else { throw CLIFailure("bench: simulate child exited with \(run.status)") }
          best = min(best, run.seconds)
          // The child reports its own high-water mark: wait4's ru_maxrss would include this
          // (bigger) parent, whose memory the child shares between posix_spawn's vfork and exec.
          let lines = run.output.split(separator: "\n")
          for line in lines where line.hasPrefix("peak-bytes ") {
            peak = max(peak, UInt64(line.dropFirst("peak-bytes ".count)) ?? 0)
          }
          childReport = lines.filter { !$0.hasPrefix("peak-bytes ") }.joined(separator: " ")
        }
        rows.append(
          Row(
            name: "simulate \(simulateGiB) GiB \(layout.rawValue), IOMMU \(mode)", value: Self.seconds(best),
            target: "< 1 s", met: best < 1))
        rows.append(Row(name: "  peak memory", value: "\(peak >> 20) MiB", target: "< 600 MiB", met: peak < 600 << 20))
        if !childReport.isEmpty { rows.append(Row(name: "  sg table", value: childReport, target: "", met: nil)) }
      }
    }

    if loadScaling { rows += try Self.loadScalingRows(repeats: repeats) }

    let ui = try Subprocess.run(me, ["bench", "--case", "ui", "--dump", dumpPath], captureOutput: true)
    if ui.status == 0 {
      for line in ui.output.split(separator: "\n") {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4 else { continue }
        rows.append(
          Row(name: fields[0], value: fields[1], target: fields[2], met: fields[3] == "-" ? nil : fields[3] == "yes"))
      }
    } else {
      rows.append(Row(name: "UI", value: "child failed (\(ui.status))", target: "", met: false))
    }

    if let live = try Self.liveApp(executable: me, dumpPath: dumpPath, directory: directory) {
      rows.append(
        Row(
          name: "real app in tmux: launch → first frame", value: live.firstFrame, target: "< 1 s",
          met: live.firstFrameSeconds.map { $0 < 1 }))
      rows.append(Row(name: "real app: frames", value: live.frames, target: "< 16 ms", met: live.framesMet))
      rows.append(
        Row(
          name: "real app: idle CPU (paused, 3 s)", value: String(format: "%.1f %%", live.idleCPU), target: "0 %",
          met: live.idleCPU < 0.5))
    } else {
      rows.append(Row(name: "real app in tmux", value: "tmux not installed", target: "", met: nil))
    }

    Self.printTable(rows)
    if !matrixOutput.isEmpty { print("\nmatrix summary output:\n" + matrixOutput) }
  }

  // MARK: - Children

  /// Simulates sharing a `simulateGiB` system-memory buffer with an mlx5 importer, walks every
  /// sg entry as an importer would, and prints what it built.
  func runSimulateChild() throws {
    guard let mode = IOMMUMode(rawValue: childIOMMU) else { throw CLIFailure("bench: bad --child-iommu \(childIOMMU)") }
    let size = UInt64(simulateGiB) << 30
    let machine = try Self.systemMemoryShareMachine(bufferName: "bench-\(simulateGiB)GiB", size: size)
    let topology = machine.topology
    let exporter = topology[machine.exporter].bdf
    let importer = topology[machine.importer].bdf
    guard let layout = SystemPageLayout(rawValue: childLayout) else {
      throw CLIFailure("bench: bad --child-layout \(childLayout)")
    }
    let configuration = P2PConfiguration(inferringFrom: topology, iommu: mode)
    let simulation = try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: exporter, importers: [importer], configuration: configuration, systemPageLayout: layout))
    guard let table = simulation.attachments.first?.sgTable else {
      throw CLIFailure("bench: the share produced no sg table")
    }
    // for_each_sgtable_dma_sg: touch every DMA entry.
    var total: UInt64 = 0
    for index in 0..<table.nents { total &+= table[index].dmaLength }
    guard total == size else { throw CLIFailure("bench: sg table covers \(total) bytes, expected \(size)") }
    print("nents \(Self.grouped(table.nents)), orig_nents \(Self.grouped(table.origNents))")
    print("peak-bytes \(peakResidentBytesOfThisImage())")
  }

  /// The teaching workstation with its GPU (03:00.0) set to export one system-memory buffer of
  /// `size` bytes, and its NIC (05:00.0) as the importer: the share the simulate and sg-scroll
  /// figures time.
  package static func systemMemoryShareMachine(
    bufferName: String, size: UInt64
  ) throws -> (topology: Topology, exporter: Int, importer: Int) {
    var topology = try TopologyResolver.resolve("teaching-workstation")
    guard let exporter = topology.index(of: BDF(bus: 3, device: 0, function: 0)),
      let importer = topology.index(of: BDF(bus: 5, device: 0, function: 0))
    else { throw CLIFailure("bench: teaching-workstation lacks its GPU or NIC") }
    topology.setExtras(
      DeviceExtras(
        driverProfile: "system-memory",
        buffers: [BufferSpec(name: bufferName, size: size, preferredPlacement: .system)]),
      at: exporter)
    return (topology, exporter, importer)
  }

  @MainActor
  static func runUIChild(dump: String?) async throws {
    guard let dump else { throw CLIFailure("bench: --dump is required for the ui case") }
    for row in try InteractiveFrontEnds.required(for: "bench --case ui").uiBenchmark(dumpPath: dump) {
      print([row.name, row.value, row.target, row.met.map { $0 ? "yes" : "no" } ?? "-"].joined(separator: "\t"))
    }
  }

  struct LiveAppFigures {
    var firstFrame: String
    var firstFrameSeconds: Double?
    var frames: String
    var framesMet: Bool?
    var idleCPU: Double
  }

  /// Runs the real explorer on the generated machine in a private tmux server with
  /// `DMABUF_EXPLORER_STATS` set: measures the CPU it uses over three idle seconds (utime + stime
  /// from /proc/PID/stat), then presses a few keys, quits, and reads the app's own frame report.
  static func liveApp(executable: String, dumpPath: String, directory: URL) throws -> LiveAppFigures? {
    guard let tmux = Subprocess.which("tmux") else { return nil }
    let socket = directory.appendingPathComponent("tmux.sock").path
    let statsFile = directory.appendingPathComponent("stats.txt").path
    let base = ["-S", socket, "-f", "/dev/null"]
    defer { _ = try? Subprocess.run(tmux, base + ["kill-server"]) }
    let command =
      "env TERM=tmux-256color LANG=C.UTF-8 DMABUF_EXPLORER_STATS='\(statsFile)' '\(executable)' --topology '\(dumpPath)'"
    guard try Subprocess.run(tmux, base + ["new-session", "-d", "-x", "120", "-y", "40", command]).status == 0 else {
      return nil
    }
    usleep(2_000_000)
    let panes = try Subprocess.run(tmux, base + ["list-panes", "-F", "#{pane_pid}"], captureOutput: true)
    guard let pid = Int(panes.output.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
    func cpuTicks() -> Int? {
      guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return nil }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      // After the command name: utime and stime are the 12th and 13th fields.
      guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
      return user + system
    }
    guard let before = cpuTicks() else { return nil }
    let start = monotonicSeconds()
    usleep(3_000_000)
    guard let after = cpuTicks() else { return nil }
    let idle = Double(after - before) / Double(sysconf(Int32(_SC_CLK_TCK))) / (monotonicSeconds() - start) * 100
    for key in ["j", "j", "NPage", "Tab", "m", "Down", "Right", "Escape", "End", "Home", "/", "Escape", "q"] {
      _ = try Subprocess.run(tmux, base + ["send-keys", key])
      usleep(60_000)
    }
    var report = ""
    for _ in 0..<50 {
      usleep(100_000)
      if let text = try? String(contentsOfFile: statsFile, encoding: .utf8), !text.isEmpty {
        report = text
        break
      }
    }
    // "render: first frame 412.3 ms after launch; N frames, p50 x ms, p99 y ms ..."
    var firstFrame = "no report"
    var firstSeconds: Double?
    if let range = report.range(of: "first frame ") {
      let rest = report[range.upperBound...]
      let value = rest.prefix { $0 != " " }
      firstFrame = "\(value) ms (in-process, from main)"
      firstSeconds = Double(value).map { $0 / 1000 }
    }
    let frames = report.split(separator: ";").dropFirst().joined(separator: ";")
      .trimmingCharacters(in: .whitespacesAndNewlines)
    var p99Met: Bool?
    if let range = frames.range(of: "p99 ") {
      p99Met = Double(frames[range.upperBound...].prefix { $0 != " " }).map { $0 < 16 }
    }
    return LiveAppFigures(
      firstFrame: firstFrame, firstFrameSeconds: firstSeconds, frames: frames.isEmpty ? "no report" : frames,
      framesMet: p99Met, idleCPU: idle)
  }

  // MARK: - Formatting

  static func printTable(_ rows: [Row]) {
    let nameWidth = max(12, rows.map(\.name.count).max() ?? 0)
    let valueWidth = max(8, rows.map(\.value.count).max() ?? 0)
    let targetWidth = max(8, rows.map(\.target.count).max() ?? 0)
    func pad(_ text: String, _ width: Int) -> String {
      text + String(repeating: " ", count: max(0, width - text.count))
    }
    print("\(pad("measurement", nameWidth))  \(pad("value", valueWidth))  \(pad("target", targetWidth))  met")
    print(String(repeating: "-", count: nameWidth + valueWidth + targetWidth + 11))
    for row in rows {
      let met = row.met.map { $0 ? "yes" : "NO" } ?? ""
      print("\(pad(row.name, nameWidth))  \(pad(row.value, valueWidth))  \(pad(row.target, targetWidth))  \(met)")
    }
  }

  package static func ms(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
  static func seconds(_ seconds: Double) -> String { String(format: "%.3f s", seconds) }
  package static func grouped(_ value: Int) -> String {
    let digits = String(value)
    var out = ""
    for (offset, character) in digits.enumerated() {
      if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
      out.append(character)
    }
    return out
  }

  static func executablePath() throws -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { throw CLIFailure("bench: cannot find this program's path (/proc/self/exe)") }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  static func machineDescription() -> String {
    var model = "unknown CPU"
    if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    {
      model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let memory = ProcessInfo.processInfo.physicalMemory >> 30
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model), \(memory) GiB RAM"
  }

  static var buildConfiguration: String {
    #if DEBUG
      return "debug (numbers are not representative: use -c release)"
    #else
      return "release"
    #endif
  }
}
