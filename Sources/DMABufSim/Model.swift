import P2PDMA
import PCITopology

/// What the user asks: one exporter's buffer shared with one or more importers.
public struct ShareRequest: Sendable {
  public var exporter: BDF
  /// Buffer name from the exporter's buffer list; nil picks the first (default) buffer.
  public var bufferName: String?
  /// Importers in the order they attach and map.
  public var importers: [BDF]
  /// Profile overrides per importer (`amdgpu`, `mlx5`, `v4l2`...).
  public var importerProfiles: [BDF: String]
  /// Profile override for the exporter.
  public var exporterProfile: String?
  public var configuration: P2PConfiguration
  /// How scattered system pages are when the buffer lives in (or moves to) system memory.
  public var systemPageLayout: SystemPageLayout
  /// Replaces the documented seed (FNV-1a of "exporter/buffer").
  public var seed: UInt64?

  public init(
    exporter: BDF, bufferName: String? = nil, importers: [BDF], importerProfiles: [BDF: String] = [:],
    exporterProfile: String? = nil, configuration: P2PConfiguration,
    systemPageLayout: SystemPageLayout = .partlyContiguous, seed: UInt64? = nil
  ) {
    self.exporter = exporter
    self.bufferName = bufferName
    self.importers = importers
    self.importerProfiles = importerProfiles
    self.exporterProfile = exporterProfile
    self.configuration = configuration
    self.systemPageLayout = systemPageLayout
    self.seed = seed
  }
}

/// Where the buffer's memory is. `.vram` means device memory: VRAM/LMEM, or the MMIO BAR range a
/// VFIO exporter shares. `.gtt` is a TTM GPU driver's system-memory placement (amdgpu's GTT,
/// xe's TT: `TTM_PL_TT`), which is not TTM's `SYSTEM` placement (amdgpu's map refuses that);
/// `.system` is plain pages of a page-backed exporter (udmabuf, i915 SMEM, PRIME).
public enum Placement: String, Sendable {
  case vram = "VRAM"
  case system = "SYSTEM"
  case gtt = "GTT"

  /// "VRAM", "system RAM", "GTT (system RAM)".
  public var displayName: String {
    switch self {
    case .vram: return "VRAM"
    case .system: return "system RAM"
    case .gtt: return "GTT (system RAM)"
    }
  }

  /// True for both system-memory placements.
  public var isSystemMemory: Bool { self != .vram }
}

/// The kernel source a step mirrors: the file and function, the release the step's text
/// describes, and whether that was checked against a tree (docs/sources.md lists which).
public struct StepSource: Sendable, Equatable {
  public var file: String
  public var function: String
  public var release: String
  public var confirmed: Bool

  public init(file: String, function: String, release: String, confirmed: Bool) {
    self.file = file
    self.function = function
    self.release = release
    self.confirmed = confirmed
  }

  /// `drivers/dma-buf/dma-buf.c: dma_buf_attach (mainline, CONFIRMED)`.
  /// `CONFIRMED` or `UNCONFIRMED` (kernel-history.md's words).
  public var status: String { confirmed ? "CONFIRMED" : "UNCONFIRMED" }

  public var description: String { "\(file): \(function) (\(release), \(status))" }
}

/// The shared buffer and the facts about its exporter's memory the simulation used.
public struct SimBuffer: Sendable {
  public var name: String
  public var size: UInt64
  public var placementPreference: BufferSpec.Placement
  /// Plain words: "8 MiB in VRAM of 0000:03:00.0 at offset 0x100000 (BAR0 window)".
  public var backing: String
  public var spec: BufferSpec
  /// Device memory size and CPU-visible part (nil for exporters without VRAM).
  public var vramSize: UInt64?
  public var visibleVRAMSize: UInt64?
  /// The BAR that windows the exported memory, when there is one.
  public var bar: BAR?
  /// Buddy blocks where the buffer starts out (empty when it starts in system memory).
  public var initialBlocks: [VRAMBlock]
  /// Seed used for block and page layouts.
  public var seed: UInt64
}

/// Who performs a step. Named `StepActor`, not `Actor`, so that it does not shadow Swift's
/// `Actor` protocol. `SimStep.lane` numbers it for the JSON output (0 exporter, 1 dma-buf core,
/// 2 PCI P2PDMA, 3 DMA API, 4 + n importer n); the explorer draws it in the column of its
/// `ExplorerUI.Lane` (importer first, as the data flows).
public enum StepActor: Sendable, Hashable, CustomStringConvertible {
  case importerDriver(BDF)
  case dmaBufCore
  case exporterDriver
  case pciP2PDMA
  case dmaAPI

  public var description: String {
    switch self {
    case .importerDriver(let bdf): return "importer \(bdf)"
    case .dmaBufCore: return "dma-buf core"
    case .exporterDriver: return "exporter"
    case .pciP2PDMA: return "PCI P2PDMA"
    case .dmaAPI: return "DMA API/IOMMU"
    }
  }

