import P2PDMA
import PCITopology

/// One exporter driver's callbacks, shaped like the kernel's `struct dma_buf_ops`
/// (include/linux/dma-buf.h): attach, detach, pin, unpin, map_dma_buf, unmap_dma_buf, release.
/// Each driver the simulator models has one conforming type in its own file; the dma-buf core
/// sequence (`SimulationRun+Core.swift`) calls them in the kernel's order and never branches on
/// which driver it is talking to.
///
/// The callbacks run against the whole simulation state (`inout SimulationRun`) because, as in
/// the kernel, an exporter's callback may move the buffer and so affect every attachment.
protocol DMABufOps: Sendable {
  /// The call chain that creates the dma_buf (`amdgpu_gem_prime_export -> ... -> dma_buf_export`).
  func exportFunction(_ run: SimulationRun) -> String
  /// The ops table as the export step names it.
  var opsDescription: String { get }
  /// A release note on the export step (nil for none).
  var exportNote: String? { get }
  /// The kernel change this exporter's dma-buf export arrived with, and its name in words (nil:
  /// every release with dma-buf).
  var requiredChange: (change: KernelChange, what: String)? { get }
  /// The ops table has pin/unpin: a dynamic exporter, so the core pins on map for static importers.
  var isDynamic: Bool { get }
  /// False for exporters whose buffer can never be system pages (VFIO's MMIO ranges).
  var mayUseSystemPages: Bool { get }

  /// The buffers a device offers when the input lists none.
  func defaultBuffers(for function: PCIFunction) -> [BufferSpec]
  /// Where the buffer lives when it is exported (placement, VRAM blocks, BAR); may set
  /// `exportError` when the export itself is refused.
  func setUpMemory(_ run: inout SimulationRun)

  /// `dma_buf_ops.attach`; false when the exporter refused (the error is recorded).
  func attach(_ index: Int, _ run: inout SimulationRun) -> Bool
  /// `dma_buf_ops.pin`; false when it failed (the error is recorded).
  func pin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool
  /// `dma_buf_ops.unpin` as the core's map error path names it.
  var unpinFunction: String { get }
  /// The call chain that builds a VRAM table (`amdgpu_vram_mgr_alloc_sgt -> dma_map_resource`).
  var vramTableFunction: String { get }
  /// Where the buffer goes when it leaves VRAM: `.gtt` for the TTM drivers (amdgpu GTT, xe TT),
  /// `.system` for page-backed exporters and i915.
  var systemPlacement: Placement { get }
  /// How the exporter lists system pages for a table.
  var pageListing: PageListing { get }
  /// The system-pages sentence for the assumptions.
  var cpuListAssumption: String { get }
  /// `dma_buf_ops.detach` (nil: the ops table has none).
  var detachFunction: String? { get }
  /// `dma_buf_ops.release`.
  var releaseFunction: String { get }
  /// `dma_buf_ops.map_dma_buf`: validates the placement and builds the importer's table.
  func map(_ index: Int, _ run: inout SimulationRun)
  /// `dma_buf_ops.unmap_dma_buf` as the teardown step names it.
  var unmapFunction: String { get }
  /// The exporter's share of `dma_buf_detach` (state it drops when an attachment goes).
  func detach(_ index: Int, _ run: inout SimulationRun)

  /// "VRAM blocks [...]" / "MMIO: BAR2 of ..." for the export step.
  func describePlacement(_ run: SimulationRun) -> String
  /// `SimBuffer.backing`: where the exported memory is, in plain words.
  func backing(_ run: SimulationRun) -> String
  /// Device memory the struct-page comparison is about (nil: none).
  func deviceMemory(_ run: SimulationRun) -> UInt64?
}

