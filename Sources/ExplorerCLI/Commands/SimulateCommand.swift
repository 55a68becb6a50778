import ArgumentParser
import DMABufSim
import Foundation
import P2PDMA
import PCITopology

/// `dmabuf-explorer simulate`: share one exporter buffer with importers and print every step of
/// the dma-buf lifecycle plus the sg tables the importers receive.
public struct SimulateCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Simulate sharing a dma-buf: attach, P2P decision, placement, sg tables, teardown.",
    discussion: """
      The exporter's driver profile decides the policy (amdgpu, xe, i915, vfio-pci, system-memory); \
      importers attach dynamically (amdgpu, xe, mlx5, rdma-pinned, iommufd) or statically \
      (i915, nouveau, v4l2, prime). Importers attach and map in the order given, so a static \
      importer listed after a dynamic one shows the move_notify/invalidate step.

      --max-entries limits the sg entries printed per table: default \(SimulationReport.defaultTextEntryLimit) \
      in text, unlimited in JSON (JSON is streamed, so even 4,194,304-entry tables are written \
      without building the document in memory).

      Defaults when the input does not say (each one is listed under Assumptions): buffer \
      "framebuffer-8MiB" for GPUs, "udmabuf-8MiB" for system memory, "barN-8MiB" for VFIO; \
      VRAM 8 GiB; visible VRAM = the VRAM BAR's size, else 256 MiB; DMA mask per profile \
      (amdgpu 44, xe 46, i915 39, nouveau 40, others 64 bits); max_seg_size 64 KiB (PCI \
      default) except amdgpu/xe/i915/nvme 4 GiB - 1 and mlx5 2 GiB. Block and page layouts \
      come from a seed: FNV-1a of "EXPORTER/BUFFER" unless --seed is given.

      Profiles: \(DriverProfile.all.map(\.name).joined(separator: ", ")).
      """)

  @OptionGroup public var options: TopologyOptions
  @OptionGroup public var whatIf: P2PWhatIfOptions

  @Option(name: .long, help: ArgumentHelp("The exporting device.", valueName: "BDF"))
  public var exporter: String

  @Option(name: .long, help: ArgumentHelp("Buffer name (default: the exporter's first buffer).", valueName: "NAME"))
  public var buffer: String?

  @Option(name: .long, help: ArgumentHelp("An importing device; repeat for several.", valueName: "BDF"))
  public var importer: [String] = []

  @Option(
    name: .customLong("importer-profile"),
    help: ArgumentHelp("Override an importer's driver profile; repeatable.", valueName: "BDF=PROFILE"))
  public var importerProfile: [String] = []

  @Option(
    name: .customLong("exporter-profile"),
    help: ArgumentHelp("Override the exporter's driver profile.", valueName: "PROFILE"))
  public var exporterProfile: String?

  @Option(name: .long, help: "Output: text (a trace), json, or summary (one line per attachment).")
  public var format: OutputFormat = .text

  @Option(name: .customLong("max-entries"), help: ArgumentHelp("Sg entries shown per table.", valueName: "N"))
  public var maxEntries: Int?

  @Option(name: .long, help: "System page layout: partly-contiguous (default), scattered or contiguous.")
  public var pages: String?

  @Option(
    name: .long, parsing: .unconditional,
    help: ArgumentHelp("Seed for block and page layouts (decimal or 0x hex).", valueName: "N"))
  public var seed: String?

  @Flag(
    name: .long,
    help: "Text: show under each step the kernel file and function it mirrors, the release and CONFIRMED/UNCONFIRMED.")
  public var sources = false

  public init() {}

  public mutating func run() async throws {
    let topology = try TopologyResolver.resolve(options.topology)
    for warning in topology.warnings { CommandLineEntry.printError("warning: \(warning)") }
    let request = try makeRequest(topology: topology)
    let unmatched = request.configuration.disableACSRedirect.filter { topology.index(of: $0) == nil }
    if let note = MatrixRenderer.unmatchedWhatIfNote(unmatched) { CommandLineEntry.printError(note) }
    if let note = whatIf.impliedNote(options, for: topology) { CommandLineEntry.printError(note) }
    let simulation = try DMABufSimulator.simulate(topology: topology, request: request)
    // The simulation plays an UNKNOWN verdict as the distance -1 it carries; say that this part
    // of the share is not the machine's answer.
    let unknown = simulation.attachments.filter { $0.mapType == .unknown }.map(\.importer.description)
    if !unknown.isEmpty {
      CommandLineEntry.printError(
        "warning: the P2P verdict for \(unknown.joined(separator: ", ")) is UNKNOWN (the input lacks what it depends "
          + "on); the share below plays it as a refusal (distance -1), which the real machine may not do")
    }
    var output = DescriptorWriter.standardOutput(mode: format == .json ? .json : .text)
    let kernel = request.configuration.kernel
    switch format {
    case .json:
      let document = SimulateOutput(
        kernel: KernelResolution.json(kernel, areas: Set(KernelChangeArea.allCases)),
        report: SimulationJSON(simulation, maxEntries: maxEntries))
      try JSONOutputEncoder(layout: .compact).encode(document) { output.write($0) }
      output.write("\n")
    case .text:
      for line in KernelResolution.headerLines(kernel, areas: Set(KernelChangeArea.allCases)) {
        output.write(line + "\n")
      }
      SimulationReport.write(
        simulation, maxEntries: maxEntries ?? SimulationReport.defaultTextEntryLimit, showSources: sources
      ) {
        output.write($0)
      }
    case .summary:
      output.write("kernel: \(kernel.headerLine)\n")
      output.write(Self.summary(simulation))
      let runs = try DMABufSimulator.byRelease(topology: topology, request: request)
      for (index, attachment) in simulation.attachments.enumerated() {
        output.write(
          "  by release \(attachment.importer): \(DMABufSimulator.byReleaseLine(runs, attachment: index))"
            + " (each with its default CONFIG_DMABUF_MOVE_NOTIFY)\n")
      }
    }
    try output.finish()
  }

  /// Builds the request from the options; every bad value becomes a one-line CLIFailure.
  func makeRequest(topology: Topology) throws -> ShareRequest {
    guard let exporterBDF = BDF(exporter) else {
      throw CLIFailure("--exporter '\(exporter)' is not a PCI address like 0000:03:00.0")
    }
    guard !importer.isEmpty else { throw CLIFailure("at least one --importer BDF is needed") }
    let importers = try importer.map { text -> BDF in
      guard let bdf = BDF(text) else { throw CLIFailure("--importer '\(text)' is not a PCI address like 0000:04:00.0") }
      return bdf
    }
    var profiles: [BDF: String] = [:]
    for item in importerProfile {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, let bdf = BDF(parts[0]) else {
        throw CLIFailure("--importer-profile '\(item)' must look like 0000:04:00.0=mlx5")
      }
      guard DriverProfile.named(parts[1]) != nil else { throw DMABufSimError.unknownProfile(parts[1]) }
      profiles[bdf] = parts[1]
    }
    if let exporterProfile, DriverProfile.named(exporterProfile) == nil {
      throw DMABufSimError.unknownProfile(exporterProfile)
    }
    var layout = SystemPageLayout.partlyContiguous
    if let pages {
      guard let parsed = SystemPageLayout(rawValue: pages) else {
        throw CLIFailure("--pages '\(pages)' must be partly-contiguous, scattered or contiguous")
      }
      layout = parsed
    }
    var seedValue: UInt64?
    if let seed {
      let parsed = seed.lowercased().hasPrefix("0x") ? UInt64(seed.dropFirst(2), radix: 16) : UInt64(seed)
      guard let parsed else {
        throw CLIFailure("--seed '\(seed)' is not a whole number from 0 to 18446744073709551615 (or 0x hex)")
      }
      seedValue = parsed
    }
    if let maxEntries, maxEntries < 0 { throw CLIFailure("--max-entries must be 0 or more") }
    return ShareRequest(
      exporter: exporterBDF, bufferName: buffer, importers: importers, importerProfiles: profiles,
      exporterProfile: exporterProfile,
      configuration: try whatIf.configuration(options, for: topology),
      systemPageLayout: layout, seed: seedValue)
  }

  /// One line per attachment.
  static func summary(_ simulation: ShareSimulation) -> String {
    var out =
      "\(simulation.exporter) \(simulation.exporterProfile.name) \(simulation.buffer.name) "
      + "(\(formatBytes(simulation.buffer.size))), IOMMU \(simulation.iommu.rawValue)\n"
    for attachment in simulation.attachments {
      out += "  \(attachment.importer) \(attachment.importerProfile.name): peer2peer \(attachment.peer2peer)"
      if let mapType = attachment.mapType { out += ", \(mapType.shortName)" }
      out += ", \(attachment.placement.rawValue)"
      if let table = attachment.sgTable { out += ", nents \(table.nents)/orig \(table.origNents)" }
      if let error = attachment.error { out += ", \(error)" }
      out += "\n"
    }
    return out
  }
}
