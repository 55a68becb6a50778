import DMABufSim
import P2PDMA
import PCITopology

/// The five actors of a dma-buf share, left to right as the sequence pane draws them.
public enum Lane: Int, CaseIterable, Sendable {
  case importerDriver
  case dmaBufCore
  case exporterDriver
  case p2pdma
  case dmaAPI

  /// Column heading in the sequence pane.
  public var title: String {
    switch self {
    case .importerDriver: return "importer driver"
    case .dmaBufCore: return "dma-buf core"
    case .exporterDriver: return "exporter driver"
    case .p2pdma: return "PCI P2PDMA"
    case .dmaAPI: return "DMA API/IOMMU"
    }
  }

  /// Shorter heading for narrow panes.
  public var shortTitle: String {
    switch self {
    case .importerDriver: return "importer"
    case .dmaBufCore: return "dma-buf"
    case .exporterDriver: return "exporter"
    case .p2pdma: return "P2PDMA"
    case .dmaAPI: return "DMA/IOMMU"
    }
  }
}

/// What the user picked: an exporter, one of its buffers, and importers in the order chosen.
public struct ShareSelection: Sendable, Equatable {
  /// Function index of the exporter.
  public var exporter: Int
  /// Index into the exporter's buffer list (`ExplorerState.buffers(of:)`).
  public var bufferIndex: Int
  /// Function indices of the importers.
  public var importers: [Int]

  public init(exporter: Int, bufferIndex: Int, importers: [Int]) {
    self.exporter = exporter
    self.bufferIndex = bufferIndex
    self.importers = importers
  }
}

/// The `pci_p2pdma_distance` walk to light up in the tree: provider up to the common upstream
/// device, then down to the client (or up to both root buses when there is none).
public struct WalkPath: Sendable, Equatable {
  /// Function indices in the order the walk visits them.
  public var nodes: [Int]
  /// Nodes whose ACS Control has RR, CR or EC set (they force the host-bridge path).
  public var culprits: Set<Int>
  /// The nearest common upstream device, nil when the two hang from different root buses.
  public var commonUpstream: Int?

  public init(nodes: [Int], culprits: Set<Int>, commonUpstream: Int?) {
    self.nodes = nodes
    self.culprits = culprits
    self.commonUpstream = commonUpstream
  }
}

/// Where an sg entry's DMA address points, as the importer's device sees it.
public enum SGAddressKind: String, Sendable, Equatable {
  /// A CPU physical address (dma-direct: no IOMMU, or passthrough).
  case cpuPhysical = "CPU-physical"
  /// An IOVA the importer's IOMMU translates.
  case iova = "IOVA"
  /// A PCI bus address routed by a switch (flagged `SG_DMA_BUS_ADDRESS` only on the page-based
  /// `dma_map_sg` paths).
  case pciBus = "PCI bus"
}

/// One importer's attachment as it stands right after a step.
public struct AttachmentMoment: Sendable {
  /// Function index of the importer.
  public var importer: Int
  /// Between the exporter's attach and `dma_buf_detach`.
  public var attached: Bool
  /// `attach->peer2peer` as it stands.
  public var peer2peer: Bool
  /// Known once the exporter asked PCI P2PDMA for this importer.
  public var mapType: MapType?
  public var distance: Int?
  /// The importer holds a live mapping.
  public var mapped: Bool
  /// Where the memory the table points at lives (`VRAM`, `system RAM`), nil before any map.
  public var placement: String?
  /// The current table, or the one an invalidation dropped (then `invalidated` is set).
  public var sgTable: (any SGRowSource)?
  public var invalidated: Bool
  /// Invalidations so far.
  public var invalidations: Int
  public var error: String?
  /// Entries of `sgTable` built so far while the map step is being played (nil: all of them).
  public var entriesBuilt: Int?

  public init(
    importer: Int, attached: Bool = false, peer2peer: Bool = false, mapType: MapType? = nil, distance: Int? = nil,
    mapped: Bool = false, placement: String? = nil, sgTable: (any SGRowSource)? = nil, invalidated: Bool = false,
    invalidations: Int = 0, error: String? = nil
  ) {
    self.importer = importer
    self.attached = attached
    self.peer2peer = peer2peer
    self.mapType = mapType
    self.distance = distance
    self.mapped = mapped
    self.placement = placement
    self.sgTable = sgTable
    self.invalidated = invalidated
    self.invalidations = invalidations
    self.error = error
  }

