import P2PDMA
import PCITopology

/// Step recording: every step goes through `record`, which also takes the step's snapshot.
extension SimulationRun {
  // MARK: - Step recording

  func lane(of actor: StepActor, attachment: Int?) -> Int {
    switch actor {
    case .exporterDriver: return 0
    case .dmaBufCore: return 1
    case .pciP2PDMA: return 2
    case .dmaAPI: return 3
    case .importerDriver(let bdf):
      if let attachment { return attachments[attachment].lane }
      return 4 + (request.importers.firstIndex(of: bdf) ?? 0)
    }
  }

  mutating func record(
    _ actor: StepActor, _ function: String, inputs: String, changes: [String] = [], outcome: String = "0",
    explanation: String, note: String? = nil, attachment: Int? = nil, verdict: P2PVerdict? = nil,
    sgVisible: Int? = nil, dmesg: [String] = [], failed: Bool = false, source: StepSource? = nil
  ) {
    steps.append(
      SimStep(
        index: steps.count, actor: actor, lane: lane(of: actor, attachment: attachment), function: function,
        inputs: inputs, stateChanges: changes, outcome: outcome, explanation: explanation, kernelNote: note,
        attachmentIndex: attachment, p2pVerdict: verdict, sgEntriesVisible: sgVisible, dmesg: dmesg, failed: failed,
        snapshot: snapshot(), source: source ?? SourceCatalogue.source(for: function)))
  }

  /// The share as it stands now, for the step just recorded.
  func snapshot() -> ShareSnapshot {
    ShareSnapshot(
      placement: placement, vramBlocks: blocks, pinCount: pinCount,
      attachments: attachments.map { state in
        AttachmentSnapshot(
          importer: state.importer, attached: state.attached, peer2peer: state.peer2peer,
          mapType: state.verdict?.mapType, distance: state.verdict?.distance, mapped: state.mapped,
          mappedPlacement: state.tablePlacement, sgTable: state.table ?? state.invalidatedTable,
          invalidated: state.table == nil && state.invalidatedTable != nil, invalidations: state.invalidations,
          error: state.error)
      })
  }

  /// A pin counts from the exporter's pin step on, including the move and invalidation steps
  /// the pin caused before the count was raised.
  mutating func showPinCount(sinceStep first: Int) {
    for index in first..<steps.count { steps[index].snapshot.pinCount = pinCount }
  }

  var bufferLabel: String { "\(spec.name) (\(formatBytes(spec.size)))" }

  func importerLabel(_ index: Int) -> String {
    let state = attachments[index]
    return "\(state.importer) (\(state.profile.name))"
  }

  func pageAligned(_ value: UInt64) -> UInt64 { (value + simPageSize - 1) & ~(simPageSize - 1) }

  var exporterName: String { exporterProfile.driverName }
}
