import P2PDMA
import PCITopology

/// Which `struct dma_buf_ops` a driver exports with (kernel-model §3); `ops` gives its
/// callbacks (one `DMABufOps` type per driver, Exporters/).
public enum DMABufOpsTable: String, Sendable, CaseIterable {
  /// `amdgpu_dma_buf.c`: attach clears peer2peer on distance < 0 and never refuses; map keeps VRAM
  /// only when preferred and peer2peer, else migrates to GTT.
  case amdgpu
  /// `xe_dma_buf.c`: like amdgpu but refuses (-EOPNOTSUPP) what it cannot serve; whole BO must be
  /// CPU visible.
  case xe
  /// `i915_gem_dmabuf.c`: never P2P; migrates to system memory at attach.
  case i915
  /// `vfio_pci_dmabuf.c`: a BAR range; only P2P importers; phys-vec helper at map.
  case vfioPCI = "vfio-pci"
  /// udmabuf or the dma-heap system heap: pages in system RAM.
  case systemMemory = "system-memory"
  /// A DRM PRIME exporter whose GEM object is already in system RAM (`drm_gem_prime_export`,
  /// `drm_gem_map_dma_buf`): nouveau's GART buffers, generic PRIME.
  case drmPrimePages = "drm-prime-pages"
}

/// A driver model: how it exports, how it imports, and the DMA limits of its device.
public struct DriverProfile: Sendable, Equatable {
  /// Profile key (`amdgpu`, `mlx5`, `v4l2`...).
  public var name: String
  /// The name `dev_printk` prefixes lines with (`mlx5_core`).
  public var driverName: String
  /// One line for the details pane.
  public var summary: String
  /// nil when the driver does not export dma-bufs (the simulator then assumes a system-memory
  /// buffer and says so).
  public var exporter: DMABufOpsTable?
  /// `importer_ops` name when the driver attaches dynamically (`dma_buf_dynamic_attach`); nil
  /// for static importers (`dma_buf_attach`, NULL ops).
  public var importerOps: String?
  /// `importer_ops->allow_peer2peer`.
  public var allowPeer2peer: Bool
  /// The importer's `invalidate_mappings` (formerly `move_notify`) callback as the step names it;
  /// nil for the generic `importer_ops->invalidate_mappings`.
  public var invalidateCallback: String?
  /// The importer calls `dma_buf_pin()` right after attaching (pinned RDMA MRs, iommufd).
  public var pinsAfterAttach: Bool
  /// The kernel change that gave this driver dma-buf import (nil: every release with dma-buf).
  public var importRequires: KernelChange?
  /// What arrived with `importRequires`, in words ("RDMA dma-buf import").
  public var importerFeature: String?
  /// The importer's entry point into dma-buf (`ib_umem_dmabuf_get`), for the step that refuses.
  public var importerEntry: String?
  /// DMA mask width the driver sets with `dma_set_mask_and_coherent()`.
  public var dmaMaskBits: Int
  /// `dma_set_max_seg_size()`; the PCI core default is 64 KiB.
  public var maxSegmentSize: UInt64
  /// `dma_set_seg_boundary()`; the PCI core default is 4 GiB - 1.
  public var segmentBoundaryMask: UInt64
  /// Default device memory size when the input does not say (VRAM/LMEM exporters only).
  public var defaultVRAMSize: UInt64?
  /// The BAR that windows VRAM (`aper_base` for amdgpu is BAR0, xe's LMEM BAR is BAR2).
  public var vramBAR: Int?
  /// Version notes and UNVERIFIED labels about the numbers above.
  public var notes: [String]
  /// Why this profile was chosen for a device (filled in by `DriverProfile.select`).
  public var chosenBecause: String

  /// True when the importer attaches with `importer_ops` (dynamic importer).
  public var isDynamicImporter: Bool { importerOps != nil }