  /// True once anything happened to this importer's attachment (before that, the panes say
  /// "not attached yet" rather than give the verdict away).
  public var hasStarted: Bool { attached || mapType != nil || sgTable != nil || error != nil || invalidations > 0 }

  /// Rows of the table the sg pane shows now.
  public var visibleEntries: Int {
    guard let sgTable else { return 0 }
    return min(max(0, entriesBuilt ?? sgTable.count), sgTable.count)
  }
}

/// The share right after a step: what every pane draws when the playback stands on it.
public struct ShareMoment: Sendable {
  /// Where the buffer's memory is (`VRAM`, `system RAM`).
  public var placement: String
  /// The exporter's pin count.
  public var pinCount: Int
  /// One per importer, in attachment order.
  public var attachments: [AttachmentMoment]

  public init(placement: String, pinCount: Int, attachments: [AttachmentMoment]) {
    self.placement = placement
    self.pinCount = pinCount
    self.attachments = attachments
  }
}

/// One step of the share as the sequence pane shows it.
public struct ShareStep: Sendable {
  /// The actor doing the work.
  public var lane: Lane
  /// Kernel function, e.g. `dma_buf_dynamic_attach`.
  public var function: String
  /// Plain-words explanation.
  public var explanation: String
  /// Result in a few words (`peer2peer = true`, `-EOPNOTSUPP`...).
  public var outcome: String?
  /// Function index of the importer this step is about, when it is about one.
  public var importer: Int?
  /// Set on the `pci_p2pdma_distance` step: the walk to animate in the tree.
  public var walk: WalkPath?
  /// Number of sg entries of this importer's table built by the end of this step.
  public var sgEntriesVisible: Int?
  /// True when this step failed (drawn as an error).
  public var isFailure: Bool
  /// Lines the kernel prints during this step.
  public var dmesg: [String]
  /// What the step changed, one fact a line (the `*` lines of `simulate`).
  public var effects: [String]
  /// The share right after this step; nil when the step changed nothing the panes draw
  /// (the last step with a moment stands).
  public var moment: ShareMoment?
  /// The kernel file and function the step mirrors (nil when the backend names none).
  public var source: StepSource?

  public init(
    lane: Lane, function: String, explanation: String, outcome: String? = nil, importer: Int? = nil,
    walk: WalkPath? = nil, sgEntriesVisible: Int? = nil, isFailure: Bool = false, dmesg: [String] = [],
    effects: [String] = [], moment: ShareMoment? = nil, source: StepSource? = nil
  ) {
    self.source = source
    self.dmesg = dmesg
    self.effects = effects
    self.moment = moment
    self.lane = lane
    self.function = function
    self.explanation = explanation
    self.outcome = outcome
    self.importer = importer
    self.walk = walk
    self.sgEntriesVisible = sgEntriesVisible
    self.isFailure = isFailure
  }
}

/// One scatter-gather entry as the sg pane prints it.
public struct SGRow: Sendable, Equatable {
  public var dmaAddress: UInt64
  public var dmaLength: UInt64
  /// `NULL` or a pfn.
  public var page: String
  /// What the address points at: `BAR0 of 0000:03:00.0`, `system RAM`, `IOVA → ...`.
  public var target: String
  /// What kind of address `dmaAddress` is.
  public var kind: SGAddressKind

  public init(dmaAddress: UInt64, dmaLength: UInt64, page: String, target: String, kind: SGAddressKind = .cpuPhysical) {
    self.kind = kind
    self.dmaAddress = dmaAddress
    self.dmaLength = dmaLength
    self.page = page
    self.target = target
  }
}

/// A scatter-gather table read row by row, so the pane costs the same for 10 or 4 million entries.
public protocol SGRowSource: Sendable {
  /// DMA entries (`for_each_sgtable_dma_sg`).
  var nents: Int { get }
  /// CPU entries (`for_each_sgtable_sg`).
  var origNents: Int { get }
  /// Rows to show (normally `nents`).
  var count: Int { get }
  /// Row `index`, 0 ≤ index < count.
  func row(_ index: Int) -> SGRow
}

/// A small table held in memory (tests, tiny buffers).
public struct ArraySGRows: SGRowSource {
  public var rows: [SGRow]
  public var nents: Int
  public var origNents: Int
  public init(rows: [SGRow], nents: Int? = nil, origNents: Int? = nil) {
    self.rows = rows
    self.nents = nents ?? rows.count
    self.origNents = origNents ?? rows.count
  }
  public var count: Int { rows.count }
  public func row(_ index: Int) -> SGRow { rows[index] }
}

