import ArgumentParser
import Foundation
import P2PDMA
import PCITopology

/// `dmabuf-explorer matrix`: the kernel's P2PDMA verdict for every ordered pair of endpoints.
public struct MatrixCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "matrix",
    abstract: "The P2PDMA verdict (map type and distance) for every ordered pair of endpoints.",
    discussion: """
      Rows are providers (the device whose memory is shared), columns are clients (the device \
      that does the DMA). Endpoints are all functions except bridges, host bridges and \
      powered-off devices. A device paired with itself is left out unless --include-self is \
      given: it is never a peer-to-peer case, but the kernel does answer it (distance 0, \
      BUS_ADDR, or through the host bridge when the device itself has ACS redirect on).

      text: a compact grid like 'nvidia-smi topo -m' (up to 40 endpoints), plus the \
      nvidia-smi-style connection class of each pair. summary: counts per map type; fast \
      enough for machines with thousands of functions. json: every pair.
      """)

  @OptionGroup public var options: TopologyOptions

  @Option(name: .long, help: "Output format: text, json or summary.")
  public var format: OutputFormat = .text

  @Flag(name: .customLong("include-self"), help: "Also compute provider == client pairs.")
  public var includeSelf = false

  @OptionGroup public var whatIf: P2PWhatIfOptions

  public init() {}

  public mutating func run() async throws {
    let topology = try TopologyResolver.resolve(options.topology)
    let engine = P2PEngine(topology: topology, configuration: try whatIf.configuration(options, for: topology))
    for note in MatrixRenderer.stderrNotes(engine) { CommandLineEntry.printError(note) }
    if let note = whatIf.impliedNote(options, for: topology) { CommandLineEntry.printError(note) }
    var output = DescriptorWriter.standardOutput(mode: format == .json ? .json : .text)
    try MatrixRenderer.write(engine, format: format, includeSelf: includeSelf, to: &output)
    try output.finish()
  }
}

/// What-ifs only the P2P commands take.
public struct P2PWhatIfOptions: ParsableArguments, Sendable {
  @Flag(
    name: .customLong("kernel-acs-enable"), inversion: .prefixedNo,
    help: ArgumentHelp(
      "What-if: turn on SV/RR/CR/UF wherever the ACS capability offers them, as pci_enable_acs() does when an IOMMU driver requests ACS.",
      discussion:
        "Default: on when --iommu on is given for a built-in scenario, scenario file or generated machine (an active "
        + "IOMMU driver makes the kernel enable ACS redirect); off otherwise, and for captures, whose ACS Control "
        + "already shows the running kernel's choice. --no-kernel-acs-enable keeps the input's bits."))
  public var kernelACSEnable: Bool?

  public init() {}

  /// True when `--iommu on` was given for an input that was not captured live and neither
  /// `--kernel-acs-enable` nor `--no-kernel-acs-enable` was: the IOMMU what-if then also applies
  /// the kernel's ACS enable (issue 10 item 4).
  public func kernelACSEnableImplied(_ options: TopologyOptions, for topology: Topology) -> Bool {
    guard kernelACSEnable == nil, options.iommu?.lowercased() == "on" else { return false }
    return !topology.source.kind.isCapture
  }

  /// The stderr note that says the IOMMU what-if also enabled ACS, nil when it did not.
  public func impliedNote(_ options: TopologyOptions, for topology: Topology) -> String? {
    guard kernelACSEnableImplied(options, for: topology) else { return nil }
    return "note: --iommu on for an input that was not captured live also applies the kernel's ACS enable "
      + "(SV/RR/CR/UF where offered), as an active IOMMU driver does; --no-kernel-acs-enable keeps the input's ACS bits"
  }

  /// The configuration from the shared options plus these what-ifs.
  public func configuration(_ options: TopologyOptions, for topology: Topology) throws -> P2PConfiguration {
    var configuration = try options.p2pConfiguration(for: topology)
    configuration.simulateKernelACSEnable = kernelACSEnable ?? kernelACSEnableImplied(options, for: topology)
    return configuration
  }
}

/// Text, summary and JSON renderings of the pair matrix; public so tests can render without a
/// process.
public enum MatrixRenderer {
  /// Largest endpoint count drawn as a grid; beyond it the text format shows the summary.
  public static let maxGridEndpoints = 40

  /// Notes for stderr: load warnings and what-if devices that are not in the topology.
  public static func stderrNotes(_ engine: P2PEngine) -> [String] {
    var notes = engine.topology.warnings.map { "warning: \($0)" }
    if let note = unmatchedWhatIfNote(engine.unmatchedWhatIfDevices) { notes.append(note) }
    return notes
  }

  /// The note for `--disable-acs-redir` devices that are not in the topology, nil when none.
  public static func unmatchedWhatIfNote(_ devices: [BDF]) -> String? {
    guard !devices.isEmpty else { return nil }
    return "note: --disable-acs-redir names devices not in this topology (ignored, as the kernel would): "
      + devices.map(\.description).joined(separator: ", ")
  }

