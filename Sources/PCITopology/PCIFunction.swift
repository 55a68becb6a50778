/// PCIe device/port type from the Express capability (`PCI_EXP_FLAGS_TYPE`).
public enum PCIePortType: Int, Sendable, CaseIterable {
  case endpoint = 0x0
  case legacyEndpoint = 0x1
  case rootPort = 0x4
  case upstreamPort = 0x5
  case downstreamPort = 0x6
  case pcieToPCIBridge = 0x7
  case pciToPCIeBridge = 0x8
  case rootComplexIntegratedEndpoint = 0x9
  case rootComplexEventCollector = 0xa

  /// Words `lspci -vvv` prints after `Express (vN)`.
  public var lspciName: String {
    switch self {
    case .endpoint: return "Endpoint"
    case .legacyEndpoint: return "Legacy Endpoint"
    case .rootPort: return "Root Port"
    case .upstreamPort: return "Upstream Port"
    case .downstreamPort: return "Downstream Port"
    case .pcieToPCIBridge: return "PCI-Express to PCI/PCI-X Bridge"
    case .pciToPCIeBridge: return "PCI/PCI-X to PCI-Express Bridge"
    case .rootComplexIntegratedEndpoint: return "Root Complex Integrated Endpoint"
    case .rootComplexEventCollector: return "Root Complex Event Collector"
    }
  }

  /// Short name used in the UI and JSON (`root-port`, `downstream-port`, ...).
  public var shortName: String {
    switch self {
    case .endpoint: return "endpoint"
    case .legacyEndpoint: return "legacy-endpoint"
    case .rootPort: return "root-port"
    case .upstreamPort: return "upstream-port"
    case .downstreamPort: return "downstream-port"
    case .pcieToPCIBridge: return "pcie-to-pci-bridge"
    case .pciToPCIeBridge: return "pci-to-pcie-bridge"
    case .rootComplexIntegratedEndpoint: return "rc-integrated-endpoint"
    case .rootComplexEventCollector: return "rc-event-collector"
    }
  }
}

/// ACS Control / Capability register bits (`PCI_ACS_*` in pci_regs.h).
public struct ACSBits: OptionSet, Sendable, Hashable {
  public let rawValue: UInt16
  public init(rawValue: UInt16) { self.rawValue = rawValue }
  public static let sourceValidation = ACSBits(rawValue: 0x0001)  // SV
  public static let translationBlocking = ACSBits(rawValue: 0x0002)  // TB
  public static let requestRedirect = ACSBits(rawValue: 0x0004)  // RR
  public static let completionRedirect = ACSBits(rawValue: 0x0008)  // CR
  public static let upstreamForwarding = ACSBits(rawValue: 0x0010)  // UF
  public static let egressControl = ACSBits(rawValue: 0x0020)  // EC
  public static let directTranslated = ACSBits(rawValue: 0x0040)  // DT

  /// The bits `pci_bridge_has_acs_redir()` tests: RR | CR | EC.
  public static let p2pRedirect: ACSBits = [.requestRedirect, .completionRedirect, .egressControl]

  /// Names in register order, as `lspci` spells them and as the kernel abbreviates them.
  public static let named: [(bit: ACSBits, lspci: String, short: String)] = [
    (.sourceValidation, "SrcValid", "SV"), (.translationBlocking, "TransBlk", "TB"),
    (.requestRedirect, "ReqRedir", "RR"), (.completionRedirect, "CmpltRedir", "CR"),
    (.upstreamForwarding, "UpstreamFwd", "UF"), (.egressControl, "EgressCtrl", "EC"),
    (.directTranslated, "DirectTrans", "DT"),
  ]

  /// `RR CR` style list of the set bits, or `none`.
  public var shortNames: String {
    let names = Self.named.filter { contains($0.bit) }.map(\.short)
    return names.isEmpty ? "none" : names.joined(separator: " ")
  }
}

/// What we know about a function's ACS extended capability.
public enum ACSState: Sendable, Equatable {
  /// The function has no ACS capability (we saw its whole extended capability list).
  case absent
  /// ACS capability present with its Capability and Control registers.
  case present(capability: ACSBits, control: ACSBits)
  /// We cannot tell: the input lacks the config bytes that would say (no extended space, a cut
  /// dump, a short sysfs `config`). `reason` says why, for the user.
  case unknown(reason: String)

