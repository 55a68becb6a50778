import Foundation
import PCITopology
import TestSupport
import Testing

/// Issue 13 item 8: every input the loaders drop or cannot read right is either parsed
/// correctly or reported as a warning naming file:line; nothing is silently misread.
@Suite struct SilentMisreadTests {
  static func load(_ text: String, path: String = "input.txt") throws -> Topology {
    try TopologyLoader.load(data: Data(text.utf8), path: path)
  }

  static func warning(_ topology: Topology, line: Int, containing fragment: String) -> Bool {
    topology.warnings.contains { $0.file == "input.txt" && $0.line == line && $0.message.contains(fragment) }
  }

  static let rootPortText = """
    00:00.0 Host bridge [0600]: Intel Corporation Device [8086:09a2]

    00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:2030]
    \tBus: primary=00, secondary=SECONDARY, subordinate=SUBORDINATE, sec-latency=0
    \tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00

    01:00.0 VGA compatible controller [0300]: AMD Device [1002:744c]
    \tRegion 0: Memory at 6000000000 (64-bit, prefetchable) [size=SIZE]
    \tIOMMU group: GROUP

    """

  static func rootPort(
    secondary: String = "01", subordinate: String = "01", size: String = "256M", group: String = "7"
  ) -> String {
    rootPortText.replacingOccurrences(of: "SECONDARY", with: secondary)
      .replacingOccurrences(of: "SUBORDINATE", with: subordinate)
      .replacingOccurrences(of: "SIZE", with: size).replacingOccurrences(of: "GROUP", with: group)
  }

  @Test func wellFormedListingHasNoWarnings() throws {
    let topology = try Self.load(Self.rootPort())
    let gpu = try #require(topology.function(BDF(bus: 1, device: 0, function: 0)))
    #expect(gpu.bars.first?.size == 256 << 20)
    #expect(gpu.iommuGroup == 7)
    #expect(topology.upstreamBridge(of: topology.index(of: gpu.bdf)!) == 1)
    // The IOMMU group line is read as "the IOMMU was on" and said so; nothing else is worth a word.
    #expect(topology.warnings.allSatisfy { $0.message.contains("IOMMU group") }, "\(topology.warnings)")
  }

  @Test func threeDigitSecondaryIsNotReadAsTwo() throws {
    let topology = try Self.load(Self.rootPort(secondary: "100", subordinate: "100"))
    let port = try #require(topology.function(BDF(bus: 0, device: 1, function: 0)))
    #expect(port.secondaryBus != 0x10)
    #expect(port.secondaryBus == nil)
    #expect(Self.warning(topology, line: 4, containing: "secondary=100"), "\(topology.warnings)")
  }

  @Test(arguments: [("16E", "does not fit"), ("99999999999999999999M", "not a number"), ("3X", "unit")])
  func unreadableSizeIsUnknownWithAWarning(size: String, fragment: String) throws {
    let topology = try Self.load(Self.rootPort(size: size))
    let gpu = try #require(topology.function(BDF(bus: 1, device: 0, function: 0)))
    #expect(gpu.bars.first?.size == nil, "\(size) read as \(String(describing: gpu.bars.first?.size))")
    #expect(Self.warning(topology, line: 8, containing: fragment), "\(topology.warnings)")
  }

  @Test func petabyteSizesAreRead() throws {
    let topology = try Self.load(Self.rootPort(size: "2P"))
    #expect(topology.function(BDF(bus: 1, device: 0, function: 0))?.bars.first?.size == 2 << 50)
  }

  @Test func hugeIOMMUGroupIsNotWrapped() throws {
    let topology = try Self.load(Self.rootPort(group: "123456789012345678901234"))
    #expect(topology.function(BDF(bus: 1, device: 0, function: 0))?.iommuGroup == nil)
    #expect(Self.warning(topology, line: 9, containing: "IOMMU group"), "\(topology.warnings)")
  }

  @Test(arguments: ["100:00.0", "00:20.0", "00:00.8", "0000:1ff:00.0"])
  func outOfRangeHeaderIsReportedNotMerged(address: String) throws {
    let text =
      Self.rootPort() + "\(address) Ethernet controller [0200]: Mellanox Device [15b3:101b]\n"
      + "\tIOMMU group: 99\n"
    let topology = try Self.load(text)
    #expect(topology.count == 3)
    #expect(Self.warning(topology, line: 10, containing: address), "\(topology.warnings)")
    // The dropped block's lines must not land in the function before it.
    #expect(topology.function(BDF(bus: 1, device: 0, function: 0))?.iommuGroup == 7)
  }

