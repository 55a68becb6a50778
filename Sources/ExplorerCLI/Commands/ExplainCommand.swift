import ArgumentParser
import Foundation
import P2PDMA
import PCITopology

/// `dmabuf-explorer explain`: why the kernel allows, reroutes or refuses P2P between a provider
/// and one or more clients, step by step.
public struct ExplainCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Walk calc_map_type_and_dist() for a provider and client(s): ACS per device, verdict, dmesg, fix.",
    discussion: """
      Shows every device the kernel's walk visits with its ACS Control bits, where the two \
      paths meet, the host-bridge check (CPU rule and allowlist), the map type and distance, \
      the dmesg lines for verbose callers (VFIO map, habanalabs) and for quiet ones (amdgpu, xe), \
      and what would change the answer. With several --client options it also shows what \
      pci_p2pdma_distance_many() returns for them together.
      """)

  @OptionGroup public var options: TopologyOptions

  @Option(name: .long, help: ArgumentHelp("The device whose memory is shared (exporter side).", valueName: "BDF"))
  public var provider: String

  @Option(name: .long, help: ArgumentHelp("A device that does the DMA; repeat for several.", valueName: "BDF"))
  public var client: [String] = []

  @Option(name: .long, help: "Output format: text, json or summary (one line per client).")
  public var format: OutputFormat = .text

  @OptionGroup public var whatIf: P2PWhatIfOptions

  public init() {}

  public mutating func validate() throws {
    if client.isEmpty { throw ValidationError("give at least one --client BDF") }
  }

  public mutating func run() async throws {
    let topology = try TopologyResolver.resolve(options.topology)
    let engine = P2PEngine(topology: topology, configuration: try whatIf.configuration(options, for: topology))
    for note in MatrixRenderer.stderrNotes(engine) { CommandLineEntry.printError(note) }
    if let note = whatIf.impliedNote(options, for: topology) { CommandLineEntry.printError(note) }
    let providerBDF = try ExplainRenderer.parseBDF(provider, option: "--provider")
    let clientBDFs = try client.map { try ExplainRenderer.parseBDF($0, option: "--client") }
    try CommandLineEntry.writeOutput(
      try ExplainRenderer.render(engine, provider: providerBDF, clients: clientBDFs, format: format),
      json: format == .json)
  }
}

/// Text, summary and JSON renderings of `explain`; public so tests can render without a process.
public enum ExplainRenderer {
  /// A BDF from an option value, or a one-line error naming the option.
  public static func parseBDF(_ text: String, option: String) throws -> BDF {
    guard let bdf = BDF(text.trimmingCharacters(in: .whitespaces)) else {
      throw CLIFailure("\(option): '\(text)' is not a PCI address like 0000:01:00.0 or 01:00.0")
    }
    return bdf
  }

  /// The whole output. Throws `P2PError.unknownDevice` for addresses not in the topology.
  public static func render(_ engine: P2PEngine, provider: BDF, clients: [BDF], format: OutputFormat) throws -> String {
    // Verbose verdicts carry the warnings a VFIO map prints; quiet ones what amdgpu/xe get.
    let loud = try clients.map { try engine.verdict(provider: provider, client: $0, verbose: true) }
    let quiet = try clients.map { try engine.verdict(provider: provider, client: $0, verbose: false) }
    let manyLoud = try engine.distanceMany(provider: provider, clients: clients, verbose: true)
    let manyQuiet = try engine.distanceMany(provider: provider, clients: clients, verbose: false)
    switch format {
    case .summary:
      return "kernel: \(engine.configuration.kernel.headerLine)\n" + loud.map(summaryLine).joined(separator: "\n")
        + "\n"
        + (clients.count > 1
          ? "pci_p2pdma_distance_many: \(manyLoud.isUnknown ? "UNKNOWN" : String(manyLoud.distance))\n" : "")
    case .json:
      let timelines = releaseTimelines(engine, loud)
      return try json(
        engine, loud: loud, quiet: quiet, manyLoud: manyLoud, manyQuiet: manyQuiet, timelines: timelines)
    case .text:
      var text = header(engine)
      let timelines = releaseTimelines(engine, loud)
      for ((verdict, quietVerdict), timeline) in zip(zip(loud, quiet), timelines) {
        text += explanation(engine, verdict, quiet: quietVerdict, timeline: timeline)
      }
      if clients.count > 1 { text += distanceManyText(manyLoud, manyQuiet) }
      return text
    }
  }

