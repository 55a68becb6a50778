import P2PDMA
import PCITopology

/// Renders a simulation as a readable trace, or as JSON (`SimulationReport+JSON.swift`: the typed
/// document streamed through `JSONOutputEncoder`, so a 4,194,304-entry table is never held as
/// one string).
public enum SimulationReport {
  /// Default entry limit per table in the text trace (JSON is unlimited unless asked).
  public static let defaultTextEntryLimit = 32

  // MARK: - Text

  public static func text(
    _ simulation: ShareSimulation, maxEntries: Int? = defaultTextEntryLimit, showSources: Bool = false
  ) -> String {
    var out = ""
    write(simulation, maxEntries: maxEntries, showSources: showSources) { out += $0 }
    return out
  }

  /// The text trace, streamed to `sink` line by line; `showSources` adds each step's kernel
  /// source (`simulate --sources`).
  public static func write(
    _ simulation: ShareSimulation, maxEntries: Int?, showSources: Bool = false, to sink: (String) -> Void
  ) {
    let buffer = simulation.buffer
    sink(
      "dma-buf share: \(simulation.exporter) (\(simulation.exporterProfile.name)) exports \(buffer.name), "
        + "\(formatBytes(buffer.size)), prefers \(buffer.placementPreference.rawValue)\n")
    sink("  backing: \(buffer.backing)\n")
    sink("  kernel model: \(simulation.kernelModel); IOMMU \(simulation.iommu.rawValue)\n")
    if !simulation.assumptions.isEmpty {
      sink("\nAssumptions\n")
      for line in simulation.assumptions { sink("  - \(line)\n") }
    }
    sink("\nSteps\n")
    for step in simulation.steps {
      let who: String
      switch step.actor {
      case .importerDriver(let bdf):
        let profile = simulation.attachments.first { $0.importer == bdf }?.importerProfile.name ?? "?"
        who = "importer \(bdf) \(profile)"
      case .exporterDriver: who = "exporter \(simulation.exporterProfile.name)"
      default: who = step.actor.description
      }
      let number = String(step.index + 1)
      sink(
        String(repeating: " ", count: max(0, 3 - number.count)) + number
          + ". [\(who)] \(step.function) -> \(step.outcome)\n")
      sink("       in: \(step.inputs)\n")
      for change in step.stateChanges { sink("       * \(change)\n") }
      sink("       why: \(step.explanation)\n")
      if let verdict = step.p2pVerdict {
        sink(
          "       p2p: \(verdict.mapType.kernelName), distance \(verdict.distance)"
            + (verdict.commonUpstream.map { ", common upstream \($0)" } ?? ", no common upstream bridge")
            + (verdict.acsRedirect.isEmpty
              ? "" : ", ACS redirect at \(verdict.acsRedirect.map(\.description).joined(separator: ";"))")
            + "\n")
      }
      if let note = step.kernelNote { sink("       kernel: \(note)\n") }
      if showSources { sink("       source: \(step.source.description)\n") }
      for line in step.dmesg { sink("       dmesg: \(line)\n") }
    }
    sink("\nAttachments\n")
    for (index, attachment) in simulation.attachments.enumerated() {
      let style = attachment.isDynamic ? "dynamic" : "static"
      var line =
        "  #\(index) \(attachment.importer) \(attachment.importerProfile.name) (\(style), allow_peer2peer "
        + "\(attachment.allowPeer2peer)): peer2peer \(attachment.peer2peer)"
      if let mapType = attachment.mapType {
        line += ", \(mapType.shortName) distance \(attachment.distance ?? -1)"
      }
      line += ", \(attachment.placement.rawValue)"
      if let error = attachment.error { line += ", ERROR \(error) in \(attachment.failedFunction ?? "?")" }
      if attachment.invalidations > 0 { line += ", invalidated \(attachment.invalidations)x" }
      sink(line + "\n")
      sink("      DMA mask \(attachment.dmaMaskBits) bits, IOMMU \(attachment.iommu.rawValue)\n")
      if let table = attachment.sgTable {
        sink(
          "      sg table: nents \(table.nents), orig_nents \(table.origNents), \(formatBytes(table.totalDMALength))\n")
        let shown = min(table.nents, maxEntries ?? table.nents)
        for entryIndex in 0..<shown {
          let entry = table[entryIndex]
          let page = entry.pagePFN.map { "pfn:0x\(hex($0, width: 1))" } ?? "page NULL"
          sink(
            "        [\(entryIndex)] 0x\(hex(entry.dmaAddress, width: 16)) len \(entry.dmaLength) (\(formatBytes(entry.dmaLength))) "
              + "\(entry.addressKind.rawValue)\(entry.isBusAddress ? " SG_DMA_BUS_ADDRESS" : "") \(page) -> "
              + "\(entry.target.description)"
              + (entry.cpuEntries.count > 1
                ? ", CPU entries \(entry.cpuEntries.lowerBound)...\(entry.cpuEntries.upperBound - 1)" : "")
              + "\n")
        }
        if shown < table.nents { sink("        ... \(table.nents - shown) more entries (--max-entries)\n") }
      }
    }
    if let tradeoff = simulation.structPageTradeoff {
      sink("\nStruct pages (the 2018 trade-off)\n")
      sink("  \(tradeoff.note) [\(tradeoff.formula)]\n")
      for row in StructPageCost.referenceRows {
        sink("    \(formatBytes(row.deviceMemory)) -> \(formatBytes(row.structPageRAM))  (\(row.formula))\n")
      }
    }
    let dmesg = simulation.dmesg
    if !dmesg.isEmpty {
      sink("\ndmesg\n")
      for line in dmesg { sink("  \(line)\n") }
    }
  }
}
