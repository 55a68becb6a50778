import P2PDMA
import PCITopology

/// Renders a simulation as a readable trace or as JSON. JSON is produced in chunks through a
/// sink so that a 4,194,304-entry table is never held as one string: each entry is formatted,
/// appended to a small buffer, and handed on when the buffer passes 64 KiB.
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

  // MARK: - JSON

  /// The JSON document (for tests and small tables); prefer `writeJSON` for huge ones.
  public static func json(_ simulation: ShareSimulation, maxEntries: Int? = nil) -> String {
    var out = ""
    writeJSON(simulation, maxEntries: maxEntries) { out += $0 }
    return out
  }

  /// Streams the JSON document to `sink` in chunks of about 64 KiB.
  public static func writeJSON(_ simulation: ShareSimulation, maxEntries: Int?, to sink: (String) -> Void) {
    withoutActuallyEscaping(sink) { sink in
      var writer = ChunkedWriter(sink: sink)
      writeJSONBody(simulation, maxEntries: maxEntries, into: &writer)
      writer.flush()
    }
  }

  private static func writeJSONBody(_ simulation: ShareSimulation, maxEntries: Int?, into writer: inout ChunkedWriter) {
    let buffer = simulation.buffer
    // The release ("kernel" object) is written by the command in front of this object, the same
    // way for matrix, explain and simulate (KernelResolution.jsonText).
    writer.append("{\"kernel_model\":\(quote(simulation.kernelModel)),\"iommu\":\(quote(simulation.iommu.rawValue)),")
    writer.append(
      "\"exporter\":{\"bdf\":\(quote(simulation.exporter.description)),\"profile\":\(quote(simulation.exporterProfile.name)),"
        + "\"chosen_because\":\(quote(simulation.exporterProfile.chosenBecause))},")
    writer.append(
      "\"buffer\":{\"name\":\(quote(buffer.name)),\"size\":\(buffer.size),"
        + "\"placement_preference\":\(quote(buffer.placementPreference.rawValue)),\"backing\":\(quote(buffer.backing)),"
        + "\"vram_size\":\(buffer.vramSize.map(String.init) ?? "null"),"
        + "\"visible_vram_size\":\(buffer.visibleVRAMSize.map(String.init) ?? "null"),"
        + "\"seed\":\(quote("0x" + hex(buffer.seed, width: 16)))},")
    writer.append("\"assumptions\":\(stringArray(simulation.assumptions)),")
    if let tradeoff = simulation.structPageTradeoff {
      writer.append(
        "\"struct_page_tradeoff\":{\"device_memory\":\(tradeoff.deviceMemory),\"struct_page_ram\":\(tradeoff.structPageRAM),"
          + "\"formula\":\(quote(tradeoff.formula)),\"note\":\(quote(tradeoff.note)),\"dma_map_resource_struct_pages\":0},"
      )
    } else {
      writer.append("\"struct_page_tradeoff\":null,")
    }
    writer.append("\"steps\":[")
    for (position, step) in simulation.steps.enumerated() {
      if position > 0 { writer.append(",") }
      writer.append(stepJSON(step))
    }
    writer.append("],\"attachments\":[")
    for (position, attachment) in simulation.attachments.enumerated() {
      if position > 0 { writer.append(",") }
      writeAttachment(attachment, maxEntries: maxEntries, into: &writer)
    }
    writer.append("],\"dmesg\":\(stringArray(simulation.dmesg))}\n")
  }

  private static func stepJSON(_ step: SimStep) -> String {
    var parts = [
      "\"index\":\(step.index)", "\"actor\":\(quote(step.actor.key))",
    ]
    if case .importerDriver(let bdf) = step.actor { parts.append("\"importer\":\(quote(bdf.description))") }
    parts += [
      "\"lane\":\(step.lane)", "\"function\":\(quote(step.function))", "\"inputs\":\(quote(step.inputs))",
      "\"state_changes\":\(stringArray(step.stateChanges))", "\"outcome\":\(quote(step.outcome))",
      "\"failed\":\(step.failed)", "\"explanation\":\(quote(step.explanation))",
      "\"kernel_note\":\(step.kernelNote.map(quote) ?? "null")",
      "\"attachment\":\(step.attachmentIndex.map(String.init) ?? "null")",
      "\"sg_entries_visible\":\(step.sgEntriesVisible.map(String.init) ?? "null")",
      "\"dmesg\":\(stringArray(step.dmesg))",
      "\"source\":{\"file\":\(quote(step.source.file)),\"function\":\(quote(step.source.function)),"
        + "\"release\":\(quote(step.source.release)),\"confirmed\":\(step.source.confirmed)}",
    ]
    if let verdict = step.p2pVerdict {
      parts.append(
        "\"p2p\":{\"provider\":\(quote(verdict.provider.description)),\"client\":\(quote(verdict.client.description)),"
          + "\"map_type\":\(quote(verdict.mapType.shortName)),\"distance\":\(verdict.distance),"
          + "\"common_upstream\":\(verdict.commonUpstream.map { quote($0.description) } ?? "null"),"
          + "\"acs_redirect\":\(stringArray(verdict.acsRedirect.map(\.description))),"
          + "\"walk\":\(stringArray(verdict.walk.map { "\($0.side.rawValue):\($0.bdf)" })),"
          + "\"reason\":\(quote(verdict.reason)),\"fix\":\(verdict.fix.map(quote) ?? "null")}")
    } else {
      parts.append("\"p2p\":null")
    }
    return "{" + parts.joined(separator: ",") + "}"
  }

  private static func writeAttachment(
    _ attachment: AttachmentResult, maxEntries: Int?, into writer: inout ChunkedWriter
  ) {
    writer.append(
      "{\"importer\":\(quote(attachment.importer.description)),\"profile\":\(quote(attachment.importerProfile.name)),"
        + "\"dynamic\":\(attachment.isDynamic),\"allow_peer2peer\":\(attachment.allowPeer2peer),"
        + "\"peer2peer\":\(attachment.peer2peer),"
        + "\"map_type\":\(attachment.mapType.map { quote($0.shortName) } ?? "null"),"
        + "\"distance\":\(attachment.distance.map(String.init) ?? "null"),"
        + "\"placement\":\(quote(attachment.placement.rawValue)),"
        + "\"error\":\(attachment.error.map(quote) ?? "null"),"
        + "\"failed_function\":\(attachment.failedFunction.map(quote) ?? "null"),"
        + "\"invalidations\":\(attachment.invalidations),\"dma_mask_bits\":\(attachment.dmaMaskBits),"
        + "\"sg_table\":")
    guard let table = attachment.sgTable else {
      writer.append("null}")
      return
    }
    let shown = min(table.nents, maxEntries ?? table.nents)
    writer.append(
      "{\"nents\":\(table.nents),\"orig_nents\":\(table.origNents),\"total_dma_len\":\(table.totalDMALength),"
        + "\"entries_shown\":\(shown),\"entries\":[")
    let pageBacked = table.isPageBacked
    for index in 0..<shown {
      // Byte-level formatting: this loop runs 4,194,304 times for the biggest tables.
      let entry = table[index]
      writer.appendASCII(index > 0 ? ",{\"dma_address\":\"0x" : "{\"dma_address\":\"0x")
      writer.appendHex(entry.dmaAddress)
      writer.appendASCII("\",\"dma_len\":")
      writer.appendDecimal(entry.dmaLength)
      if let pfn = entry.pagePFN {
        writer.appendASCII(",\"page\":\"pfn:0x")
        writer.appendHex(pfn)
        writer.appendASCII("\"")
      } else {
        writer.appendASCII(",\"page\":null")
      }
      writer.appendASCII(",\"target\":\"")
      if case .systemRAM = entry.target.backing {
        writer.appendASCII("system RAM")
      } else {
        writer.append(entry.target.backingDescription)
      }
      writer.appendASCII("\",\"kind\":\"")
      writer.append(entry.addressKind.rawValue)
      writer.appendASCII(entry.isBusAddress ? "\",\"bus_address\":true" : "\",\"bus_address\":false")
      if pageBacked {
        // Which CPU entries (orig_nents side) this DMA entry covers, as [first, count].
        writer.appendASCII(",\"cpu_entries\":[")
        writer.appendDecimal(UInt64(entry.cpuEntries.lowerBound))
        writer.appendASCII(",")
        writer.appendDecimal(UInt64(entry.cpuEntries.count))
        writer.appendASCII("]")
      }
      writer.appendASCII("}")
    }
    writer.append("]}}")
  }

  // MARK: - JSON helpers

  /// A JSON string literal.
  static func quote(_ text: String) -> String {
    jsonStringLiteral(text)
  }

  static func stringArray(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ",") + "]" }
}

