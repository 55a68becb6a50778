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

  /// Computes the walk as `calc_map_type_and_dist()` does it: the provider's chain up to the first
  /// device that is also on the client's chain; ACS is tested on the provider side up to and
  /// including that device and on the client side below it. Without a common device the provider
  /// side is ACS-tested but, like the kernel, those hits are not culprits.
  public static func compute(
    topology: Topology, provider: Int, client: Int, hasRedirect: (Int) -> Bool
  ) -> WalkPath {
    guard provider >= 0, provider < topology.count, client >= 0, client < topology.count else {
      return WalkPath(nodes: [], culprits: [], commonUpstream: nil)
    }
    let providerChain = topology.pathToRoot(from: provider)
    let clientChain = topology.pathToRoot(from: client)
    let clientPosition = Dictionary(clientChain.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    var culprits = Set<Int>()
    var upward: [Int] = []
    for node in providerChain {
      upward.append(node)
      if hasRedirect(node) { culprits.insert(node) }
      if let position = clientPosition[node] {
        // Client side: below the common device, walked downwards for display.
        let downward = clientChain[..<position].reversed()
        for below in downward where hasRedirect(below) { culprits.insert(below) }
        return WalkPath(nodes: upward + downward, culprits: culprits, commonUpstream: node)
      }
    }
    // No common upstream device: the kernel ignores ACS hits here and goes to the host-bridge check.
    return WalkPath(nodes: providerChain + clientChain.reversed(), culprits: [], commonUpstream: nil)
  }
}

/// One step of the share as the sequence pane shows it.
public struct ShareStep: Sendable, Equatable {
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

  public init(
    lane: Lane, function: String, explanation: String, outcome: String? = nil, importer: Int? = nil,
    walk: WalkPath? = nil, sgEntriesVisible: Int? = nil, isFailure: Bool = false, dmesg: [String] = []
  ) {
    self.dmesg = dmesg
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

  public init(dmaAddress: UInt64, dmaLength: UInt64, page: String, target: String) {
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

  public init(
    importer: Int, allowPeer2peer: Bool, peer2peer: Bool, mapType: MapType?, distance: Int?,
    placement: String, error: String? = nil, culprit: String? = nil, fix: String? = nil,
    sgTable: (any SGRowSource)? = nil, reason: String? = nil
  ) {
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
  public init(steps: [ShareStep], attachments: [AttachmentSummary]) {
    self.steps = steps
    self.attachments = attachments
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
