import P2PDMA
import PCITopology

/// xe's `xe_dmabuf_ops` (drivers/gpu/drm/xe/xe_dma_buf.c): a dynamic exporter of LMEM like
/// amdgpu, but it refuses (-EOPNOTSUPP) what it cannot serve, pins only in TT, and builds VRAM
/// tables only for a buffer that is wholly CPU visible.
struct XeExporter: DMABufOps {
  func exportFunction(_ run: SimulationRun) -> String {
    "xe_gem_prime_export -> drm_gem_prime_export -> dma_buf_export"
  }
  var opsDescription: String { "xe_dmabuf_ops (has pin/unpin: dynamic exporter)" }
  var requiredChange: (change: KernelChange, what: String)? { (.xeDriver, "the xe driver") }
  var isDynamic: Bool { true }
  var unpinFunction: String { "xe_dma_buf_unpin" }
  var unmapFunction: String { "xe_dma_buf_unmap" }
  var vramTableFunction: String { "xe_ttm_vram_mgr_alloc_sgt -> dma_map_resource" }
  var detachFunction: String? { "xe_dma_buf_detach" }

  func defaultBuffers(for function: PCIFunction) -> [BufferSpec] { VRAMExporterSetup.defaultBuffers }

  func setUpMemory(_ run: inout SimulationRun) {
    VRAMExporterSetup.setUp(&run, reportsSmallBAR: false, integratedHasNoVRAM: false)
  }

  /// `xe_dma_buf_attach`.
  func attach(_ index: Int, _ run: inout SimulationRun) -> Bool {
    let state = run.attachments[index]
    let inputs = "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)"
    var changes: [String] = []
    if run.attachments[index].peer2peer {
      let verdict = run.askDistance(index, verbose: false, caller: "xe_dma_buf_attach")
      if verdict.distance < 0 {
        run.attachments[index].peer2peer = false
        changes.append("peer2peer = false: pci_p2pdma_distance() < 0")
      }
    }
    if !run.attachments[index].peer2peer && !run.spec.migratable {
      return run.refuseAttach(
        index, function: "xe_dma_buf_attach", inputs: inputs, errno: "-EOPNOTSUPP",
        why: "The importer cannot use VRAM peer-to-peer and this BO cannot move to system memory, so xe refuses "
          + "the attach instead of serving something the importer cannot reach.")
    }
    changes.append("peer2peer = \(run.attachments[index].peer2peer); runtime-PM reference taken")
    run.record(
      .exporterDriver, "xe_dma_buf_attach", inputs: inputs, changes: changes,
      explanation:
        "xe clears peer2peer when the PCI distance is negative, and refuses only when the buffer could then not "
        + "be served at all (not migratable).",
      attachment: index)
    return true
  }

  /// `xe_dma_buf_pin`.
  func pin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool {
    let pinStep = run.steps.count
    let inputs = "attachment of \(run.importerLabel(index))" + (pinOnMap ? " (pin-on-map)" : "")
    var changes: [String] = []
    // "Allow pinning of p2p dma-buf" (first drm-xe-next PR towards 6.19): VRAM when every
    // attachment can do P2P; the pin body was not read (UNCONFIRMED).
    let everyoneP2P =
      run.has(.xeP2PPin) && run.kernel.dmabufMoveNotify
      && run.attachments.allSatisfy { !$0.attached || $0.peer2peer } && run.attachments[index].peer2peer
    if run.placement == .vram && everyoneP2P {
      run.record(
        .exporterDriver, "xe_dma_buf_pin", inputs: inputs,
        changes: ["pinned in VRAM (every attachment can do P2P; pin count \(run.pinCount + 1))"],
        explanation:
          "Every attachment reaches VRAM peer-to-peer, so xe pins the buffer where it is instead of moving it to "
          + "system memory (TT).",
        note: "≈v6.19+ (UNCONFIRMED: pin body not read); through 6.18 xe pinned only in TT", attachment: index)
      run.pinCount += 1
      run.showPinCount(sinceStep: pinStep)
      if pinOnMap { run.attachments[index].pinnedOnMap = true }
      return true
    }
    let mustMove = run.placement == .vram
    if mustMove {
      guard run.spec.migratable, run.pinCount == 0 else {
        return run.failPin(
          index, function: "xe_dma_buf_pin", inputs: inputs, errno: "-EINVAL",
          why: "xe pins only in system memory (TT) and this BO cannot get there.")
      }
      changes.append("the BO moves VRAM -> TT first")
    }
    changes.append("pinned in TT (pin count \(run.pinCount + 1))")
    run.record(
      .exporterDriver, "xe_dma_buf_pin", inputs: inputs, changes: changes,
      explanation:
        "Not every attachment can reach VRAM peer-to-peer, so xe pins the buffer in system memory (TT).",
      note: "through 6.18 xe pinned only in TT (VRAM pin accounting not done); ≈v6.19+ pins in VRAM when every "
        + "attachment can do P2P (UNCONFIRMED)",
      attachment: index)
    if mustMove { run.migrateToSystem(by: index, function: "xe_bo_migrate(XE_PL_TT)", reason: "xe pins only in TT") }
    run.pinCount += 1
    run.showPinCount(sinceStep: pinStep)
    if pinOnMap { run.attachments[index].pinnedOnMap = true }
    return true
  }

