// What the generator builds from: the endpoint models it places and the platforms on the
// root buses (`MachineGenerator.swift` assembles them into a machine).

// MARK: - Device catalogue

/// One function of an endpoint model.
struct FunctionModel {
  var vendorID: UInt16
  var deviceID: UInt16
  var classCode: UInt32
  var name: String
  var vendorName: String
  /// (BAR index, size, 64-bit, prefetchable)
  var bars: [(index: Int, size: UInt64, is64Bit: Bool, prefetchable: Bool)]
  var driver: String
  var extras: DeviceExtras
}

/// A physical endpoint device: one or more functions in one slot, plus SR-IOV virtual functions.
struct EndpointModel {
  var functions: [FunctionModel]
  /// Virtual functions enabled on the device (`sriov_numvfs`), placed after the physical ones at
  /// consecutive routing IDs as ARI allows (devfn 0.2, 0.3, ... 1.0, ...). Big servers get most
  /// of their functions this way: thousands of functions are mostly NIC VFs.
  var virtualFunctions: (count: Int, template: FunctionModel)? = nil
}

enum DeviceCatalogue {
  static let amd = "Advanced Micro Devices, Inc. [AMD]"
  static let ati = "Advanced Micro Devices, Inc. [AMD/ATI]"
  static let intel = "Intel Corporation"
  static let gib: UInt64 = 1 << 30
  static let mib: UInt64 = 1 << 20

  static let radeonPro = EndpointModel(functions: [
    FunctionModel(
      vendorID: 0x1002, deviceID: 0x7448, classCode: 0x030000, name: "Navi 31 [Radeon PRO W7900]", vendorName: ati,
      bars: [(0, 64 * gib, true, true), (2, 256 * mib, true, true), (5, mib, false, false)], driver: "amdgpu",
      extras: DeviceExtras(
        driverProfile: "amdgpu", vramSize: 48 * gib, visibleVRAMSize: 48 * gib, dmaMaskBits: 44,
        buffers: [BufferSpec(name: "render-target", size: 256 * mib, vramOffset: gib)])),
    FunctionModel(
      vendorID: 0x1002, deviceID: 0xab30, classCode: 0x040300, name: "Navi 31 HDMI/DP Audio", vendorName: ati,
      bars: [(0, 16 << 10, false, false)], driver: "snd_hda_intel", extras: DeviceExtras()),
  ])
  static let instinct = EndpointModel(functions: [
    FunctionModel(
      vendorID: 0x1002, deviceID: 0x740f, classCode: 0x038000, name: "Aldebaran/MI200 [Instinct MI210]",
      vendorName: ati,
      bars: [(0, 64 * gib, true, true), (2, 2 * mib, true, true), (5, 512 << 10, false, false)], driver: "amdgpu",
      extras: DeviceExtras(
        driverProfile: "amdgpu", vramSize: 64 * gib, visibleVRAMSize: 64 * gib, dmaMaskBits: 48,
        buffers: [BufferSpec(name: "gradients", size: 2 * gib, vramOffset: 4 * gib)]))
  ])
  static let arc = EndpointModel(functions: [
    FunctionModel(
      vendorID: 0x8086, deviceID: 0xe20b, classCode: 0x030000, name: "Battlemage G21 [Arc B580]", vendorName: intel,
      bars: [(0, 16 * mib, true, false), (2, 16 * gib, true, true)], driver: "xe",
      extras: DeviceExtras(
        driverProfile: "xe", vramSize: 12 * gib, visibleVRAMSize: 12 * gib, dmaMaskBits: 46,
        buffers: [BufferSpec(name: "render-target", size: 128 * mib)]))
  ])
  static let connectX7 = EndpointModel(
    functions: (0..<2).map { _ in
      FunctionModel(
        vendorID: 0x15b3, deviceID: 0x1021, classCode: 0x020700, name: "MT2910 Family [ConnectX-7]",
        vendorName: "Mellanox Technologies", bars: [(0, 32 * mib, true, true)], driver: "mlx5_core",
        extras: DeviceExtras(driverProfile: "mlx5", dmaMaskBits: 64))
    },
    virtualFunctions: (
      30,
      FunctionModel(
        vendorID: 0x15b3, deviceID: 0x101e, classCode: 0x020700, name: "ConnectX Family mlx5Gen Virtual Function",
        vendorName: "Mellanox Technologies", bars: [(0, 2 * mib, true, true)], driver: "mlx5_core",
        extras: DeviceExtras(driverProfile: "mlx5", dmaMaskBits: 64))
    ))
  static let e810 = EndpointModel(
    functions: (0..<2).map { _ in
      FunctionModel(
        vendorID: 0x8086, deviceID: 0x159b, classCode: 0x020000, name: "Ethernet Controller E810-C for SFP",
        vendorName: intel, bars: [(0, 32 * mib, true, true), (3, 64 << 10, true, true)], driver: "ice",
        extras: DeviceExtras(dmaMaskBits: 64))
    },
    virtualFunctions: (
      14,
      FunctionModel(
        vendorID: 0x8086, deviceID: 0x1889, classCode: 0x020000, name: "Ethernet Adaptive Virtual Function",
        vendorName: intel, bars: [(0, 128 << 10, true, true), (3, 16 << 10, true, true)], driver: "iavf",
        extras: DeviceExtras(dmaMaskBits: 64))
    ))
  static let nvme = EndpointModel(functions: [
    FunctionModel(
      vendorID: 0x144d, deviceID: 0xa824, classCode: 0x010802, name: "NVMe SSD Controller PM173X",
      vendorName: "Samsung Electronics Co Ltd", bars: [(0, 32 << 10, true, false)], driver: "nvme",
      extras: DeviceExtras(driverProfile: "nvme", dmaMaskBits: 64))
  ])

