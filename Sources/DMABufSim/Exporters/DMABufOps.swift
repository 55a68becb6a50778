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
  var vramTableFunction: String { "amdgpu_vram_mgr_alloc_sgt -> dma_map_resource" }
  var mayUseSystemPages: Bool { true }
  func detach(_ index: Int, _ run: inout SimulationRun) {}
  func deviceMemory(_ run: SimulationRun) -> UInt64? { run.vramSize }
}

extension ExporterBehaviour {
  /// The ops of the driver this behaviour stands for.
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