  public var control: ACSBits? {
    if case .present(_, let control) = self { return control }
    return nil
  }
  public var isUnknown: Bool {
    if case .unknown = self { return true }
    return false
  }
}

/// One Base Address Register as the CPU sees it (`pci_resource_start/len`).
public struct BAR: Sendable, Equatable {
  /// BAR number 0...5 (a 64-bit BAR uses two slots and is named by the lower one).
  public var index: Int
  /// CPU physical address (`pci_resource_start`). Zero when unassigned.
  public var address: UInt64
  /// Size in bytes, nil when the input does not tell (hex dumps do not carry sizes).
  public var size: UInt64?
  public var is64Bit: Bool
  public var isPrefetchable: Bool
  public var isIO: Bool
  /// `bus − cpu` address offset of the host-bridge window (`pci_bus_address − pci_resource_start`);
  /// 0 on x86, non-zero on some ARM/PowerPC host bridges.
  public var busOffset: Int64

  public init(
    index: Int, address: UInt64, size: UInt64?, is64Bit: Bool = true, isPrefetchable: Bool = true,
    isIO: Bool = false, busOffset: Int64 = 0
  ) {
    self.index = index
    self.address = address
    self.size = size
    self.is64Bit = is64Bit
    self.isPrefetchable = isPrefetchable
    self.isIO = isIO
    self.busOffset = busOffset
  }

  /// The PCI bus address a peer would use: CPU address + bus offset.
  public var busAddress: UInt64 { UInt64(bitPattern: Int64(bitPattern: address) &+ busOffset) }
}

/// Facts that dumps lack and scenario files add, per device. All optional; the dma-buf simulator
/// documents and shows its defaults when a value is missing.
public struct DeviceExtras: Sendable, Equatable {
  /// Driver profile name (`amdgpu`, `xe`, `i915`, `vfio-pci`, `mlx5`, `nvme`, `udmabuf`...).
  public var driverProfile: String?
  /// Total device memory (VRAM/LMEM) in bytes.
  public var vramSize: UInt64?
  /// CPU-visible part of VRAM (the BAR0/LMEM BAR window) in bytes.
  public var visibleVRAMSize: UInt64?
  /// DMA mask width in bits of this device when it is an importer.
  public var dmaMaskBits: Int?
  /// Buffers this device can export, in order; the first is the default.
  public var buffers: [BufferSpec]
  /// Free-form note shown in the details pane.
  public var note: String?

  public init(
    driverProfile: String? = nil, vramSize: UInt64? = nil, visibleVRAMSize: UInt64? = nil,
    dmaMaskBits: Int? = nil, buffers: [BufferSpec] = [], note: String? = nil
  ) {
    self.driverProfile = driverProfile
    self.vramSize = vramSize
    self.visibleVRAMSize = visibleVRAMSize
    self.dmaMaskBits = dmaMaskBits
    self.buffers = buffers
    self.note = note
  }
}

/// A buffer an exporter can share, as a scenario describes it.
public struct BufferSpec: Sendable, Equatable {
  public enum Placement: String, Sendable {
    case vram = "VRAM"
    case system = "SYSTEM"
  }
  public var name: String
  public var size: UInt64
  /// Where the exporter would like it (`preferred_domains`).
  public var preferredPlacement: Placement
  /// Offset of the buffer inside VRAM when placed there (nil: allocator decides).
  public var vramOffset: UInt64?
  /// GFX12 DCC-compressed BO (amdgpu refuses P2P for those).
  public var dccCompressed: Bool
  /// False for BOs that cannot move to system memory (xe/i915 refuse non-P2P attaches then).
  public var migratable: Bool

  public init(
    name: String, size: UInt64, preferredPlacement: Placement = .vram, vramOffset: UInt64? = nil,
    dccCompressed: Bool = false, migratable: Bool = true
  ) {
    self.name = name
    self.size = size
    self.preferredPlacement = preferredPlacement
    self.vramOffset = vramOffset
    self.dccCompressed = dccCompressed
    self.migratable = migratable
  }
}

