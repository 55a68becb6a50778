import P2PDMA
import PCITopology

/// amdgpu's `amdgpu_dmabuf_ops` (drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c): a dynamic
/// exporter of VRAM. Attach clears peer2peer on a negative distance and never refuses; pin and
/// map keep VRAM only when every importer (pin) or this importer (map) can do P2P.
struct AMDGPUExporter: DMABufOps {
  func exportFunction(_ run: SimulationRun) -> String {
    "amdgpu_gem_prime_export -> drm_gem_prime_export -> dma_buf_export"
  }
  var opsDescription: String { "amdgpu_dmabuf_ops (has pin/unpin: dynamic exporter)" }
  var isDynamic: Bool { true }
  var unpinFunction: String { "amdgpu_dma_buf_unpin" }
  var unmapFunction: String { "amdgpu_dma_buf_unmap" }

  func defaultBuffers(for function: PCIFunction) -> [BufferSpec] { VRAMExporterSetup.defaultBuffers }

  func setUpMemory(_ run: inout SimulationRun) {
    VRAMExporterSetup.setUp(&run, reportsSmallBAR: true, integratedHasNoVRAM: false)
  }

  /// `amdgpu_dma_buf_attach`.
  func attach(_ index: Int, _ run: inout SimulationRun) -> Bool {
    let state = run.attachments[index]
    let inputs = "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)"
    var changes: [String] = []
    if run.spec.dccCompressed && run.attachments[index].peer2peer {
      run.attachments[index].peer2peer = false
      changes.append("peer2peer = false: GFX12 BO with DCC (compressed surfaces are not shared raw)")
    }
    // Before 5.8 amdgpu exported GTT only: its attach made no P2PDMA check (kernel-history.md §3).
    guard run.has(.amdgpuVRAMExport) else {
      run.record(
        .exporterDriver, "amdgpu_dma_buf_attach", inputs: inputs,
        changes: ["peer2peer stays false", "no pci_p2pdma_distance call: amdgpu exports GTT only before 5.8"],
        outcome: "0",
        explanation:
          "On \(run.kernel.release.series) amdgpu does not export VRAM to other devices at all, so its attach asks "
          + "p2pdma nothing (and prints nothing): the buffer is served from system memory (GTT).",
        note: "5.8 amdgpu-vram-export: VRAM export and the attach-time pci_p2pdma_distance_many() check arrived in 5.8",
        attachment: index)
      return true
    }
    // Verbose (pci_p2pdma_distance_many(..., true)) until "Disable verbose for p2p dist calc" (≈6.1).
    let verdict = run.askDistance(
      index, verbose: !run.has(.amdgpuAttachQuiet), caller: "amdgpu_dma_buf_attach", viaMapType: false)
    if verdict.distance < 0 && run.attachments[index].peer2peer {
      run.attachments[index].peer2peer = false
      changes.append("peer2peer = false: pci_p2pdma_distance() < 0")
    }
    if changes.isEmpty { changes.append("peer2peer stays \(run.attachments[index].peer2peer)") }
    changes.append("amdgpu_vm_bo_update_shared(bo)")
    run.record(
      .exporterDriver, "amdgpu_dma_buf_attach", inputs: inputs, changes: changes, outcome: "0",
      explanation:
        "amdgpu never refuses an attach for P2P reasons. It only clears peer2peer when the importer is not in "
        + "its XGMI hive and the PCI distance is negative; then the buffer will be served from system memory (GTT).",
      note: "≈v6.x+: pci_p2pdma_distance(verbose=false), so no warnings; v5.10 used distance_many(verbose=true). "
        + "XGMI hives are not modelled.",
      attachment: index)
    return true
  }

  /// `amdgpu_dma_buf_pin` -> `amdgpu_bo_pin`.
  func pin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool {
    let pinStep = run.steps.count
    let inputs = "attachment of \(run.importerLabel(index))" + (pinOnMap ? " (pin-on-map)" : "")
    var domains: Set<Placement> = run.spec.preferredPlacement == .vram ? [.vram, .gtt] : [.gtt]
    let nonP2P = run.attachments.filter { $0.attached && !$0.peer2peer }.map(\.importer)
    var changes: [String] = []
    if !run.has(.amdgpuVRAMPin) && domains.contains(.vram) {
      domains.remove(.vram)
      changes.append("VRAM not allowed: before 6.15 amdgpu pins dma-bufs only in GTT")
    } else if run.has(.amdgpuNoVRAMPinWithoutMoveNotify) && !run.kernel.dmabufMoveNotify && domains.contains(.vram) {
      domains.remove(.vram)
      changes.append("VRAM dropped: CONFIG_DMABUF_MOVE_NOTIFY=n (amdgpu pins VRAM only with it, ≈6.16+)")
    }
    if !nonP2P.isEmpty && domains.contains(.vram) {
      domains.remove(.vram)
      changes.append("VRAM dropped: attachment(s) \(nonP2P.map(\.description).joined(separator: ", ")) cannot do P2P")
    }
    if run.pinCount > 0 {
      guard domains.contains(run.placement) else {
        return run.failPin(
          index, function: "amdgpu_dma_buf_pin -> amdgpu_bo_pin", inputs: inputs, errno: "-EINVAL",
          why:
            "The buffer is already pinned in \(run.placement.rawValue), which this pin does not allow, and a pinned BO "
            + "cannot move.")
      }
      changes.append("pin count \(run.pinCount + 1) (already pinned in \(run.placement.rawValue))")
    } else if domains.contains(.vram) && run.placement == .vram && run.spec.size <= (run.visibleVRAM ?? run.spec.size) {
      changes.append("pinned in VRAM (all attachments can do P2P; CPU_ACCESS_REQUIRED set)")
    } else {
      if domains.contains(.vram) && run.placement == .vram {
        changes.append("VRAM impossible: the buffer is larger than the CPU-visible VRAM window")
      }
      changes.append(
        "pinned in GTT (system memory)" + (run.placement == .vram ? ": the BO moves out of VRAM first" : ""))
    }
    run.record(
      .exporterDriver, "amdgpu_dma_buf_pin", inputs: inputs, changes: changes,
      explanation:
        "amdgpu pins in VRAM only if every attachment can reach VRAM peer-to-peer; one non-P2P attachment is "
        + "enough to pin the buffer in system memory (GTT) for everyone.",
      note: "≈v6.15+ (f5e7fabd1f5c; VRAM pins need DMABUF_MOVE_NOTIFY, always built since ≈v7.1); "
        + "before 2025 amdgpu pinned only in GTT",
      attachment: index)
    if run.pinCount == 0 {
      if domains.contains(.vram) && run.placement == .vram && run.spec.size <= (run.visibleVRAM ?? run.spec.size) {
        ensureVisible(by: index, &run)
      } else {
        run.migrateToSystem(by: index, function: "amdgpu_bo_pin -> ttm_bo_validate", reason: "it is pinned in GTT")
      }
    }
    run.pinCount += 1
    run.showPinCount(sinceStep: pinStep)
    if pinOnMap { run.attachments[index].pinnedOnMap = true }
    return true
  }