extension DMABufOps {
  var exportNote: String? { nil }
  var requiredChange: (change: KernelChange, what: String)? { nil }
  var systemPlacement: Placement { .gtt }
  var pageListing: PageListing { .drmPrimePagesToSG }
  var cpuListAssumption: String { pageListing.assumption }
  var detachFunction: String? { nil }
  var releaseFunction: String { "drm_gem_dmabuf_release" }
  var vramTableFunction: String { "amdgpu_vram_mgr_alloc_sgt -> dma_map_resource" }
  var mayUseSystemPages: Bool { true }
  func detach(_ index: Int, _ run: inout SimulationRun) {}
  func deviceMemory(_ run: SimulationRun) -> UInt64? { run.vramSize }
}

extension DMABufOpsTable {
  /// The ops of the driver this table belongs to.
  var ops: any DMABufOps {
    switch self {
    case .amdgpu: return AMDGPUExporter()
    case .xe: return XeExporter()
    case .i915: return I915Exporter()
    case .vfioPCI: return VFIOExporter()
    case .systemMemory: return PageBackedExporter(kind: .udmabuf)
    case .drmPrimePages: return PageBackedExporter(kind: .drmPrime)
    }
  }
}

/// How an exporter turns system pages into the CPU side of an sg table.
enum PageListing: Sendable {
  /// `drm_prime_pages_to_sg` -> `sg_alloc_table_from_pages_segment`: adjacent pages coalesced
  /// (amdgpu GTT, xe TT, DRM PRIME), mapped with `DMA_ATTR_SKIP_CPU_SYNC`.
  case drmPrimePagesToSG
  /// udmabuf's `get_sg_table`: `sg_alloc_table(pagecount)` and one `sg_set_folio` per page.
  case udmabufPerPage
  /// i915's `i915_gem_map_dma_buf`: a copy of the object's own table (`obj->mm.pages`), mapped
  /// with `DMA_ATTR_SKIP_CPU_SYNC`.
  case i915ObjectCopy

  var function: String {
    switch self {
    case .drmPrimePagesToSG: return "drm_prime_pages_to_sg -> sg_alloc_table_from_pages_segment"
    case .udmabufPerPage: return "get_sg_table -> sg_alloc_table + sg_set_folio per page"
    case .i915ObjectCopy: return "i915_gem_map_dma_buf: sg_alloc_table + copy of obj->mm.pages"
    }
  }

  var skipsCPUSync: Bool { self != .udmabufPerPage }

  /// The CPU entries the exporter builds from the buffer's physically contiguous runs.
  func cpuList(of runs: PageRuns) -> PageRuns {
    self == .udmabufPerPage ? runs.splitIntoPages() : runs
  }

  func change(_ runs: PageRuns) -> String {
    let entries = "\(runs.count) entr\(runs.count == 1 ? "y" : "ies")"
    switch self {
    case .drmPrimePagesToSG: return "CPU list: \(entries) (physically contiguous pages coalesced)"
    case .udmabufPerPage: return "CPU list: \(entries), one per page (udmabuf does not coalesce)"
    case .i915ObjectCopy: return "CPU list: \(entries) copied from the object's own table (coalesced when it was built)"
    }
  }

  var explanation: String {
    switch self {
    case .drmPrimePagesToSG:
      return "The exporter lists the buffer's pages; runs of physically adjacent pages are merged into one CPU entry "
        + "(up to 4 GiB - 4 KiB each)."
    case .udmabufPerPage:
      return "udmabuf allocates one sg entry per page of the buffer and fills each with sg_set_folio, so "
        + "orig_nents equals the page count whatever the physical layout; only an IOMMU can merge them on the DMA side."
    case .i915ObjectCopy:
      return "i915 does not build a new page list: it allocates a table with the object's orig_nents and copies each "
        + "entry of the object's own table (built when its pages were pinned, adjacent pages coalesced), then maps "
        + "the copy with DMA_ATTR_SKIP_CPU_SYNC."
    }
  }

  var assumption: String {
    switch self {
    case .drmPrimePagesToSG, .i915ObjectCopy:
      return "CPU entries coalesced as sg_alloc_table_from_pages_segment does (max segment 4 GiB - 4 KiB)"
    case .udmabufPerPage:
      return "udmabuf lists one CPU entry per 4 KiB page (no coalescing)"
    }
  }
}