  static func summaryLine(_ verdict: P2PVerdict) -> String {
    if verdict.mapType == .unknown {
      return "\(verdict.provider) -> \(verdict.client): UNKNOWN (\(verdict.reason.dropFirst("UNKNOWN: ".count)))"
    }
    var line = "\(verdict.provider) -> \(verdict.client): \(verdict.mapType.shortName) distance \(verdict.distance)"
    if !verdict.acsRedirect.isEmpty {
      line += " (ACS redirect: \(verdict.acsRedirect.map(\.description).joined(separator: ", ")))"
    }
    if let alternative = verdict.alternativeIfUnknownACSRedirects {
      line += " (\(alternative.shortName) if unreadable ACS redirects)"
    }
    return line
  }

  static func header(_ engine: P2PEngine) -> String {
    let configuration = engine.configuration
    var text = "topology: \(engine.topology.source.title)\n"
    text += "cpu rule: \(configuration.cpu.rawValue) (\(configuration.cpuSource))\n"
    if configuration.cpuWasInferred {
      text +=
        "note: the CPU rule was inferred from the host bridge, not known; pass --cpu amd-zen|intel|other to set it\n"
    }
    text += "iommu: \(configuration.iommu.rawValue)\(MatrixRenderer.iommuNote(engine))\n"
    for line in KernelResolution.headerLines(configuration.kernel) { text += line + "\n" }
    if let note = MatrixRenderer.partialInputNote(engine.topology) { text += note + "\n" }
    if configuration.simulateKernelACSEnable {
      text += "what-if: the kernel's ACS enable (SV/RR/CR/UF where offered) is applied to every device\n"
    }
    if !configuration.disableACSRedirect.isEmpty {
      text +=
        "what-if: pci=disable_acs_redir=\(configuration.disableACSRedirect.map(\.description).joined(separator: ";"))\n"
    }
    return text
  }

  /// `downstream port 10b5:8747` or `Radeon PRO W7900 1002:7448`.
  static func role(_ function: PCIFunction) -> String {
    switch function.portType {
    case .rootPort: return "root port \(function.idPair)"
    case .upstreamPort: return "switch upstream port \(function.idPair)"
    case .downstreamPort: return "switch downstream port \(function.idPair)"
    default:
      return function.isBridge ? "bridge \(function.idPair)" : "\(function.displayName) \(function.idPair)"
    }
  }

  /// The ACS column of one walk step.
  static func acsText(_ step: P2PWalkStep) -> String {
    var text: String
    if let control = step.effectiveControl {
      text = "ACSCtl 0x\(hex(control.rawValue, width: 4)) (\(control.shortNames))"
      if step.redirect { text += "  REDIRECT (RR/CR/EC)" }
    } else if step.acsUnknown {
      if case .unknown(let reason) = step.acs {
        text = "ACS unknown (\(reason)); treated as no redirect"
      } else {
        text = "ACS unknown; treated as no redirect"
      }
    } else {
      text = "no ACS capability"
    }
    if !step.countedByKernel { text += "  [ignored: no common upstream device]" }
    if let whatIf = step.whatIf { text += "  [what-if: \(whatIf)]" }
    return text
  }

