import Foundation
import PCITopology
import TestSupport
import Testing

/// The sysfs loader on fake trees written by `FakeSysfs`.
@Suite struct SysfsLoaderTests {
  /// Root port 00:01.0 → GPU 01:00.0 (+ audio 01:00.1), host bridge 00:00.0.
  static func machine() -> [PCIFunction] {
    let redirect = ACSState.present(
      capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding],
      control: [.requestRedirect, .completionRedirect])
    return [
      PCIFunction(
        bdf: BDF(bus: 0, device: 0, function: 0), vendorID: 0x8086, deviceID: 0x4641, classCode: 0x06_0000, acs: .absent
      ),
      PCIFunction(
        bdf: BDF(bus: 0, device: 1, function: 0), vendorID: 0x8086, deviceID: 0x460d, classCode: 0x06_0400,
        headerType: 1, portType: .rootPort, primaryBus: 0, secondaryBus: 1, subordinateBus: 1, acs: redirect,
        iommuGroup: 2, driver: "pcieport"),
      PCIFunction(
        bdf: BDF(bus: 1, device: 0, function: 0), vendorID: 0x10de, deviceID: 0x24a0, classCode: 0x03_0000,
        isMultiFunction: true, portType: .endpoint,
        bars: [
          BAR(index: 0, address: 0x8300_0000, size: 16 << 20, is64Bit: false, isPrefetchable: false),
          BAR(index: 1, address: 0x60_0000_0000, size: 8 << 30),
          BAR(index: 5, address: 0x4000, size: 128, is64Bit: false, isPrefetchable: false, isIO: true),
        ], acs: .absent, iommuGroup: 12, driver: "nvidia"),
      PCIFunction(
        bdf: BDF(bus: 1, device: 0, function: 1), vendorID: 0x10de, deviceID: 0x228b, classCode: 0x04_0300,
        portType: .endpoint, acs: .absent, iommuGroup: 12, driver: "snd_hda_intel"),
    ]
  }

  @Test func rootReaderSeesEverything() throws {
    let fake = try FakeSysfs(functions: Self.machine())
    defer { fake.remove() }
    let topology = try TopologyLoader.load(spec: "sysfs:\(fake.root.path)")
    #expect(topology.source.kind == .sysfs)
    #expect(topology.count == 4)
    let port = try function(topology, "00:01.0")
    #expect(port.portType == .rootPort && port.secondaryBus == 1)
    #expect(port.acs.control == [.requestRedirect, .completionRedirect])
    #expect(port.iommuGroup == 2 && port.driver == "pcieport")
    let gpu = try function(topology, "01:00.0")
    #expect(gpu.idPair == "10de:24a0" && gpu.isMultiFunction)
    #expect(gpu.acs == .absent)
    #expect(gpu.driver == "nvidia" && gpu.iommuGroup == 12)
    #expect(gpu.bars.map(\.index) == [0, 1, 5])
    #expect(gpu.bars[1].address == 0x60_0000_0000 && gpu.bars[1].size == 8 << 30)
    #expect(gpu.bars[1].is64Bit && gpu.bars[1].isPrefetchable && !gpu.bars[1].isIO)
    #expect(gpu.bars[2].isIO && gpu.bars[2].size == 128)
    #expect(topology.upstreamBridge(of: try indexOf(topology, "01:00.1")) == (try indexOf(topology, "00:01.0")))
    #expect(topology.warnings.isEmpty)
  }

  @Test func nonRootReaderGets64Bytes() throws {
    let fake = try FakeSysfs(functions: Self.machine(), configReadLength: 64)
    defer { fake.remove() }
    let topology = try TopologyLoader.load(spec: "sysfs:\(fake.root.path)")
    #expect(topology.count == 4)
    for function in topology.functions {
      #expect(
        function.acs
          == .unknown(reason: "ACS unknown — run as root or load a dump (sysfs config is 64 bytes for non-root)"))
    }
    // Bus numbers live in the first 64 bytes: the hierarchy is still right.
    #expect(try function(topology, "00:01.0").secondaryBus == 1)
    #expect(topology.rootBuses == [BusID(domain: 0, bus: 0)])
    #expect(topology.warnings.contains { $0.message.contains("64 bytes") })
  }

  @Test func devicesDirectoryAsRootAndBusOffset() throws {
    let fake = try FakeSysfs(
      functions: Self.machine(), layout: .devicesDirectoryOnly, hostBridgeWindowOffset: 0x1000_0000)
    defer { fake.remove() }
    let topology = try TopologyLoader.load(spec: "sysfs:\(fake.root.path)")
    let gpu = try function(topology, "01:00.0")
    // resource holds CPU addresses; config holds bus addresses: the difference is the offset.
    #expect(gpu.bars[0].address == 0x8300_0000 - 0x1000_0000)
    #expect(gpu.bars[0].busOffset == 0x1000_0000)
    #expect(gpu.bars[0].busAddress == 0x8300_0000)
  }

  @Test func unreadableDirectoryNamesThePath() {
    let missing = "/nonexistent-\(UUID().uuidString)"
    #expect(throws: TopologyError.self) { try TopologyLoader.load(spec: "sysfs:\(missing)") }
    do {
      _ = try TopologyLoader.load(spec: "sysfs:\(missing)")
    } catch let error as TopologyError {
      guard case .unreadable(let path, _) = error else {
        Issue.record("expected .unreadable, got \(error)")
        return
      }
      #expect(path == missing)
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func emptyDevicesDirectoryIsEmpty() throws {
    let fake = try FakeSysfs(functions: [])
    defer { fake.remove() }
    #expect(throws: TopologyError.empty(path: fake.devicesDirectory.path)) {
      try TopologyLoader.load(spec: "sysfs:\(fake.root.path)")
    }
  }

  @Test func liveSysfsLoadsWhenPresent() throws {
    guard FileManager.default.fileExists(atPath: SysfsLoader.liveDevicesDirectory),
      let entries = try? FileManager.default.contentsOfDirectory(atPath: SysfsLoader.liveDevicesDirectory),
      !entries.isEmpty
    else {
      print("note: no PCI devices in /sys on this machine; live sysfs test skipped")
      return
    }
    let topology = try TopologyLoader.load(spec: "sysfs")
    #expect(topology.count == entries.filter { BDF($0) != nil }.count)
    // lspci itself reads the same sysfs: the trees must be identical.
    guard RealCaptures.lspciAvailable else { return }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: RealCaptures.lspciPath)
    process.arguments = ["-t"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = Pipe()
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return }
    #expect(TreeRenderer.render(topology, names: false) == String(decoding: data, as: UTF8.self))
  }
}
