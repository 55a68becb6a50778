import P2PDMA
import PCITopology

/// One importer's attachment while the simulation runs.
struct AttachmentState {
  var importer: BDF
  /// The importer's index in the topology (for the P2P engine).
  var importerIndex: Int
  var profile: DriverProfile
  var device: DMADevice
  var lane: Int
  var peer2peer = false
  /// Attached with importer ops (`dma_buf_dynamic_attach`; from 5.7).
  var isDynamic = false
  /// `importer_ops->allow_peer2peer` as this release has it (the flag arrived in 5.8).
  var allowPeer2peer = false
  var verdict: P2PVerdict?
  var error: String?
  var failedFunction: String?
  var table: SGTable?
  /// The table `invalidate_mappings` dropped, shown (flagged invalidated) until a re-map
  /// replaces it.
  var invalidatedTable: SGTable?
  var tablePlacement: Placement?
  var attached = false
  var mapped = false
  var pinnedOnMap = false
  var pinnedByImporter = false
  var invalidations = 0
  var needsRemap = false
  /// IOVA allocations behind the current mapping; freed when it is unmapped.
  var iovas: [UInt64] = []

  /// Drops the mapping: frees its IOVAs (`dma_unmap_*` under an IOMMU) and forgets the table.
  mutating func unmap() {
    for iova in iovas { device.domain.free(iova: iova) }
    iovas = []
    mapped = false
    table = nil
  }
}