  static func explanation(
    _ engine: P2PEngine, _ verdict: P2PVerdict, quiet: P2PVerdict, timeline: [ReleaseVerdict]
  ) -> String {
    let topology = engine.topology
    var text = "\n== provider \(verdict.provider) -> client \(verdict.client) ==\n"
    if let provider = topology.function(verdict.provider), let client = topology.function(verdict.client) {
      text += "provider: \(role(provider))\nclient:   \(role(client))\n"
    }
    text += "\nWalk (pci_upstream_bridge from each end; every device is tested with pci_bridge_has_acs_redir):\n"
    var lastSide: P2PWalkStep.Side?
    for step in verdict.walk {
      if step.side != lastSide {
        switch step.side {
        case .provider: text += "  provider side\n"
        case .common: text += "  common upstream device (the paths meet here)\n"
        case .client: text += "  client side\n"
        }
        lastSide = step.side
      }
      let function = topology[step.index]
      text += "    hop \(step.hop)  \(step.bdf)  \(role(function))  \(acsText(step))\n"
    }
    if verdict.commonUpstream == nil {
      text += "  no common upstream device: the paths meet only at the host bridge, and ACS is not looked at\n"
    }
    if let gate = verdict.hostBridge {
      text += "\nHost-bridge gate (cpu_supports_p2pdma() || host_bridge_whitelist(warn=\(gate.warn))):\n"
      if verdict.kernel.has(.cpuRuleAMDZen) {
        text += "  cpu_supports_p2pdma(): \(gate.cpuSupportsP2PDMA) (rule \(gate.cpuRule.rawValue))\n"
      } else {
        text +=
          "  cpu_supports_p2pdma(): absent in \(verdict.kernel.series) (added in 5.9), so only the whitelist counts\n"
      }
      for lookup in gate.lookups {
        let device = lookup.hostBridgeDevice.map { "\($0) (\(lookup.firstDeviceIDs ?? "?"))" } ?? "none"
        let entry = lookup.matchedEntry.map { "matches \($0.label)" } ?? "no allowlist entry"
        let outcome = lookup.passed ? "allowed" : "refused"
        text += "  root bus \(lookup.rootBus): host-bridge device \(device): \(entry)"
        if lookup.rejectedBySameHostBridgeRule {
          text += ", but REQ_SAME_HOST_BRIDGE and the devices are under different host bridges"
        }
        if let rejection = lookup.rejectionReason { text += ": \(rejection)" }
        text += " -> \(outcome)\n"
      }
      text += "  result: \(gate.allowed ? "allowed" : "refused")\n"
    }
    if verdict.mapType == .unknown {
      text += "\nVerdict: UNKNOWN: the answer depends on bridges that are not in the input (see Why)\n"
      text += "\nWhy: \(verdict.reason)\n"
      if let fix = verdict.fix { text += "\nFix: \(fix)\n" }
      return text
    }
    if let legacy = verdict.legacyDistance {
      text +=
        "\nVerdict: upstream_bridge_distance() = \(legacy) (\(legacy >= 0 ? "allowed" : "refused")); "
        + "pci_p2pdma_distance() = \(verdict.distance). Kernel \(verdict.kernel.series) has no map types"
        + (legacy >= 0 ? " (shown as BUS_ADDR: pci_p2pdma_map_sg() uses bus addresses)" : "")
    } else {
      text += "\nVerdict: \(verdict.mapType.kernelName), pci_p2pdma_distance() = \(verdict.distance)"
    }
    if verdict.distance != verdict.pathDistance && verdict.legacyDistance == nil {
      text += " (the walk counted \(verdict.pathDistance) hops)"
    }
    text += "\n"
    text +=
      "nvidia-smi topo -m class: \(verdict.topoClass.rawValue) (\(verdict.topoClass.meaning)); "
      + "it describes the wires, not the kernel's permission\n"
    text += "\nWhy: \(verdict.reason)\n"
    let callers = callerLabels(verdict.kernel)
    text += "\ndmesg, verbose caller (\(callers.verbose)):\n"
    text += verdict.dmesg.isEmpty ? "  (nothing)\n" : verdict.dmesg.map { "  \($0)\n" }.joined()
    text += "dmesg, quiet caller (\(callers.quiet)):\n"
    text += quiet.dmesg.isEmpty ? "  (nothing)\n" : quiet.dmesg.map { "  \($0)\n" }.joined()
    if let fix = verdict.fix {
      // On an allowed host-bridge path the parameter is an optimisation, not a repair.
      text += verdict.mapType == .thruHostBridge ? "\nDirect route instead: \(fix)\n" : "\nFix: \(fix)\n"
      if fix.hasPrefix("pci=disable_acs_redir=") {
        text +=
          "  Clears RR/CR/EC on those devices at boot. It removes ACS isolation, so IOMMU groups may merge "
          + "(matters for VFIO). At runtime 'setpci -s BDF ECAP_ACS+6.w=0000' does the same until the next boot or reset; "
          + "a map type the kernel has already cached is not recomputed. Some firmware setups also have an ACS switch.\n"
      }
    }
    if !verdict.unknownACS.isEmpty {
      text += "\nUnreadable ACS on: \(verdict.unknownACS.map(\.description).joined(separator: ", "))"
      if let alternative = verdict.alternativeIfUnknownACSRedirects {
        text += " -> if they redirect, the verdict is \(alternative.kernelName)\n"
      } else {
        text += " (the verdict does not depend on them)\n"
      }
    }
    if !verdict.kernelNotes.isEmpty {
      text += "\nKernel \(verdict.kernel) notes:\n" + verdict.kernelNotes.map { "  \($0)\n" }.joined()
    }
    text += timelineText(engine, timeline)
    return text
  }