  /// JSON spelling: `importer`, `dma-buf`, `exporter`, `p2pdma`, `dma-api`.
  public var key: String {
    switch self {
    case .importerDriver: return "importer"
    case .dmaBufCore: return "dma-buf"
    case .exporterDriver: return "exporter"
    case .pciP2PDMA: return "p2pdma"
    case .dmaAPI: return "dma-api"
    }
  }
}

/// One call in the sequence.
public struct SimStep: Sendable {
  /// 0-based position in `ShareSimulation.steps`.
  public var index: Int
  public var actor: StepActor
  /// Lane for drawing: 0 exporter, 1 dma-buf core, 2 PCI P2PDMA, 3 DMA API, 4 + n importer n.
  public var lane: Int
  /// Kernel function (or short call chain) this step mirrors.
  public var function: String
  public var inputs: String
  public var stateChanges: [String]
  /// Return value: `0`, `sgt (4 entries)`, `-EOPNOTSUPP` ...
  public var outcome: String
  /// Plain words for a student.
  public var explanation: String
  /// Version-sensitive label (which release this describes, UNVERIFIED items).
  public var kernelNote: String?
  /// Which attachment (index into `attachments`) the step belongs to.
  public var attachmentIndex: Int?
  /// The P2P decision, on the step that asked PCI P2PDMA.
  public var p2pVerdict: P2PVerdict?
  /// How many sg entries exist for `attachmentIndex` after this step (for the animation).
  public var sgEntriesVisible: Int?
  /// Lines the kernel prints during this step.
  public var dmesg: [String]
  /// True when the outcome is an error.
  public var failed: Bool
  /// The share as it stands right after this step (for step-true playback).
  public var snapshot: ShareSnapshot
  /// The kernel file and function this step mirrors, and the release its text describes.
  public var source: StepSource
}

/// The final state of one importer's attachment.
public struct AttachmentResult: Sendable {
  public var importer: BDF
  public var importerProfile: DriverProfile
  /// Dynamic importer (`dma_buf_dynamic_attach` with `importer_ops`).
  public var isDynamic: Bool
  /// `importer_ops->allow_peer2peer` (false for static importers).
  public var allowPeer2peer: Bool
  /// `attach->peer2peer` after the exporter's attach.
  public var peer2peer: Bool
  /// The P2P map type, when the exporter asked PCI P2PDMA.
  public var mapType: MapType?
  /// `pci_p2pdma_distance()` (-1 when not supported), when asked.
  public var distance: Int?
  /// Where the memory the importer's final mapping points at lives.
  public var placement: Placement
  /// Errno that ended the attachment (`-EOPNOTSUPP`), nil when it mapped.
  public var error: String?
  /// The kernel function that returned `error`.
  public var failedFunction: String?
  public var sgTable: SGTable?
  public var verdict: P2PVerdict?
  /// How many times `invalidate_mappings`/`move_notify` dropped this importer's mapping.
  public var invalidations: Int
  /// The importer's DMA mask width and IOMMU mode the mapping used.
  public var dmaMaskBits: Int
  public var iommu: IOMMUMode
}

/// The struct-page comparison shown next to a device-memory export.
public struct StructPageTradeoff: Sendable {
  public var deviceMemory: UInt64
  public var structPageRAM: UInt64
  public var formula: String
  /// "dma_map_resource needs none" in words.
  public var note: String
}

/// Everything one simulation produced.
public struct ShareSimulation: Sendable {
  public var exporter: BDF
  public var buffer: SimBuffer
  public var exporterProfile: DriverProfile
  public var steps: [SimStep]
  public var attachments: [AttachmentResult]
  /// Defaults and inferences the simulation used, in words.
  public var assumptions: [String]
  public var structPageTradeoff: StructPageTradeoff?
  /// "current mainline (v7.3-era)".
  public var kernelModel: String
  /// The release and MOVE_NOTIFY setting the share was simulated for.
  public var kernel: KernelContext
  public var iommu: IOMMUMode

  /// Every dmesg line in order.
  public var dmesg: [String] { steps.flatMap(\.dmesg) }
}

/// Input problems; the CLI prints one line and exits 2.
public enum DMABufSimError: UserFacingError, Sendable, Equatable {
  case unknownDevice(BDF, role: String)
  case unknownBuffer(name: String, exporter: BDF, known: [String])
  case noBuffers(exporter: BDF)
  case noImporters
  case unknownProfile(String)
  case invalidBuffer(name: String, reason: String)

  public var description: String {
    switch self {
    case .unknownDevice(let bdf, let role):
      return "no PCI function \(bdf) in this topology (the \(role)); list them with 'dmabuf-explorer tree'"
    case .unknownBuffer(let name, let exporter, let known):
      return "exporter \(exporter) has no buffer named '\(name)' (it has: \(known.joined(separator: ", ")))"
    case .noBuffers(let exporter):
      return "exporter \(exporter) has no buffers to share"
    case .noImporters:
      return "at least one importer is needed (--importer BDF)"
    case .invalidBuffer(let name, let reason):
      return "buffer '\(name)' cannot be simulated: \(reason)"
    case .unknownProfile(let name):
      return "unknown driver profile '\(name)' (known: \(DriverProfile.all.map(\.name).joined(separator: ", ")))"
    }
  }
}
