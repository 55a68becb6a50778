import P2PDMA
import PCITopology

extension SimulationReport {
  /// The JSON document (for tests and small tables); prefer `writeJSON` for huge ones.
  public static func json(_ simulation: ShareSimulation, maxEntries: Int? = nil) throws -> String {
    var out = ""
    try writeJSON(simulation, maxEntries: maxEntries) { out += $0 }
    return out
  }

  /// Streams the JSON document (and a final newline) to `sink` in chunks of about 64 KiB.
  public static func writeJSON(_ simulation: ShareSimulation, maxEntries: Int?, to sink: (String) -> Void) throws {
    try JSONOutputEncoder(layout: .compact).encode(SimulationJSON(simulation, maxEntries: maxEntries), to: sink)
    sink("\n")
  }
}

/// The `simulate --format json` document as README documents it, in its key order. The
/// command puts the `"kernel"` object in front (`SimulateOutput` in ExplorerCLI), the same
/// object `matrix` and `explain` carry.
public struct SimulationJSON: Encodable {
  struct Exporter: Encodable {
    var bdf: String
    var profile: String
    var chosen_because: String
  }

  struct Buffer: Encodable {
    var name: String
    var size: UInt64
    var placement_preference: String
    var backing: String
    var vram_size: UInt64?
    var visible_vram_size: UInt64?
    var seed: String
  }

  struct StructPageTradeoffJSON: Encodable {
    var device_memory: UInt64
    var struct_page_ram: UInt64
    var formula: String
    var note: String
    /// `dma_map_resource` (and the phys-vec path) needs no struct pages at all.
    var dma_map_resource_struct_pages = 0
  }

  var kernel_model: String
  var iommu: String
  var exporter: Exporter
  var buffer: Buffer
  var assumptions: [String]
  var struct_page_tradeoff: StructPageTradeoffJSON?
  var steps: [Step]
  var attachments: [Attachment]
  var dmesg: [String]

  public init(_ simulation: ShareSimulation, maxEntries: Int?) {
    let buffer = simulation.buffer
    kernel_model = simulation.kernelModel
    iommu = simulation.iommu.rawValue
    exporter = Exporter(
      bdf: simulation.exporter.description, profile: simulation.exporterProfile.name,
      chosen_because: simulation.exporterProfile.chosenBecause)
    self.buffer = Buffer(
      name: buffer.name, size: buffer.size, placement_preference: buffer.placementPreference.rawValue,
      backing: buffer.backing, vram_size: buffer.vramSize, visible_vram_size: buffer.visibleVRAMSize,
      seed: "0x" + hex(buffer.seed, width: 16))
    assumptions = simulation.assumptions
    struct_page_tradeoff = simulation.structPageTradeoff.map {
      StructPageTradeoffJSON(
        device_memory: $0.deviceMemory, struct_page_ram: $0.structPageRAM, formula: $0.formula, note: $0.note)
    }
    steps = simulation.steps.map(Step.init)
    attachments = simulation.attachments.map { Attachment($0, maxEntries: maxEntries) }
    dmesg = simulation.dmesg
  }

  struct Source: Encodable {
    var file: String
    var function: String
    var release: String
    var confirmed: Bool
  }

  struct P2P: Encodable {
    var provider: String
    var client: String
    var map_type: String
    var distance: Int
    var common_upstream: String?
    var acs_redirect: [String]
    /// `side:bdf` per device the walk visited.
    var walk: [String]
    var reason: String
    var fix: String?

    init(_ verdict: P2PVerdict) {
      provider = verdict.provider.description
      client = verdict.client.description
      map_type = verdict.mapType.shortName
      distance = verdict.distance
      common_upstream = verdict.commonUpstream?.description
      acs_redirect = verdict.acsRedirect.map(\.description)
      walk = verdict.walk.map { "\($0.side.rawValue):\($0.bdf)" }
      reason = verdict.reason
      fix = verdict.fix
    }
  }

  struct Step: Encodable {
    var index: Int
    var actor: String
    /// Only for steps of an importer's driver; the key is absent otherwise.
    var importer: String?
    var lane: Int
    var function: String
    var inputs: String
    var state_changes: [String]
    var outcome: String
    var failed: Bool
    var explanation: String
    var kernel_note: String?
    var attachment: Int?
    var sg_entries_visible: Int?
    var dmesg: [String]
    var source: Source
    var p2p: P2P?

    init(_ step: SimStep) {
      index = step.index
      actor = step.actor.key
      if case .importerDriver(let bdf) = step.actor { importer = bdf.description }
      lane = step.lane
      function = step.function
      inputs = step.inputs
      state_changes = step.stateChanges
      outcome = step.outcome
      failed = step.failed
      explanation = step.explanation
      kernel_note = step.kernelNote
      attachment = step.attachmentIndex
      sg_entries_visible = step.sgEntriesVisible
      dmesg = step.dmesg
      source = Source(
        file: step.source.file, function: step.source.function, release: step.source.release,
        confirmed: step.source.confirmed)
      p2p = step.p2pVerdict.map(P2P.init)
    }

