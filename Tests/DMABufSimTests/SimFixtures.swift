import P2PDMA
import PCITopology

@testable import DMABufSim

/// Hand-built machines for the dma-buf simulator tests. Built directly from `PCIFunction`s so the
/// tests depend only on the topology contract.
///
/// ```
/// 00:00.0 host bridge 8086:4c43 (not allowlisted)
/// 00:01.0 root port ─ 01:00.0 switch upstream ┬ 02:00.0 downstream ─ 03:00.0 GPU (exporter)
///                                              ├ 02:01.0 downstream ─ 04:00.0 importer A
///                                              └ 02:02.0 downstream ─ 06:00.0 importer C
/// 00:02.0 root port ─ 07:00.0 importer B (other root port)
/// ```
enum SimFixtures {
  static func bdf(_ text: String) -> BDF { BDF(text)! }

  static let exporter = bdf("0000:03:00.0")
  static let switchImporter = bdf("0000:04:00.0")
  static let rootPortImporter = bdf("0000:07:00.0")
  static let secondSwitchImporter = bdf("0000:06:00.0")

  /// GPU BAR0 CPU address used by most tests (768 GiB: inside a 44-bit mask).
  static let barAddress: UInt64 = 0xc0_0000_0000

  static func bridge(
    _ address: String, vendor: UInt16 = 0x8086, device: UInt16 = 0x1234, portType: PCIePortType,
    secondary: UInt8, subordinate: UInt8
  ) -> PCIFunction {
    let at = bdf(address)
    return PCIFunction(
      bdf: at, vendorID: vendor, deviceID: device, classCode: 0x060400, headerType: 1, portType: portType,
      primaryBus: at.bus, secondaryBus: secondary, subordinateBus: subordinate)
  }

  struct Device {
    var vendor: UInt16
    var device: UInt16 = 0x1000
    var classCode: UInt32
    var bars: [BAR] = []
    var extras = DeviceExtras()
    var driver: String?
  }

  static func gpu(
    barAddress: UInt64 = barAddress, barSize: UInt64? = 16 << 30, busOffset: Int64 = 0, vram: UInt64? = 16 << 30,
    visible: UInt64? = nil, buffers: [BufferSpec], profile: String? = nil, vendor: UInt16 = 0x1002
  ) -> Device {
    Device(
      vendor: vendor, device: 0x744c, classCode: 0x030000,
      bars: [
        BAR(index: 0, address: barAddress, size: barSize, busOffset: busOffset),
        BAR(index: 2, address: barAddress, size: barSize, busOffset: busOffset),
      ],
      extras: DeviceExtras(driverProfile: profile, vramSize: vram, visibleVRAMSize: visible, buffers: buffers))
  }

  static let mellanox = Device(vendor: 0x15b3, device: 0x1021, classCode: 0x020000)
  static let nvidiaDisplay = Device(vendor: 0x10de, device: 0x2684, classCode: 0x030000)

  static func topology(
    exporter: Device, switchImporter: Device = mellanox, rootPortImporter: Device = nvidiaDisplay,
    secondSwitchImporter: Device = mellanox, hostDevice: UInt16 = 0x4c43
  ) -> Topology {
    var functions = [
      PCIFunction(bdf: bdf("0000:00:00.0"), vendorID: 0x8086, deviceID: hostDevice, classCode: 0x060000),
      bridge("0000:00:01.0", portType: .rootPort, secondary: 1, subordinate: 6),
      bridge("0000:00:02.0", portType: .rootPort, secondary: 7, subordinate: 7),
      bridge("0000:01:00.0", vendor: 0x10b5, portType: .upstreamPort, secondary: 2, subordinate: 6),
      bridge("0000:02:00.0", vendor: 0x10b5, portType: .downstreamPort, secondary: 3, subordinate: 3),
      bridge("0000:02:01.0", vendor: 0x10b5, portType: .downstreamPort, secondary: 4, subordinate: 4),
      bridge("0000:02:02.0", vendor: 0x10b5, portType: .downstreamPort, secondary: 6, subordinate: 6),
    ]
    for (address, device) in [
      (Self.exporter, exporter), (Self.switchImporter, switchImporter), (Self.rootPortImporter, rootPortImporter),
      (Self.secondSwitchImporter, secondSwitchImporter),
    ] {
      functions.append(
        PCIFunction(
          bdf: address, vendorID: device.vendor, deviceID: device.device, classCode: device.classCode,
          bars: device.bars, driver: device.driver, extras: device.extras))
    }
    return Topology(functions: functions, source: TopologySource(kind: .generated, location: "SimFixtures"))
  }

  static func configuration(iommu: IOMMUMode, cpu: CPURule = .intel) -> P2PConfiguration {
    P2PConfiguration(cpu: cpu, iommu: iommu)
  }

  static func simulate(
    _ topology: Topology, importers: [BDF], iommu: IOMMUMode = .off, cpu: CPURule = .intel, buffer: String? = nil,
    layout: SystemPageLayout = .partlyContiguous
  ) throws -> ShareSimulation {
    try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: exporter, bufferName: buffer, importers: importers,
        configuration: configuration(iommu: iommu, cpu: cpu), systemPageLayout: layout))
  }

  /// 8 MiB at VRAM offset 1 MiB: buddy blocks 1 MiB@1 MiB, 2 MiB@2 MiB, 4 MiB@4 MiB, 1 MiB@8 MiB.
  static let framebuffer = BufferSpec(name: "fb", size: 8 << 20, preferredPlacement: .vram, vramOffset: 1 << 20)
}