  /// Which in-tree callers pass verbose=true or false on a release: amdgpu's attach was verbose
  /// until its 6.1-era change (UNCONFIRMED exact), xe exists from 6.8 (UNCONFIRMED), VFIO's map
  /// from 6.19. Mainline keeps the long-standing labels.
  static func callerLabels(_ release: KernelRelease) -> (verbose: String, quiet: String) {
    if release.isMainline { return ("VFIO dma-buf map, habanalabs", "amdgpu, xe attach: verbose=false") }
    func doubt(_ change: KernelChange) -> String {
      change.entry.isInDoubt(for: release) ? " (UNCONFIRMED for \(release.series))" : ""
    }
    var verbose: [String] = []
    var quiet: [String] = []
    if release.has(.vfioDmabufExport) { verbose.append("VFIO dma-buf map") }
    verbose.append("habanalabs")
    if release.has(.amdgpuVRAMExport) {
      if release.has(.amdgpuAttachQuiet) {
        quiet.append("amdgpu attach" + doubt(.amdgpuAttachQuiet))
      } else {
        verbose.append("amdgpu attach" + doubt(.amdgpuAttachQuiet))
      }
    }
    if release.has(.xeDriver) { quiet.append("xe attach" + doubt(.xeDriver)) }
    let quietText =
      quiet.isEmpty
      ? "verbose=false; no modelled in-tree caller passes it in \(release.series)"
      : quiet.joined(separator: ", ") + ": verbose=false"
    return (verbose.joined(separator: ", "), quietText)
  }

  /// The same pair on 4.20, 5.4, 5.10, 5.15, 6.1, 6.6, 6.12 and mainline, one line each, with
  /// where the verdict changes and the changes of the table that explain it (issue 9 item 5).
  static func timelineText(_ engine: P2PEngine, _ timeline: [ReleaseVerdict]) -> String {
    guard !timeline.isEmpty else { return "" }
    var text = "\nBy release (same pair, same CPU rule and what-ifs; verbose caller):\n"
    for entry in timeline {
      let release = entry.release
      var line = "  " + release.series.padding(toLength: 9, withPad: " ", startingAt: 0)
      line += outcomeText(entry.verdict)
      if release.series == engine.configuration.kernel.release.series { line += "  [this run]" }
      if entry.changed {
        let why = entry.changedBy.map { "\($0.citation): \($0.summary)" }
        line += "  <- changed" + (why.isEmpty ? "" : ": " + why.joined(separator: "; "))
      }
      let doubts = entry.verdict.kernelRules.filter { $0.decidesP2PVerdict && $0.entry.isInDoubt(for: release) }
        .map(\.rawValue)
      if !doubts.isEmpty { line += "  [UNCONFIRMED for \(release.series): \(doubts.joined(separator: ", "))]" }
      text += line + "\n"
    }
    return text
  }