    enum CodingKeys: String, CodingKey {
      case index, actor, importer, lane, function, inputs, state_changes, outcome, failed, explanation
      case kernel_note, attachment, sg_entries_visible, dmesg, source, p2p
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(index, forKey: .index)
      try container.encode(actor, forKey: .actor)
      if let importer { try container.encode(importer, forKey: .importer) }
      try container.encode(lane, forKey: .lane)
      try container.encode(function, forKey: .function)
      try container.encode(inputs, forKey: .inputs)
      try container.encode(state_changes, forKey: .state_changes)
      try container.encode(outcome, forKey: .outcome)
      try container.encode(failed, forKey: .failed)
      try container.encode(explanation, forKey: .explanation)
      try container.encodeIfPresent(kernel_note, forKey: .kernel_note)
      try container.encodeIfPresent(attachment, forKey: .attachment)
      try container.encodeIfPresent(sg_entries_visible, forKey: .sg_entries_visible)
      try container.encode(dmesg, forKey: .dmesg)
      try container.encode(source, forKey: .source)
      try container.encodeIfPresent(p2p, forKey: .p2p)
    }
  }

  struct Attachment: Encodable {
    var importer: String
    var profile: String
    var dynamic: Bool
    var allow_peer2peer: Bool
    var peer2peer: Bool
    var map_type: String?
    var distance: Int?
    var placement: String
    var error: String?
    var failed_function: String?
    var invalidations: Int
    var dma_mask_bits: Int
    var sg_table: Table?

    init(_ attachment: AttachmentResult, maxEntries: Int?) {
      importer = attachment.importer.description
      profile = attachment.importerProfile.name
      dynamic = attachment.isDynamic
      allow_peer2peer = attachment.allowPeer2peer
      peer2peer = attachment.peer2peer
      map_type = attachment.mapType?.shortName
      distance = attachment.distance
      placement = attachment.placement.rawValue
      error = attachment.error
      failed_function = attachment.failedFunction
      invalidations = attachment.invalidations
      dma_mask_bits = attachment.dmaMaskBits
      sg_table = attachment.sgTable.map { Table($0, maxEntries: maxEntries) }
    }
  }

  struct Table: Encodable {
    var nents: Int
    var orig_nents: Int
    var total_dma_len: UInt64
    var entries_shown: Int
    var entries: SGEntriesJSON

    init(_ table: SGTable, maxEntries: Int?) {
      nents = table.nents
      orig_nents = table.origNents
      total_dma_len = table.totalDMALength
      entries_shown = min(table.nents, maxEntries ?? table.nents)
      entries = SGEntriesJSON(table: table, count: entries_shown)
    }
  }
}

/// The first `count` entries of an sg table as a JSON array. `JSONOutputEncoder` lets it write
/// its own bytes (this loop runs 4,194,304 times for the biggest tables); other encoders get the
/// same members through containers.
struct SGEntriesJSON: JSONDirectWritable {
  let table: SGTable
  let count: Int

  enum CodingKeys: String, CodingKey {
    case dma_address, dma_len, page, target, kind, bus_address, cpu_entries
  }

  func encode(to encoder: any Encoder) throws {
    var array = encoder.unkeyedContainer()
    for index in 0..<count {
      let entry = table[index]
      var object = array.nestedContainer(keyedBy: CodingKeys.self)
      try object.encode("0x" + String(entry.dmaAddress, radix: 16), forKey: .dma_address)
      try object.encode(entry.dmaLength, forKey: .dma_len)
      if let pfn = entry.pagePFN {
        try object.encode("pfn:0x" + String(pfn, radix: 16), forKey: .page)
      } else {
        try object.encodeNil(forKey: .page)
      }
      try object.encode(Self.target(entry), forKey: .target)
      try object.encode(entry.addressKind.rawValue, forKey: .kind)
      try object.encode(entry.isBusAddress, forKey: .bus_address)
      // Which CPU entries (orig_nents side) this DMA entry covers, as [first, count].
      if table.isPageBacked {
        try object.encode([entry.cpuEntries.lowerBound, entry.cpuEntries.count], forKey: .cpu_entries)
      }
    }
  }

  static func target(_ entry: SGEntry) -> String {
    if case .systemRAM = entry.target.backing { return "system RAM" }
    return entry.target.backingDescription
  }

  func writeJSON(to output: inout JSONTextOutput) {
    output.appendASCII("[")
    let pageBacked = table.isPageBacked
    for index in 0..<count {
      let entry = table[index]
      output.appendASCII(index > 0 ? ",{\"dma_address\":\"0x" : "{\"dma_address\":\"0x")
      output.appendHex(entry.dmaAddress)
      output.appendASCII("\",\"dma_len\":")
      output.appendDecimal(entry.dmaLength)
      if let pfn = entry.pagePFN {
        output.appendASCII(",\"page\":\"pfn:0x")
        output.appendHex(pfn)
        output.appendASCII("\"")
      } else {
        output.appendASCII(",\"page\":null")
      }
      if case .systemRAM = entry.target.backing {
        output.appendASCII(",\"target\":\"system RAM\"")
      } else {
        output.appendASCII(",\"target\":")
        output.appendString(entry.target.backingDescription)
      }
      // An identifier of ours: no escaping needed.
      output.appendASCII(",\"kind\":\"")
      output.append(entry.addressKind.rawValue)
      output.appendASCII("\"")
      output.appendASCII(entry.isBusAddress ? ",\"bus_address\":true" : ",\"bus_address\":false")
      if pageBacked {
        output.appendASCII(",\"cpu_entries\":[")
        output.appendDecimal(UInt64(entry.cpuEntries.lowerBound))
        output.appendASCII(",")
        output.appendDecimal(UInt64(entry.cpuEntries.count))
        output.appendASCII("]")
      }
      output.appendASCII("}")
    }
    output.appendASCII("]")
  }
}