  public init(
    name: String, driverName: String, summary: String, exporter: DMABufOpsTable?, importerOps: String?,
    allowPeer2peer: Bool, invalidateCallback: String? = nil, pinsAfterAttach: Bool = false, dmaMaskBits: Int,
    maxSegmentSize: UInt64 = 0x10000,
    segmentBoundaryMask: UInt64 = 0xffff_ffff, defaultVRAMSize: UInt64? = nil, vramBAR: Int? = nil,
    notes: [String] = [], chosenBecause: String = ""
  ) {
    self.name = name
    self.driverName = driverName
    self.summary = summary
    self.exporter = exporter
    self.importerOps = importerOps
    self.allowPeer2peer = allowPeer2peer
    self.invalidateCallback = invalidateCallback
    self.pinsAfterAttach = pinsAfterAttach
    self.dmaMaskBits = dmaMaskBits
    self.maxSegmentSize = maxSegmentSize
    self.segmentBoundaryMask = segmentBoundaryMask
    self.defaultVRAMSize = defaultVRAMSize
    self.vramBAR = vramBAR
    self.notes = notes
    self.chosenBecause = chosenBecause
  }
}

extension DriverProfile {
  static let uintMaxSegment: UInt64 = 0xffff_ffff
  static let eightGiB: UInt64 = 8 << 30

  public static let amdgpu = DriverProfile(
    name: "amdgpu", driverName: "amdgpu", summary: "AMD GPU: dynamic exporter of VRAM, dynamic P2P importer",
    exporter: .amdgpu, importerOps: "amdgpu_dma_buf_attach_ops", allowPeer2peer: true,
    invalidateCallback: "amdgpu_dma_buf_move_notify (invalidate_mappings)", dmaMaskBits: 44,
    maxSegmentSize: uintMaxSegment, defaultVRAMSize: eightGiB, vramBAR: 0,
    notes: [
      "DMA mask 44 bits (GMC v9 and newer; older GMCs use 40)",
      "max_seg_size UINT_MAX: amdgpu raises the PCI default of 64 KiB",
    ])

  public static let xe = DriverProfile.importer(
    requires: .xeDriver, feature: "the xe driver", entry: "xe_gem_prime_import", profile: xeProfile)

  static let xeProfile = DriverProfile(
    name: "xe", driverName: "xe", summary: "Intel discrete GPU (xe): dynamic exporter of LMEM, dynamic P2P importer",
    exporter: .xe, importerOps: "xe_dma_buf_attach_ops", allowPeer2peer: true,
    invalidateCallback: "xe_dma_buf_move_notify (invalidate_mappings)", dmaMaskBits: 46,
    maxSegmentSize: uintMaxSegment, defaultVRAMSize: eightGiB, vramBAR: 2,
    notes: ["DMA mask 46 bits and max_seg_size UINT_MAX are UNVERIFIED per platform", "LMEM is windowed by BAR2"])

  public static let i915 = DriverProfile(
    name: "i915", driverName: "i915",
    summary: "Intel GPU (i915): never P2P; exports from system memory, static importer",
    exporter: .i915, importerOps: nil, allowPeer2peer: false, dmaMaskBits: 39, maxSegmentSize: uintMaxSegment,
    defaultVRAMSize: eightGiB, vramBAR: 2,
    notes: [
      "DMA mask 39 bits and max_seg_size UINT_MAX are UNVERIFIED", "i915 imports through drm_gem_prime_import (static)",
    ])

  public static let vfioPCI = DriverProfile(
    name: "vfio-pci", driverName: "vfio-pci",
    summary: "VFIO-PCI: exports BAR ranges (VFIO_DEVICE_FEATURE_DMA_BUF); imports through iommufd",
    exporter: .vfioPCI, importerOps: "iopt_dmabuf_attach_revoke_ops", allowPeer2peer: true, pinsAfterAttach: true,
    dmaMaskBits: 64,
    notes: [
      "as an importer a vfio-pci device is modelled as iommufd mapping the buffer for it (iommufd pins, 2026 series)"
    ])

  public static let systemMemory = DriverProfile(
    name: "system-memory", driverName: "udmabuf",
    summary: "udmabuf / dma-heap system heap: pages in system RAM, no P2P", exporter: .systemMemory, importerOps: nil,
    allowPeer2peer: false, dmaMaskBits: 64)

  public static let mlx5 = DriverProfile.importer(
    requires: .rdmaDmabufImport, feature: "RDMA dma-buf import", entry: "ib_umem_dmabuf_get",
    profile: mlx5Profile)