/// One PCI function (`struct pci_dev`), with what the input told us about it.
public struct PCIFunction: Sendable, Equatable {
  public var bdf: BDF
  public var vendorID: UInt16
  public var deviceID: UInt16
  public var subsystemVendorID: UInt16?
  public var subsystemDeviceID: UInt16?
  /// 24-bit class code: base class << 16 | subclass << 8 | prog-if.
  public var classCode: UInt32
  public var revision: UInt8
  /// Header type without the multi-function bit (0 normal, 1 PCI bridge, 2 CardBus).
  public var headerType: UInt8
  public var isMultiFunction: Bool
  public var portType: PCIePortType?
  /// For bridges: primary, secondary and subordinate bus numbers.
  public var primaryBus: UInt8?
  public var secondaryBus: UInt8?
  public var subordinateBus: UInt8?
  public var bars: [BAR]
  public var acs: ACSState
  public var iommuGroup: Int?
  /// Kernel driver bound to it (`Kernel driver in use:` or the sysfs `driver` link).
  public var driver: String?
  /// Human name from the input (`lspci` text) or from pci.ids; nil falls back to IDs.
  public var name: String?
  /// Vendor name, when known.
  public var vendorName: String?
  /// True when config space reads all ones (powered off / D3cold / gone).
  public var isPoweredOff: Bool
  /// The raw config bytes when the input had them (hex dumps, sysfs).
  public var config: ConfigSpace?
  /// Scenario additions (driver profile, VRAM, buffers...).
  public var extras: DeviceExtras

  public init(
    bdf: BDF, vendorID: UInt16, deviceID: UInt16, classCode: UInt32, revision: UInt8 = 0,
    headerType: UInt8 = 0, isMultiFunction: Bool = false, portType: PCIePortType? = nil,
    primaryBus: UInt8? = nil, secondaryBus: UInt8? = nil, subordinateBus: UInt8? = nil,
    bars: [BAR] = [], acs: ACSState = .absent, iommuGroup: Int? = nil, driver: String? = nil,
    name: String? = nil, vendorName: String? = nil, isPoweredOff: Bool = false,
    config: ConfigSpace? = nil, subsystemVendorID: UInt16? = nil, subsystemDeviceID: UInt16? = nil,
    extras: DeviceExtras = DeviceExtras()
  ) {
    self.bdf = bdf
    self.vendorID = vendorID
    self.deviceID = deviceID
    self.classCode = classCode
    self.revision = revision
    self.headerType = headerType
    self.isMultiFunction = isMultiFunction
    self.portType = portType
    self.primaryBus = primaryBus
    self.secondaryBus = secondaryBus
    self.subordinateBus = subordinateBus
    self.bars = bars
    self.acs = acs
    self.iommuGroup = iommuGroup
    self.driver = driver
    self.name = name
    self.vendorName = vendorName
    self.isPoweredOff = isPoweredOff
    self.config = config
    self.subsystemVendorID = subsystemVendorID
    self.subsystemDeviceID = subsystemDeviceID
    self.extras = extras
  }

  /// Header type 1 (PCI-to-PCI bridge) or 2 (CardBus bridge): it leads to other buses.
  public var isBridge: Bool { headerType == 1 || headerType == 2 }
  /// Class 0x0600: a host bridge function (excluded from the P2P matrix).
  public var isHostBridgeClass: Bool { classCode >> 8 == 0x0600 }
  /// A function that can be a P2P provider or client in the matrix: not a bridge, not a host
  /// bridge, not powered off.
  public var isEndpointForMatrix: Bool { !isBridge && !isHostBridgeClass && !isPoweredOff }
  public var baseClass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 16) }
  public var subClass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 8) }
  /// Display controller (class 03xx).
  public var isDisplay: Bool { baseClass == 0x03 }
  /// `10de:2684` style vendor:device.
  public var idPair: String { "\(hex(vendorID, width: 4)):\(hex(deviceID, width: 4))" }
  /// Name for display: the known name, else `Device 10de:2684`.
  public var displayName: String { name ?? "Device \(idPair)" }
}
