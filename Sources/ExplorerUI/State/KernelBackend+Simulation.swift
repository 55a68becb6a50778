import DMABufSim
import P2PDMA
import PCITopology

extension KernelBackend {
  /// Runs `DMABufSimulator` on the selection and turns its result into what the panes draw.
  public func simulate(_ selection: ShareSelection) throws -> ShareRun {
    let topology = engine.topology
    let count = topology.count
    guard selection.exporter >= 0, selection.exporter < count,
      selection.importers.allSatisfy({ $0 >= 0 && $0 < count })
    else { throw ExplorerError("the selection names a device that is not in this topology") }
    let exporter = topology[selection.exporter].bdf
    let buffers = DMABufSimulator.buffers(for: exporter, in: topology)
    let bufferName = buffers.indices.contains(selection.bufferIndex) ? buffers[selection.bufferIndex].name : nil
    let request = ShareRequest(
      exporter: exporter, bufferName: bufferName, importers: selection.importers.map { topology[$0].bdf },
      configuration: engine.configuration, systemPageLayout: pageLayout)
    let simulation = try DMABufSimulator.simulate(topology: topology, request: request)
    let importerIndex = simulation.attachments.map { topology.index(of: $0.importer) ?? -1 }
    let steps = simulation.steps.map { step -> ShareStep in
      var importer = step.attachmentIndex.flatMap { importerIndex.indices.contains($0) ? importerIndex[$0] : nil }
      // Importer-driver steps before the attach (dma_buf_get) name their device only in the actor.
      if importer == nil, case .importerDriver(let bdf) = step.actor { importer = topology.index(of: bdf) }
      var explanation = step.explanation
      if let note = step.kernelNote, !note.isEmpty { explanation += " (\(note))" }
      return ShareStep(
        lane: Self.lane(of: step.actor), function: step.function, explanation: explanation, outcome: step.outcome,
        importer: importer.flatMap { $0 >= 0 ? $0 : nil },
        walk: step.p2pVerdict.map { Self.walk(of: $0, topology: topology) },
        sgEntriesVisible: step.sgEntriesVisible, isFailure: step.failed, dmesg: step.dmesg,
        effects: step.stateChanges,
        moment: Self.moment(step.snapshot, importerIndex: importerIndex, iommu: simulation.iommu),
        source: StepSource(
          file: step.source.file, function: step.source.function, release: step.source.release,
          confirmed: step.source.confirmed))
    }
    let attachments = simulation.attachments.enumerated().map { position, result -> AttachmentSummary in
      var error = result.error
      if let failing = result.failedFunction, let text = error { error = "\(text) from \(failing)" }
      return AttachmentSummary(
        importer: importerIndex[position], allowPeer2peer: result.allowPeer2peer, peer2peer: result.peer2peer,
        mapType: result.mapType, distance: result.distance, placement: Self.placement(result),
        error: error, culprit: result.verdict.flatMap { Self.culprit(of: $0) }, fix: result.verdict?.fix,
        sgTable: result.sgTable.map(SimulatedSGRows.init), reason: result.verdict?.reason,
        importerDriver: result.importerProfile.name, isStatic: !result.isDynamic)
    }
    return ShareRun(steps: steps, attachments: attachments, exporterDriver: simulation.exporterProfile.name)
  }

  /// The simulator's snapshot after a step, in the panes' terms.
  static func moment(_ snapshot: ShareSnapshot, importerIndex: [Int], iommu: IOMMUMode) -> ShareMoment {
    func words(_ placement: Placement) -> String {
      switch placement {
      case .vram: return "VRAM"
      case .system, .gtt: return placement.displayName + (iommu.translates ? " (IOVA)" : "")
      }
    }
    let attachments = snapshot.attachments.enumerated().map { position, attachment in
      AttachmentMoment(
        importer: importerIndex.indices.contains(position) ? importerIndex[position] : -1,
        attached: attachment.attached, peer2peer: attachment.peer2peer, mapType: attachment.mapType,
        distance: attachment.distance, mapped: attachment.mapped, placement: attachment.mappedPlacement.map(words),
        sgTable: attachment.sgTable.map(SimulatedSGRows.init), invalidated: attachment.invalidated,
        invalidations: attachment.invalidations, error: attachment.error)
    }
    let buffer = snapshot.placement.displayName
    return ShareMoment(placement: buffer, pinCount: snapshot.pinCount, attachments: attachments)
  }

