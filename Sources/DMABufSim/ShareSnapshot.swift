import P2PDMA
import PCITopology

/// The share as it stands right after one step: what the explorer draws when playback stops on
/// that step. Recorded by `SimulationRun.record` for every step, so playback never has to
/// re-run the simulation or guess from the final result.
///
/// Copying is cheap: `SGTable` keeps its entries in arrays shared between copies, so a 4M-entry
/// table referenced by 50 snapshots is stored once.
public struct ShareSnapshot: Sendable, Equatable {
  /// Where the buffer's memory is after the step.
  public var placement: Placement
  /// VRAM buddy blocks the buffer occupies (empty in system memory and for VFIO MMIO ranges).
  public var vramBlocks: [VRAMBlock]
  /// The exporter's pin count (`bo->tbo.pin_count` for amdgpu/xe; i915 pins its pages at attach).
  public var pinCount: Int
  /// One entry per importer, in `ShareSimulation.attachments` order.
  public var attachments: [AttachmentSnapshot]
}

/// One importer's attachment right after a step.
public struct AttachmentSnapshot: Sendable, Equatable {
  public var importer: BDF
  /// Attached (between the exporter's attach and `dma_buf_detach`).
  public var attached: Bool
  /// `attach->peer2peer` as it stands (the core sets it at attach, the exporter may clear it).
  public var peer2peer: Bool
  /// The P2P map type and distance, once the exporter asked PCI P2PDMA for this importer.
  public var mapType: MapType?
  public var distance: Int?
  /// True while the importer holds a live mapping (`map_dma_buf` returned, not yet unmapped or
  /// invalidated).
  public var mapped: Bool
  /// Where the memory `sgTable` points at lives (nil before the first mapping).
  public var mappedPlacement: Placement?
  /// The importer's current table; after an invalidation the old table stays here with
  /// `invalidated` set until a re-map replaces it. After teardown it stays as the table the
  /// importer used (`mapped` is then false).
  public var sgTable: SGTable?
  /// The table was dropped by `invalidate_mappings`/`move_notify` and not yet replaced.
  public var invalidated: Bool
  /// How many times the mapping was invalidated so far.
  public var invalidations: Int
  /// Errno that ended the attachment, once it failed.
  public var error: String?
}