  static let mlx5Profile = DriverProfile(
    name: "mlx5", driverName: "mlx5_core",
    summary: "Mellanox/NVIDIA ConnectX (mlx5 RDMA): dynamic P2P importer, invalidate zaps the MR",
    exporter: nil, importerOps: "mlx5_ib_dmabuf_attach_ops", allowPeer2peer: true,
    invalidateCallback: "mlx5_ib_dmabuf_invalidate_cb (invalidate_mappings)", dmaMaskBits: 64,
    maxSegmentSize: 2 << 30, notes: ["max_seg_size 2 GiB as mlx5_core sets it"])

  public static let rdmaPinned = DriverProfile.importer(
    requires: .rdmaPinnedImport, feature: "pinned RDMA dma-buf import",
    entry: "ib_umem_dmabuf_get_pinned", profile: rdmaPinnedProfile)

  static let rdmaPinnedProfile = DriverProfile(
    name: "rdma-pinned", driverName: "efa",
    summary: "Pinned RDMA MR (ib_umem_dmabuf_get_pinned: EFA and others): dynamic P2P importer that pins",
    exporter: nil, importerOps: "ib_umem_dmabuf_attach_pinned_ops", allowPeer2peer: true,
    invalidateCallback: "ib_umem_dmabuf_unsupported_move_notify", pinsAfterAttach: true,
    dmaMaskBits: 64, notes: ["DMA mask 64 bits UNVERIFIED per NIC"])

  public static let iommufd = DriverProfile(
    name: "iommufd", driverName: "iommufd",
    summary: "iommufd: dynamic P2P importer (pairs with VFIO), pins the buffer", exporter: nil,
    importerOps: "iopt_dmabuf_attach_revoke_ops", allowPeer2peer: true, pinsAfterAttach: true, dmaMaskBits: 64,
    notes: ["iommufd's private VFIO interconnect is not modelled; it is shown as an ordinary dma-buf map"])

  public static let nouveau = DriverProfile(
    name: "nouveau", driverName: "nouveau",
    summary: "NVIDIA GPU (nouveau): static PRIME importer; exports pinned GART (system) memory",
    exporter: .drmPrimePages, importerOps: nil, allowPeer2peer: false, dmaMaskBits: 40,
    notes: [
      "NVIDIA's own driver is out of tree and not modelled; nouveau imports with drm_gem_prime_import (static)",
      "DMA mask 40 bits UNVERIFIED",
    ])

  public static let v4l2 = DriverProfile(
    name: "v4l2", driverName: "videobuf2", summary: "V4L2 capture/codec (videobuf2): static importer",
    exporter: nil, importerOps: nil, allowPeer2peer: false, dmaMaskBits: 64,
    notes: ["videobuf2 uses whatever mask the capture driver set; 64 bits assumed"])

  public static let prime = DriverProfile(
    name: "prime", driverName: "drm", summary: "Generic DRM PRIME importer (drm_gem_prime_import): static",
    exporter: .drmPrimePages, importerOps: nil, allowPeer2peer: false, dmaMaskBits: 64)

  public static let nvme = DriverProfile(
    name: "nvme", driverName: "nvme",
    summary: "NVMe: not a dma-buf importer in mainline; modelled as a static importer",
    exporter: nil, importerOps: nil, allowPeer2peer: false, dmaMaskBits: 64, maxSegmentSize: 0xffff_ffff,
    notes: [
      "mainline NVMe P2P uses p2pmem struct pages (CMB) or O_DIRECT with FOLL_PCI_P2PDMA, not dma-buf; "
        + "a dma-buf handed to NVMe is shown as a generic static importer"
    ])

  public static let generic = DriverProfile(
    name: "generic", driverName: "pci", summary: "Unknown driver: generic static importer", exporter: nil,
    importerOps: nil, allowPeer2peer: false, dmaMaskBits: 64)

  /// Every profile, in the order the UI lists them.
  public static let all: [DriverProfile] = [
    amdgpu, xe, i915, vfioPCI, systemMemory, mlx5, rdmaPinned, iommufd, nouveau, v4l2, prime, nvme, generic,
  ]

  /// Alternative spellings users and scenario files use.
  static let aliases: [String: String] = [
    "udmabuf": "system-memory", "system-heap": "system-memory", "system": "system-memory",
    "vfio": "vfio-pci", "vfio_pci": "vfio-pci", "mlx5_core": "mlx5", "mlx5_ib": "mlx5", "efa": "rdma-pinned",
    "rdma": "rdma-pinned", "videobuf2": "v4l2", "vb2": "v4l2", "drm": "prime", "generic-prime": "prime",
  ]