  /// Weighted choices: GPUs and NICs dominate, as in the servers the tool is for.
  static let weighted: [(model: EndpointModel, weight: Int)] = [
    (radeonPro, 20), (instinct, 20), (arc, 10), (connectX7, 20), (e810, 10), (nvme, 20),
  ]
}

// MARK: - Platforms

/// What sits on a generated machine's root buses; picked once per machine from the seed.
struct PlatformFlavour {
  /// True for AMD's layout: a dummy host bridge at function 0 of every root-port slot.
  var usesDummyHostBridges: Bool
  var vendorID: UInt16
  var vendorName: String
  /// The function at 00.0 of every root bus, the one `pci_host_bridge_dev()` looks up.
  var hostBridge: (deviceID: UInt16, classCode: UInt32, name: String, portType: PCIePortType?)
  var rootPort: (deviceID: UInt16, name: String, acsCapability: ACSBits)
  /// A root-complex integrated endpoint used to fill the last one or two functions.
  var integratedEndpoint: (deviceID: UInt16, classCode: UInt32, name: String)
  var platform: PlatformInfo
  var label: String

  /// AMD Zen 4: host-bridge P2P allowed everywhere by the CPU rule.
  static let amdGenoa = PlatformFlavour(
    usesDummyHostBridges: true, vendorID: 0x1022, vendorName: DeviceCatalogue.amd,
    hostBridge: (0x14a4, 0x060000, "Genoa/Bergamo Root Complex", nil),
    rootPort: (0x14ab, "Genoa/Bergamo GPP Bridge", ACSBits(rawValue: 0x1f)),
    integratedEndpoint: (0x14a5, 0x080600, "Genoa/Bergamo IOMMU"),
    platform: PlatformInfo(
      cpuVendor: .amd, cpuFamily: 0x19, cpuModelName: "synthetic AMD EPYC (Zen 4)", iommu: .on, kernel: "mainline"),
    label: "AMD EPYC")
  /// Ice Lake Xeon: every root bus starts with allowlisted 8086:09a2.
  static let intelIceLake = PlatformFlavour(
    usesDummyHostBridges: false, vendorID: 0x8086, vendorName: DeviceCatalogue.intel,
    hostBridge: (0x09a2, 0x088000, "Ice Lake Memory Map/VT-d", .rootComplexIntegratedEndpoint),
    rootPort: (0x347a, "Ice Lake PCIe Root Port", ACSBits(rawValue: 0x5f)),
    integratedEndpoint: (0x0998, 0x088000, "Ice Lake IEH"),
    platform: PlatformInfo(
      cpuVendor: .intel, cpuFamily: 6, cpuModelName: "synthetic Intel Xeon (Ice Lake-SP)", iommu: .on,
      kernel: "mainline"),
    label: "Intel Ice Lake Xeon")
  /// Broadwell-EP Xeon: 8086:6f00 is not allowlisted, so host-bridge paths are refused.
  static let intelBroadwell = PlatformFlavour(
    usesDummyHostBridges: false, vendorID: 0x8086, vendorName: DeviceCatalogue.intel,
    hostBridge: (0x6f00, 0x060000, "Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D DMI2", nil),
    rootPort: (0x6f08, "Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D PCI Express Root Port 3", ACSBits(rawValue: 0x1d)),
    integratedEndpoint: (0x6f28, 0x088000, "Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D Map/VTd_Misc/System Management"),
    platform: PlatformInfo(
      cpuVendor: .intel, cpuFamily: 6, cpuModelName: "synthetic Intel Xeon E5 v4 (Broadwell-EP)", iommu: .on,
      kernel: "mainline"),
    label: "Intel Broadwell-EP Xeon")
}