  /// `xe_dma_buf_map`.
  func map(_ index: Int, _ run: inout SimulationRun) {
    let state = run.attachments[index]
    if !state.peer2peer && !run.spec.migratable {
      run.attachments[index].error = "-EOPNOTSUPP"
      run.attachments[index].failedFunction = "xe_dma_buf_map"
      run.record(
        .exporterDriver, "xe_dma_buf_map", inputs: "attachment of \(run.importerLabel(index))", outcome: "-EOPNOTSUPP",
        explanation: "Not P2P and not migratable: xe cannot serve this importer.", attachment: index, failed: true)
      return
    }
    var changes: [String] = []
    if run.pinCount == 0 {
      if !state.peer2peer && run.placement == .vram {
        run.migrateToSystem(by: index, function: "xe_bo_migrate(XE_PL_TT)", reason: "the importer is not P2P")
        changes.append("migrated to TT")
      } else {
        changes.append("validated in place (\(run.placement.rawValue))")
      }
    } else {
      changes.append("pinned: stays in \(run.placement.rawValue)")
    }
    if run.placement == .vram, let visibleVRAM = run.visibleVRAM,
      run.blocks.contains(where: { $0.offset + $0.size > visibleVRAM })
    {
      run.attachments[index].error = "-EOPNOTSUPP"
      run.attachments[index].failedFunction = "xe_ttm_vram_mgr_alloc_sgt"
      run.record(
        .exporterDriver, "xe_dma_buf_map -> xe_ttm_vram_mgr_alloc_sgt",
        inputs: "attachment of \(run.importerLabel(index)), visible VRAM \(formatBytes(visibleVRAM))", changes: changes,
        outcome: "-EOPNOTSUPP",
        explanation:
          "xe builds VRAM sg tables only when the whole buffer is CPU visible (inside the LMEM BAR window). Part of "
          + "this buffer lies beyond the visible \(formatBytes(visibleVRAM)), so the map fails. A larger (resizable) "
          + "BAR would fix it.",
        attachment: index, failed: true)
      return
    }
    run.record(
      .exporterDriver, "xe_dma_buf_map",
      inputs: "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)",
      changes: changes, outcome: run.placement == .vram ? "XE_PL_VRAM0" : "XE_PL_TT",
      explanation: run.placement == .vram
        ? "P2P importer: xe keeps the buffer in VRAM and maps it with dma_map_resource."
        : "The buffer is in system memory (TT): a page table plus dma_map_sgtable.",
      attachment: index)
    run.buildTable(index, failureErrno: nil, exporterFunction: "xe_dma_buf_map")
  }

  func describePlacement(_ run: SimulationRun) -> String { VRAMExporterSetup.describePlacement(run) }
  func backing(_ run: SimulationRun) -> String { VRAMExporterSetup.backing(run) }
}