  /// The whole output as a string (for tests and small machines).
  public static func render(_ engine: P2PEngine, format: OutputFormat, includeSelf: Bool = false) throws -> String {
    var output = ""
    try write(engine, format: format, includeSelf: includeSelf, to: &output)
    return output
  }

  public static func write(
    _ engine: P2PEngine, format: OutputFormat, includeSelf: Bool, to output: inout some TextOutputStream
  ) throws {
    switch format {
    case .summary:
      writeHeader(engine, to: &output)
      writeSummary(engine.summary(includeSelfPairs: includeSelf), to: &output)
    case .text:
      writeHeader(engine, to: &output)
      if engine.endpointIndices.count > maxGridEndpoints {
        output.write(
          "\(engine.endpointIndices.count) endpoints are too many for a readable grid (limit \(maxGridEndpoints)), "
            + "so here are the counts that --format summary prints. Use --format json for every pair, "
            + "or 'explain --provider BDF --client BDF' for one.\n\n")
        writeSummary(engine.summary(includeSelfPairs: includeSelf), to: &output)
      } else {
        writeGrid(engine, includeSelf: includeSelf, to: &output)
      }
    case .json:
      try writeJSON(engine, includeSelf: includeSelf, to: &output)
    }
  }

  /// One line per setting, and a note when the CPU rule was guessed.
  static func writeHeader(_ engine: P2PEngine, to output: inout some TextOutputStream) {
    let configuration = engine.configuration
    output.write("P2PDMA matrix: \(engine.topology.source.title)\n")
    output.write("cpu rule: \(configuration.cpu.rawValue) (\(configuration.cpuSource))\n")
    if configuration.cpuWasInferred {
      output.write(
        "note: the CPU rule was inferred from the host bridge, not known; pass --cpu amd-zen|intel|other to set it\n")
    }
    output.write("iommu: \(configuration.iommu.rawValue)\(iommuNote(engine))\n")
    for line in KernelResolution.headerLines(configuration.kernel) { output.write(line + "\n") }
    if let note = partialInputNote(engine.topology) { output.write(note + "\n") }
    if configuration.simulateKernelACSEnable {
      output.write("what-if: the kernel's ACS enable (SV/RR/CR/UF where offered) is applied to every device\n")
    }
    if !configuration.disableACSRedirect.isEmpty {
      output.write(
        "what-if: pci=disable_acs_redir=\(configuration.disableACSRedirect.map(\.description).joined(separator: ";"))\n"
      )
    }
    output.write("\n")
  }

  static func writeSummary(_ summary: MatrixSummary, to output: inout some TextOutputStream) {
    let pairs = summary.pairCount
    output.write(
      "endpoints: \(summary.endpointCount)   ordered pairs: \(pairs)"
        + (summary.includesSelfPairs ? " (provider == client included)" : " (provider != client)") + "\n")
    for type in [MapType.busAddress, .thruHostBridge, .notSupported, .unknown] {
      if type == .unknown && summary.unknown == 0 { continue }
      let count = summary.count(of: type)
      let share = pairs == 0 ? 0 : Double(count) * 100 / Double(pairs)
      let name = type.shortName.padding(toLength: 17, withPad: " ", startingAt: 0)
      output.write("\(name) \(P2PText.rightAligned(String(count), 12))  \(String(format: "%5.1f", share))%\n")
    }
  }

  /// `BUS4`, `HB4`, `NO`, `X`, with `*` when ACS redirect was involved and `?` when unreadable
  /// ACS could change the answer.
  static func cell(_ verdict: P2PVerdict) -> String {
    var text = MatrixLegend.code(mapType: verdict.mapType, distance: verdict.distance)
    if !verdict.acsRedirect.isEmpty { text += "*" }
    if verdict.alternativeIfUnknownACSRedirects != nil { text += "?" }
    return text
  }

