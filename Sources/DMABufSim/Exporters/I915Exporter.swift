import P2PDMA
import PCITopology

/// i915's `i915_dmabuf_ops` (drivers/gpu/drm/i915/gem/i915_gem_dmabuf.c): a static exporter
/// (no pin) that never shares LMEM peer-to-peer: attach migrates the object to system memory and
/// pins its pages.
struct I915Exporter: DMABufOps {
  func exportFunction(_ run: SimulationRun) -> String {
    "i915_gem_prime_export -> drm_gem_dmabuf_export -> dma_buf_export"
  }
  var opsDescription: String { "i915_dmabuf_ops (no pin: static exporter; UNVERIFIED)" }
  var isDynamic: Bool { false }
  var unpinFunction: String { "i915 has no unpin" }
  var unmapFunction: String { "i915_gem_unmap_dma_buf" }
  var systemPlacement: Placement { .system }
  var pageListing: PageListing { .i915ObjectCopy }
  var detachFunction: String? { "i915_gem_dmabuf_detach" }

  func defaultBuffers(for function: PCIFunction) -> [BufferSpec] { VRAMExporterSetup.defaultBuffers }

  func setUpMemory(_ run: inout SimulationRun) {
    VRAMExporterSetup.setUp(&run, reportsSmallBAR: false, integratedHasNoVRAM: true)
  }

  /// `i915_gem_dmabuf_attach`.
  func attach(_ index: Int, _ run: inout SimulationRun) -> Bool {
    let state = run.attachments[index]
    let inputs = "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)"
    if !run.spec.migratable {
      return run.refuseAttach(
        index, function: "i915_gem_dmabuf_attach", inputs: inputs, errno: "-EOPNOTSUPP",
        why: "i915 never shares LMEM peer-to-peer and this object cannot migrate to system memory.")
    }
    // i915_gem_dmabuf_attach() leaves attach->peer2peer as the core set it: the flag stays
    // true for a dynamic P2P importer, but the buffer it gets is system memory all the same.
    var changes = ["peer2peer left as is, but unused: i915 never exports LMEM peer-to-peer"]
    let mustMove = run.placement == .vram
    if mustMove { changes.append("object migrates LMEM -> SMEM") }
    if run.pinCount == 0 { changes.append("pages pinned (i915_gem_object_pin_pages)") }
    let pinStep = run.steps.count
    run.record(
      .exporterDriver, "i915_gem_dmabuf_attach", inputs: inputs, changes: changes,
      explanation: "Mainline i915 has no P2P: it moves the object to system memory and pins its pages at attach.",
      note: "Intel's out-of-tree DG2/PVC trees differ; not modelled", attachment: index)
    if mustMove {
      run.migrateToSystem(
        by: index, function: "i915_gem_object_migrate(SMEM)", reason: "i915 shares only system memory")
    }
    run.pinCount += 1
    run.showPinCount(sinceStep: pinStep)
    return true
  }

  /// No pin callback: `dma_buf_pin` does nothing.
  func pin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool {
    PageBackedExporter.noPin(index, pinOnMap: pinOnMap, &run)
  }

  /// `i915_gem_map_dma_buf`.
  func map(_ index: Int, _ run: inout SimulationRun) {
    PageBackedExporter.mapPages(index, exporterFunction: "i915_gem_map_dma_buf", &run)
  }

  /// `i915_gem_dmabuf_detach` drops the page pin taken at attach.
  func detach(_ index: Int, _ run: inout SimulationRun) { run.pinCount = max(0, run.pinCount - 1) }

  func describePlacement(_ run: SimulationRun) -> String { VRAMExporterSetup.describePlacement(run) }
  func backing(_ run: SimulationRun) -> String { VRAMExporterSetup.backing(run) }
}