/// Collects UTF-8 bytes and hands them on as text in ~64 KiB pieces.
struct ChunkedWriter {
  let sink: (String) -> Void
  var pending: [UInt8] = []
  static let chunk = 64 * 1024
  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  init(sink: @escaping (String) -> Void) {
    self.sink = sink
    pending.reserveCapacity(Self.chunk + 4096)
  }

  mutating func append(_ text: String) {
    pending.append(contentsOf: text.utf8)
    if pending.count >= Self.chunk { flush() }
  }

  /// Appends a literal without going through `String`.
  mutating func appendASCII(_ text: StaticString) {
    text.withUTF8Buffer { pending.append(contentsOf: $0) }
    if pending.count >= Self.chunk { flush() }
  }

  /// Lower-case hex without leading zeros (at least one digit).
  mutating func appendHex(_ value: UInt64) {
    var shift = value == 0 ? 0 : (63 - value.leadingZeroBitCount) / 4 * 4
    while shift >= 0 {
      pending.append(Self.hexDigits[Int((value >> UInt64(shift)) & 0xf)])
      shift -= 4
    }
  }

  mutating func appendDecimal(_ value: UInt64) {
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { buffer in
      repeat {
        buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
        count += 1
      } while rest > 0
      for position in stride(from: count - 1, through: 0, by: -1) { pending.append(buffer[position]) }
    }
  }

  mutating func flush() {
    guard !pending.isEmpty else { return }
    sink(String(decoding: pending, as: UTF8.self))
    pending.removeAll(keepingCapacity: true)
  }
}