  @Test func subordinateBelowSecondaryIsReported() throws {
    let topology = try Self.load(Self.rootPort(secondary: "05", subordinate: "02"))
    #expect(topology.warnings.contains { $0.message.contains("subordinate bus 02 below its secondary bus 05") })
  }

  /// A hex dump whose bridge rows stop before the bus numbers at 0x18.
  @Test func bridgeDumpCutBeforeBusNumbersIsReported() throws {
    let text = """
      00:01.0 PCI bridge: Intel Corporation Device 2030
      00: 86 80 30 20 07 04 10 00 00 00 04 06 10 00 81 00

      01:00.0 VGA compatible controller: AMD Device 744c
      00: 02 10 4c 74 07 04 10 00 00 00 00 03 10 00 00 00

      """
    let topology = try Self.load(text)
    #expect(
      topology.warnings.contains { $0.line == 1 && $0.message.contains("bus numbers") }, "\(topology.warnings)")
  }

  /// A copied sysfs tree where the bridge's config is unreadable but the device links show
  /// what sits below it: the child stays below the bridge.
  @Test func sysfsBridgeWithoutConfigKeepsItsChildren() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-links-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let devices = root.appendingPathComponent("sys/bus/pci/devices")
    let hierarchy = root.appendingPathComponent("sys/devices/pci0000:00")
    let bridge = hierarchy.appendingPathComponent("0000:00:01.0")
    let child = bridge.appendingPathComponent("0000:01:00.0")
    try FileManager.default.createDirectory(at: child, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: devices, withIntermediateDirectories: true)
    try Data("0x8086\n".utf8).write(to: bridge.appendingPathComponent("vendor"))
    try Data("0x2030\n".utf8).write(to: bridge.appendingPathComponent("device"))
    try Data("0x060400\n".utf8).write(to: bridge.appendingPathComponent("class"))
    let gpu = PCIFunction(
      bdf: BDF(bus: 1, device: 0, function: 0), vendorID: 0x1002, deviceID: 0x744c, classCode: 0x030000)
    try Data(ConfigSynthesizer.bytes(for: gpu)).write(to: child.appendingPathComponent("config"))
    for (name, target) in [("0000:00:01.0", bridge), ("0000:01:00.0", child)] {
      try FileManager.default.createSymbolicLink(
        atPath: devices.appendingPathComponent(name).path, withDestinationPath: target.path)
    }
    let topology = try TopologyLoader.load(spec: "sysfs:\(root.path)")
    let gpuIndex = try #require(topology.index(of: gpu.bdf))
    #expect(topology.upstreamBridge(of: gpuIndex).map { topology[$0].bdf } == BDF(bus: 0, device: 1, function: 0))
    #expect(topology.rootBuses == [BusID(domain: 0, bus: 0)])

    // Without the links there is nothing to go on: say so.
    try FileManager.default.removeItem(at: devices.appendingPathComponent("0000:01:00.0"))
    try FileManager.default.createDirectory(
      at: devices.appendingPathComponent("0000:01:00.0"), withIntermediateDirectories: true)
    try Data(ConfigSynthesizer.bytes(for: gpu)).write(
      to: devices.appendingPathComponent("0000:01:00.0/config"))
    let unlinked = try TopologyLoader.load(spec: "sysfs:\(root.path)")
    #expect(unlinked.warnings.contains { $0.message.contains("separate root bus") }, "\(unlinked.warnings)")
  }
}

/// Sysfs copies with impossible values: no trap, no wrapped number.
@Suite struct SysfsMisreadTests {
  @Test func wholeAddressSpaceResourceAndHugeGroup() throws {
    let gpu = PCIFunction(
      bdf: BDF(bus: 1, device: 0, function: 0), vendorID: 0x1002, deviceID: 0x744c, classCode: 0x030000)
    let sysfs = try FakeSysfs(functions: [gpu])
    defer { sysfs.remove() }
    let directory = sysfs.devicesDirectory.appendingPathComponent(gpu.bdf.description)
    try Data("0x0000000000000000 0xffffffffffffffff 0x0000000000140204\n".utf8)
      .write(to: directory.appendingPathComponent("resource"))
    let group = sysfs.root.appendingPathComponent("sys/kernel/iommu_groups/99999999999999999999")
    try FileManager.default.createDirectory(at: group, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: directory.appendingPathComponent("iommu_group").path, withDestinationPath: group.path)
    let topology = try TopologyLoader.load(spec: "sysfs:\(sysfs.root.path)")
    let loaded = try #require(topology.function(gpu.bdf))
    #expect(loaded.bars.first?.size == nil)
    #expect(loaded.iommuGroup == nil)
    #expect(topology.warnings.contains { $0.message.contains("99999999999999999999") })
  }
}