  /// The profile with this name or alias (case-insensitive).
  public static func named(_ name: String) -> DriverProfile? {
    let key = name.lowercased()
    let resolved = aliases[key] ?? key
    return all.first { $0.name == resolved }
  }

  /// Chooses a device's profile: the scenario's `driverProfile`, then the bound driver's name,
  /// then vendor and class, then the generic importer. `chosenBecause` says which rule won.
  public static func select(for function: PCIFunction, in topology: Topology) -> DriverProfile {
    if let requested = function.extras.driverProfile {
      if var profile = named(requested) {
        profile.chosenBecause = "set by the scenario (driverProfile \"\(requested)\")"
        return profile
      }
    }
    if let driver = function.driver, var profile = profile(forDriver: driver) {
      profile.chosenBecause = "the device is bound to driver \(driver)"
      return profile
    }
    if let profile = inferred(for: function, in: topology) {
      return profile.with { $0.chosenBecause = "inferred: " + $0.chosenBecause }
    }
    var fallback = generic
    fallback.chosenBecause =
      "no driver known for \(function.idPair) class 0x\(hex(function.classCode, width: 6)); generic static importer"
    return fallback
  }

  /// The profile the user named on the command line (error when unknown), else `select(for:in:)`.
  static func resolve(userChoice name: String?, for function: PCIFunction, in topology: Topology) throws
    -> DriverProfile
  {
    guard let name else { return select(for: function, in: topology) }
    guard let named = named(name) else { throw DMABufSimError.unknownProfile(name) }
    return named.with { $0.chosenBecause = "chosen by the user (\(name))" }
  }

  /// The profile of a kernel driver name, when we model that driver.
  public static func profile(forDriver driver: String) -> DriverProfile? {
    switch driver.lowercased() {
    case "amdgpu": return amdgpu
    case "xe": return xe
    case "i915": return i915
    case "vfio-pci", "vfio_pci": return vfioPCI
    case "mlx5_core": return mlx5
    case "efa": return rdmaPinned
    case "nouveau": return nouveau
    case "nvme": return nvme
    case "nvidia":
      return prime.with {
        $0.notes.append("the proprietary nvidia driver is out of tree; shown as a generic static PRIME importer")
      }
    default: return named(driver)
    }
  }

  private static func inferred(for function: PCIFunction, in topology: Topology) -> DriverProfile? {
    let vendor = function.vendorID
    let baseClass = function.baseClass
    switch (vendor, baseClass) {
    case (0x1002, 0x03):
      return amdgpu.with { $0.chosenBecause = "AMD (1002) display controller -> amdgpu" }
    case (0x8086, 0x03):
      let onRootBus = topology.index(of: function.bdf).map { topology.upstreamBridge(of: $0) == nil } ?? false
      if onRootBus {
        return i915.with { $0.chosenBecause = "Intel display controller on the root bus (integrated) -> i915" }
      }
      return xe.with { $0.chosenBecause = "Intel display controller behind a port (discrete) -> xe" }
    case (0x15b3, 0x02), (0x10de, 0x02):
      return mlx5.with { $0.chosenBecause = "Mellanox/NVIDIA networking (class 02xx) -> mlx5 RDMA importer" }
    case (0x1d0f, 0x02):
      return rdmaPinned.with { $0.chosenBecause = "Amazon networking (EFA) -> pinned RDMA importer" }
    case (0x10de, 0x03):
      return nouveau.with {
        $0.chosenBecause =
          "NVIDIA display controller -> nouveau (static PRIME importer; the nvidia driver is not modelled)"
      }
    case (_, 0x01) where function.subClass == 0x08:
      return nvme.with { $0.chosenBecause = "NVMe controller (class 0108)" }
    case (_, 0x04):
      return v4l2.with { $0.chosenBecause = "multimedia device (class 04xx) -> V4L2/videobuf2 static importer" }
    default:
      return nil
    }
  }

  /// `profile` with the kernel change its dma-buf import needs.
  static func importer(requires change: KernelChange, feature: String, entry: String, profile: DriverProfile)
    -> DriverProfile
  {
    profile.with {
      $0.importRequires = change
      $0.importerFeature = feature
      $0.importerEntry = entry
    }
  }

  func with(_ change: (inout DriverProfile) -> Void) -> DriverProfile {
    var copy = self
    change(&copy)
    return copy
  }
}