  /// `amdgpu_dma_buf_map`.
  func map(_ index: Int, _ run: inout SimulationRun) {
    let state = run.attachments[index]
    var changes: [String] = []
    let explanation: String
    enum Action { case none, keepVisible, toGTT }
    var action = Action.none
    if run.pinCount > 0 {
      changes.append("BO pinned in \(run.placement.rawValue): no validation, it stays there")
      explanation = "The buffer is pinned, so amdgpu maps it where it is."
    } else if run.spec.preferredPlacement == .vram && state.peer2peer {
      changes.append("domains GTT | VRAM (preferred VRAM and peer2peer), CPU_ACCESS_REQUIRED")
      if run.placement == .vram {
        explanation =
          "The importer can reach VRAM peer-to-peer, so the buffer may stay in VRAM, but only in the "
          + "CPU-visible part that BAR0 windows."
        action = .keepVisible
      } else {
        explanation =
          "VRAM would be allowed, but the buffer is already in GTT, which is also allowed, so "
          + "ttm_bo_validate leaves it there."
      }
    } else {
      changes.append(
        "domains GTT only ("
          + (run.spec.preferredPlacement == .vram ? "peer2peer is false" : "the BO does not prefer VRAM") + ")")
      explanation = "This importer cannot take VRAM (peer2peer false), so the buffer must be in GTT (system memory)."
      if run.placement == .vram {
        action = .toGTT
        changes.append("ttm_bo_validate moves the BO VRAM -> GTT")
      }
    }
    run.record(
      .exporterDriver, "amdgpu_dma_buf_map",
      inputs: "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)",
      changes: changes, outcome: "validates, then builds the sg table", explanation: explanation, attachment: index)
    switch action {
    case .none: break
    case .keepVisible: ensureVisible(by: index, &run)
    case .toGTT:
      run.migrateToSystem(
        by: index, function: "amdgpu_dma_buf_map -> ttm_bo_validate", reason: "this importer needs GTT")
    }
    run.buildTable(index, failureErrno: run.placement == .vram ? nil : "-EBUSY", exporterFunction: "amdgpu_dma_buf_map")
  }

  /// amdgpu with CPU_ACCESS_REQUIRED: VRAM placement is limited to the visible window
  /// (`lpfn = visible_vram_size >> PAGE_SHIFT`). A buffer outside it moves into it, or to GTT
  /// when it cannot fit (UNVERIFIED: the GTT fallback comes from the GTT|VRAM placement list).
  private func ensureVisible(by index: Int, _ run: inout SimulationRun) {
    guard let visibleVRAM = run.visibleVRAM, run.blocks.contains(where: { $0.offset + $0.size > visibleVRAM }) else {
      return
    }
    var allocator = VRAMBuddyAllocator(limit: visibleVRAM, occupiedBySeed: run.seed)
    if run.spec.size <= visibleVRAM, let moved = allocator.allocate(size: run.spec.size) {
      let old = run.blocks
      run.blocks = moved
      run.record(
        .exporterDriver, "ttm_bo_validate -> amdgpu_bo_move (VRAM -> visible VRAM)",
        inputs:
          "BO at \(old.map { "0x\(hex($0.offset, width: 1))" }.joined(separator: ", ")), visible VRAM \(formatBytes(visibleVRAM))",
        changes: [
          "moved into the CPU-visible window: \(moved.map { "0x\(hex($0.offset, width: 1))+\(formatBytes($0.size))" }.joined(separator: ", "))"
        ],
        explanation:
          "Part of the buffer lay beyond the CPU-visible VRAM (the BAR0 window), where a peer cannot reach it. "
          + "CPU_ACCESS_REQUIRED limits the placement to the visible part, so TTM moves it there.",
        attachment: index)
      run.invalidateOthers(except: index, reason: "moved within VRAM")
    } else {
      run.migrateToSystem(
        by: index, function: "ttm_bo_validate -> amdgpu_bo_move (VRAM -> GTT)",
        reason:
          "the buffer (\(formatBytes(run.spec.size))) does not fit in the \(formatBytes(visibleVRAM)) CPU-visible VRAM window"
      )
    }
  }

  func describePlacement(_ run: SimulationRun) -> String { VRAMExporterSetup.describePlacement(run) }
  func backing(_ run: SimulationRun) -> String { VRAMExporterSetup.backing(run) }
}
