import P2PDMA
import PCITopology

/// Exporters whose buffer is ordinary pages and never moves: udmabuf and the dma-heap system
/// heap (drivers/dma-buf/udmabuf.c, heaps/system_heap.c), and DRM PRIME objects that already
/// live in system memory (`drm_gem_prime_export` with `drm_gem_map_dma_buf`). No pin callback:
/// static exporters.
struct PageBackedExporter: DMABufOps {
  enum Kind: Sendable {
    /// udmabuf / system heap.
    case udmabuf
    /// A GEM object exported through the DRM PRIME helpers (nouveau, generic PRIME).
    case drmPrime
  }

  var kind: Kind

  func exportFunction(_ run: SimulationRun) -> String {
    switch kind {
    case .udmabuf: return "udmabuf_create -> dma_buf_export"
    case .drmPrime: return "drm_gem_prime_export -> dma_buf_export"
    }
  }
  var opsDescription: String { "page-backed ops (no pin: static exporter)" }
  var isDynamic: Bool { false }
  var unpinFunction: String { "no unpin callback" }
  var unmapFunction: String {
    switch kind {
    case .udmabuf: return "unmap_udmabuf"
    case .drmPrime: return "drm_gem_unmap_dma_buf"
    }
  }

  func defaultBuffers(for function: PCIFunction) -> [BufferSpec] {
    [BufferSpec(name: "udmabuf-8MiB", size: DMABufSimulator.defaultBufferSize, preferredPlacement: .system)]
  }

  func setUpMemory(_ run: inout SimulationRun) { run.placement = .system }

  var systemPlacement: Placement { .system }
  var pageListing: PageListing { kind == .udmabuf ? .udmabufPerPage : .drmPrimePagesToSG }
  var detachFunction: String? { kind == .udmabuf ? nil : "drm_gem_map_detach" }
  var releaseFunction: String { kind == .udmabuf ? "release_udmabuf" : "drm_gem_dmabuf_release" }

  /// No attach callback is needed: every importer can use ordinary pages.
  func attach(_ index: Int, _ run: inout SimulationRun) -> Bool {
    let state = run.attachments[index]
    let inputs = "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)"
    switch kind {
    case .udmabuf:
      run.record(
        .exporterDriver, "attach (no exporter callback needed)", inputs: inputs,
        changes: ["peer2peer irrelevant: the buffer is ordinary pages"],
        explanation: "A page-backed exporter can serve every importer; there is nothing peer-to-peer to decide.",
        attachment: index)
    case .drmPrime:
      run.record(
        .exporterDriver, "drm_gem_map_attach", inputs: inputs,
        changes: ["the GEM object's pages are pinned (obj->funcs->pin, if the driver has one)"],
        explanation:
          "The DRM PRIME helper pins the object's backing pages so they stay put while attached; they are "
          + "ordinary pages, so there is nothing peer-to-peer to decide.",
        attachment: index)
    }
    return true
  }

  func pin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool {
    Self.noPin(index, pinOnMap: pinOnMap, &run)
  }

  /// `dma_buf_pin` on an exporter without a pin callback does nothing.
  static func noPin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool {
    let inputs = "attachment of \(run.importerLabel(index))" + (pinOnMap ? " (pin-on-map)" : "")
    run.record(
      .dmaBufCore, "dma_buf_pin", inputs: inputs, changes: ["exporter has no pin callback: nothing to do"],
      explanation: "The buffer never moves anyway, so pinning is a no-op.", attachment: index)
    return true
  }

  func map(_ index: Int, _ run: inout SimulationRun) {
    Self.mapPages(index, exporterFunction: kind == .udmabuf ? "map_udmabuf" : "drm_gem_map_dma_buf", &run)
  }

  /// The page-backed `map_dma_buf`: a page table, mapped for the importer.
  static func mapPages(_ index: Int, exporterFunction: String, _ run: inout SimulationRun) {
    run.record(
      .exporterDriver, exporterFunction, inputs: "attachment of \(run.importerLabel(index))",
      changes: ["buffer is in system memory"], outcome: "builds page table",
      explanation:
        "The buffer is made of ordinary pages; the exporter builds a page table and maps it for the importer.",
      attachment: index)
    run.buildTable(index, failureErrno: nil, exporterFunction: exporterFunction)
  }

  static func describeSystemPlacement(_ run: SimulationRun) -> String {
    if let pages = run.pages { return "system RAM, \(pages.count) runs of pages" }
    return "system RAM"
  }

  func describePlacement(_ run: SimulationRun) -> String { Self.describeSystemPlacement(run) }
  func backing(_ run: SimulationRun) -> String { "system RAM pages" }
  func deviceMemory(_ run: SimulationRun) -> UInt64? { nil }
}