/// The decision for one importer, as the decision panel prints it.
public struct AttachmentSummary: Sendable {
  /// Function index of the importer.
  public var importer: Int
  public var allowPeer2peer: Bool
  /// `attach->peer2peer` after the exporter's attach callback.
  public var peer2peer: Bool
  public var mapType: MapType?
  public var distance: Int?
  /// Where the buffer ended up for this importer (`VRAM`, `system RAM (GTT)`...).
  public var placement: String
  /// The error the attach or map returned, when it failed.
  public var error: String?
  /// For a refusal or a host-bridge path: the bridge and ACS bits, or the host bridge not allowlisted.
  public var culprit: String?
  /// What would change it (`pci=disable_acs_redir=...`).
  public var fix: String?
  /// The mapped table, when the map succeeded.
  public var sgTable: (any SGRowSource)?
  /// Why the kernel decided so, in plain words (the P2P verdict's explanation).
  public var reason: String?
  /// The importer's driver profile (`mlx5`, `v4l2`...).
  public var importerDriver: String?
  /// True for `dma_buf_attach` without `importer_ops` (never gets peer2peer).
  public var isStatic: Bool

  public init(
    importer: Int, allowPeer2peer: Bool, peer2peer: Bool, mapType: MapType?, distance: Int?,
    placement: String, error: String? = nil, culprit: String? = nil, fix: String? = nil,
    sgTable: (any SGRowSource)? = nil, reason: String? = nil, importerDriver: String? = nil, isStatic: Bool = false
  ) {
    self.importerDriver = importerDriver
    self.isStatic = isStatic
    self.reason = reason
    self.importer = importer
    self.allowPeer2peer = allowPeer2peer
    self.peer2peer = peer2peer
    self.mapType = mapType
    self.distance = distance
    self.placement = placement
    self.error = error
    self.culprit = culprit
    self.fix = fix
    self.sgTable = sgTable
  }
}

/// A whole simulated share: its steps and the per-importer results.
public struct ShareRun: Sendable {
  public var steps: [ShareStep]
  public var attachments: [AttachmentSummary]
  /// The exporter's driver profile (`amdgpu`, `vfio-pci`...).
  public var exporterDriver: String?
  public init(steps: [ShareStep], attachments: [AttachmentSummary], exporterDriver: String? = nil) {
    self.steps = steps
    self.attachments = attachments
    self.exporterDriver = exporterDriver
  }
}

/// The kernel's verdict for one provider/client pair, as the matrix overlay explains it.
public struct PairExplanation: Sendable, Equatable {
  public var mapType: MapType
  public var distance: Int?
  /// One or two sentences: why.
  public var reason: String
  /// What would change it, when something would.
  public var fix: String?
  /// The lines the kernel would print.
  public var dmesg: [String]
  /// `nvidia-smi topo -m`'s word for the pair (`PIX`, `PHB`...) with its meaning: familiar
  /// vocabulary next to the kernel's, which answers a different question.
  public var topologyClass: String?

  public init(
    mapType: MapType, distance: Int?, reason: String, fix: String? = nil, dmesg: [String] = [],
    topologyClass: String? = nil
  ) {
    self.topologyClass = topologyClass
    self.mapType = mapType
    self.distance = distance
    self.reason = reason
    self.fix = fix
    self.dmesg = dmesg
  }
}

/// The kernel logic behind the UI, for one topology and one set of knobs. The app builds a new
/// one whenever a what-if changes, so every pane is recomputed from the same answer.
public protocol ShareBackend: Sendable {
  /// Fast map type and distance for the matrix (nil when unknown).
  func mapTypeAndDistance(provider: Int, client: Int) -> (mapType: MapType, distance: Int)?
  /// The full explanation of one pair.
  func explain(provider: Int, client: Int) throws -> PairExplanation
  /// Simulates the share.
  func simulate(_ selection: ShareSelection) throws -> ShareRun
  /// The buffers a device can export, first = default; nil to use the topology's own list.
  func exportableBuffers(of function: Int) -> [BufferSpec]?
  /// The driver profile the simulator would use for a device (nil when unknown).
  func driverProfile(of function: Int) -> String?
}

extension ShareBackend {
  public func exportableBuffers(of function: Int) -> [BufferSpec]? { nil }
  public func driverProfile(of function: Int) -> String? { nil }
}

/// Builds a backend for a topology and configuration.
public typealias ShareBackendFactory = @Sendable (Topology, P2PConfiguration) -> any ShareBackend

/// A failure to show to the user in words.
public struct ExplorerError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