  static func lane(of actor: StepActor) -> Lane {
    switch actor {
    case .importerDriver: return .importerDriver
    case .dmaBufCore: return .dmaBufCore
    case .exporterDriver: return .exporterDriver
    case .pciP2PDMA: return .p2pdma
    case .dmaAPI: return .dmaAPI
    }
  }

  /// The engine's walk in lighting order: provider upwards, the common device, then down to the client.
  static func walk(of verdict: P2PVerdict, topology: Topology) -> WalkPath {
    let valid = verdict.walk.filter { $0.index >= 0 && $0.index < topology.count }
    let up = valid.filter { $0.side == .provider }.sorted { $0.hop < $1.hop }
    let common = valid.filter { $0.side == .common }
    let down = valid.filter { $0.side == .client }.sorted { $0.hop > $1.hop }
    let ordered = up + common + down
    let culprits = Set(ordered.filter { $0.redirect && $0.countedByKernel }.map(\.index))
    return WalkPath(
      nodes: ordered.map(\.index), culprits: culprits,
      commonUpstream: verdict.commonUpstream.flatMap { topology.index(of: $0) })
  }

  /// `VRAM`, `SYSTEM via IOMMU`...: where the importer's mapping points.
  static func placement(_ result: AttachmentResult) -> String {
    switch result.placement {
    case .vram: return "VRAM"
    case .system, .gtt: return result.placement.displayName + (result.iommu.translates ? " (IOVA)" : "")
    }
  }

  /// Who to blame, in words: the ACS redirect bridges with their bits, or the host bridge the
  /// allowlist refused.
  static func culprit(of verdict: P2PVerdict) -> String? {
    var parts: [String] = []
    if !verdict.acsRedirect.isEmpty {
      let named = verdict.acsRedirect.map { bdf -> String in
        let bits = verdict.walk.first { $0.bdf == bdf }?.effectiveControl?.intersection(.p2pRedirect)
        return bits.map { "\(bdf) (ACS \($0.shortNames))" } ?? bdf.description
      }
      parts.append("ACS redirect on \(named.joined(separator: ", ")) sends TLPs to the host bridge")
    }
    if verdict.mapType == .notSupported, let check = verdict.hostBridge {
      if let refused = check.lookups.first(where: { !$0.passed }) {
        let device = refused.hostBridgeDevice ?? refused.firstDevice
        let ids = refused.firstDeviceIDs.map { " \($0)" } ?? ""
        let why =
          refused.rejectionReason
          ?? (refused.rejectedBySameHostBridgeRule
            ? "its allowlist entry requires the same host bridge" : "not in the P2PDMA allowlist")
        parts.append("host bridge \(device.map { $0.description } ?? refused.rootBus.description)\(ids): \(why)")
      } else {
        parts.append(check.reason)
      }
    }
    if parts.isEmpty, verdict.mapType == .notSupported { parts.append(verdict.reason) }
    return parts.isEmpty ? nil : parts.joined(separator: "; ")
  }
}

/// The simulator's table read row by row (never materialised: 4 million entries cost nothing).
struct SimulatedSGRows: SGRowSource {
  let table: SGTable
  init(_ table: SGTable) { self.table = table }
  var nents: Int { table.nents }
  var origNents: Int { table.origNents }
  var count: Int { table.count }
  func row(_ index: Int) -> SGRow {
    let entry = table[index]
    let page = entry.pagePFN.map { "pfn 0x" + String($0, radix: 16) } ?? "NULL"
    let target: String
    let kind: SGAddressKind
    switch entry.addressKind {
    case .pciBus:
      target = "PCI bus addr -> \(entry.target)"
      kind = .pciBus
    case .iova:
      target = entry.target.description
      kind = .iova
    case .cpuPhysical:
      target = entry.target.description
      kind = .cpuPhysical
    }
    return SGRow(dmaAddress: entry.dmaAddress, dmaLength: entry.dmaLength, page: page, target: target, kind: kind)
  }
}