  /// `THRU_HOST_BRIDGE 4`, `NOT_SUPPORTED (-2: ACS redirect)`, `BUS_ADDR 4100 (0x1000 + 4: AMD root complex)`.
  static func outcomeText(_ verdict: P2PVerdict) -> String {
    if let legacy = verdict.legacyDistance {
      if !verdict.kernel.hasP2PDMA { return "NOT_SUPPORTED (no P2PDMA before 4.20)" }
      switch legacy {
      case -2: return "NOT_SUPPORTED (-2: ACS redirect refuses)"
      case -1: return "NOT_SUPPORTED (-1: no common upstream bridge)"
      case 0x1000...:
        return "BUS_ADDR \(legacy) (0x1000 + \(legacy - 0x1000): AMD root complex)"
      default: return "BUS_ADDR \(legacy)"
      }
    }
    return verdict.mapType == .notSupported
      ? "NOT_SUPPORTED" : "\(verdict.mapType.shortName) \(verdict.distance)"
  }

  /// Each verdict's pair on the timeline releases (the per-release engines are built once).
  static func releaseTimelines(_ engine: P2PEngine, _ verdicts: [P2PVerdict]) -> [[ReleaseVerdict]] {
    let engines = engine.engines()
    return verdicts.map { verdict in
      guard let provider = engine.topology.index(of: verdict.provider),
        let client = engine.topology.index(of: verdict.client)
      else { return [] }
      return P2PEngine.timeline(providerIndex: provider, clientIndex: client, engines: engines)
    }
  }

  /// The 4.20 and 5.2 answers of `upstream_bridge_distance()` for the same pair (JSON
  /// `older_kernels`, kept from before the release timeline).
  static func history(_ engine: P2PEngine, _ verdict: P2PVerdict) -> [(String, Int)] {
    guard let provider = engine.topology.index(of: verdict.provider),
      let client = engine.topology.index(of: verdict.client)
    else { return [] }
    return [("v4.20", KernelRelease(major: 4, minor: 20)), ("v5.2", KernelRelease(major: 5, minor: 2))].map {
      name, release in
      let old = engine.withKernel(KernelContext(release: release, source: .given))
        .verdict(providerIndex: provider, clientIndex: client, verbose: false)
      return (name, old.legacyDistance ?? old.distance)
    }
  }

  static func distanceManyText(_ loud: DistanceManyResult, _ quiet: DistanceManyResult) -> String {
    var text = "\n== pci_p2pdma_distance_many(\(loud.provider), \(loud.clients.count) clients) ==\n"
    text += "verbose=true:  \(loud.isUnknown ? "UNKNOWN" : String(loud.distance))  (\(loud.reason))\n"
    text += "verbose=false: \(quiet.isUnknown ? "UNKNOWN" : String(quiet.distance))  (\(quiet.reason))\n"
    return text
  }

  // MARK: - JSON

  static func json(
    _ engine: P2PEngine, loud: [P2PVerdict], quiet: [P2PVerdict], manyLoud: DistanceManyResult,
    manyQuiet: DistanceManyResult, timelines: [[ReleaseVerdict]]
  ) throws -> String {
    let configuration = engine.configuration
    let verdicts = zip(zip(loud, quiet), timelines).map { pair, timeline in
      ExplainJSON.Verdict(pair.0, quiet: pair.1, timeline: timeline, history: history(engine, pair.0))
    }
    let document = ExplainJSON(
      cpu: .init(
        inferred: configuration.cpuWasInferred, rule: configuration.cpu.rawValue, source: configuration.cpuSource),
      disable_acs_redir: configuration.disableACSRedirect.map(\.description),
      distance_many: .init(quiet: .init(manyQuiet), verbose: .init(manyLoud)), iommu: configuration.iommu.rawValue,
      kernel: KernelResolution.json(configuration.kernel),
      kernel_acs_enable: configuration.simulateKernelACSEnable,
      partial_input: MatrixRenderer.partialInputJSON(engine.topology), provider: manyLoud.provider.description,
      topology: engine.topology.source.title, verdicts: verdicts)
    return try JSONOutputEncoder(layout: .pretty).encode(document) + "\n"
  }
}