  static func writeGrid(_ engine: P2PEngine, includeSelf: Bool, to output: inout some TextOutputStream) {
    let topology = engine.topology
    let endpoints = engine.endpointIndices
    guard !endpoints.isEmpty else {
      output.write("no endpoints (every function is a bridge, a host bridge or powered off)\n")
      return
    }
    let labels = endpoints.indices.map { "D\($0)" }
    var kernelRows: [[String]] = []
    var classRows: [[String]] = []
    for provider in endpoints {
      var kernelRow: [String] = []
      var classRow: [String] = []
      for client in endpoints {
        classRow.append(engine.topoClass(providerIndex: provider, clientIndex: client).rawValue)
        if provider == client && !includeSelf {
          kernelRow.append("X")
        } else {
          kernelRow.append(cell(engine.verdict(providerIndex: provider, clientIndex: client, verbose: false)))
        }
      }
      kernelRows.append(kernelRow)
      classRows.append(classRow)
    }
    output.write("Kernel verdict (rows: provider, columns: client; calc_map_type_and_dist):\n")
    writeTable(labels: labels, rows: kernelRows, to: &output)
    // The codes' legend is shared with the explorer's matrix overlay (MatrixLegend).
    output.write("\n")
    for entry in MatrixLegend.entries where entry.code != "UNK" || !engine.topology.partialInput.isEmpty {
      let note = entry.code == "X" ? " (use --include-self to compute it)" : ""
      output.write(entry.code.padding(toLength: 6, withPad: " ", startingAt: 0) + entry.meaning + note + "\n")
    }
    output.write(
      """
      *     ACS redirect (RR/CR/EC) on the path forced the host-bridge route
      ?     a device on the path has unreadable ACS; the answer may differ (see 'explain')


      """)
    let release = engine.configuration.kernel.release
    if release.hasP2PDMA, !release.has(.acsRedirectThroughHostBridge) {
      output.write(
        "Kernel \(release.series) has no map types: BUSn means upstream_bridge_distance() allowed the pair at "
          + "distance n (0x1000 + n through AMD root complexes) and pci_p2pdma_map_sg() uses bus addresses.\n\n")
    }
    output.write(
      "Connection class as nvidia-smi topo -m would name it (a different question: what the path crosses, not whether the kernel allows P2P):\n"
    )
    writeTable(labels: labels, rows: classRows, to: &output)
    output.write(
      """

      X same device   PIX at most one PCIe switch   PXB several switches   PHB through the host bridge
      NODE between host bridges (socket information is not in config space, so SYS is never shown)

      """)
    if classRows.contains(where: { $0.contains(TopoClass.unknown.rawValue) }) {
      output.write("?  not known: the bridges above one of the devices are not in the input (partial input)\n")
    }
    output.write("\n")
    output.write("Devices:\n")
    for (label, index) in zip(labels, endpoints) {
      let function = topology[index]
      let driver = function.driver.map { "  [\($0)]" } ?? ""
      output.write(
        "\(label.padding(toLength: 5, withPad: " ", startingAt: 0))\(function.bdf)  \(function.idPair)  \(function.displayName)\(driver)\n"
      )
    }
  }

  static func writeTable(labels: [String], rows: [[String]], to output: inout some TextOutputStream) {
    let width = max(labels.map(\.count).max() ?? 2, rows.flatMap { $0 }.map(\.count).max() ?? 2) + 1
    var header = P2PText.rightAligned("", 5)
    for label in labels { header += P2PText.rightAligned(label, width) }
    output.write(header + "\n")
    for (label, row) in zip(labels, rows) {
      var line = label.padding(toLength: 5, withPad: " ", startingAt: 0)
      for cell in row { line += P2PText.rightAligned(cell, width) }
      output.write(line + "\n")
    }
  }

  /// Streams the JSON document (`MatrixJSON`): settings, endpoints, every pair, summary.
  static func writeJSON(_ engine: P2PEngine, includeSelf: Bool, to output: inout some TextOutputStream) throws {
    try JSONOutputEncoder(layout: .lines).encode(MatrixJSON(engine: engine, includeSelf: includeSelf)) {
      output.write($0)
    }
    output.write("\n")
  }

  /// ` (the input lists IOMMU groups ...)` when the IOMMU mode in force is the one the input
  /// implied; empty otherwise (given by --iommu, a scenario or sysfs).
  static func iommuNote(_ engine: P2PEngine) -> String {
    let platform = engine.topology.platform
    guard let note = platform.iommuNote, platform.iommu == engine.configuration.iommu else { return "" }
    return " (\(note))"
  }

  /// One line for text headers when the input lacks the bridges above some buses; nil otherwise.
  public static func partialInputNote(_ topology: Topology) -> String? {
    let partial = topology.partialInput
    guard !partial.isEmpty else { return nil }
    return
      "partial input: \(partial.explanation(for: partial.buses.map(\.bus))); verdicts that depend on them are UNKNOWN"
  }

  /// `{"reason": ..., "buses": [{"bus", "evidence"}]}` for JSON, nil for complete inputs.
  static func partialInputJSON(_ topology: Topology) -> PartialInputJSON? {
    let partial = topology.partialInput
    guard !partial.isEmpty else { return nil }
    return PartialInputJSON(
      reason: partial.explanation(for: partial.buses.map(\.bus)),
      buses: partial.buses.map { PartialInputJSON.Bus(bus: $0.bus.description, evidence: $0.evidence) })
  }
}

/// Small text helpers shared by `matrix` and `explain` (namespaced so they cannot collide with
/// other commands' helpers).
enum P2PText {
  /// Right-aligned in a field of `width` characters (never cut).
  static func rightAligned(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
  }
}
