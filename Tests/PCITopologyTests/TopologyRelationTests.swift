import Foundation
import PCITopology
import Testing

/// `Topology`'s derived relations on hand-built inputs, including the impossible ones.
@Suite struct TopologyRelationTests {
  static func bridge(_ address: String, secondary: UInt8, subordinate: UInt8? = nil, port: PCIePortType? = .rootPort)
    -> PCIFunction
  {
    let bdf = BDF(address) ?? BDF(bus: 0, device: 0, function: 0)
    return PCIFunction(
      bdf: bdf, vendorID: 0x8086, deviceID: 0x1234, classCode: 0x06_0400, headerType: 1, portType: port,
      primaryBus: bdf.bus, secondaryBus: secondary, subordinateBus: subordinate ?? secondary)
  }

  static func endpoint(_ address: String, classCode: UInt32 = 0x03_0000) -> PCIFunction {
    PCIFunction(
      bdf: BDF(address) ?? BDF(bus: 0, device: 0, function: 0), vendorID: 0x10de, deviceID: 0x2684,
      classCode: classCode, portType: .endpoint)
  }

  static func make(_ functions: [PCIFunction]) -> Topology {
    Topology(functions: functions, source: TopologySource(kind: .generated, location: "test"))
  }

  @Test func upstreamBridgeAndRootBus() throws {
    let topology = Self.make([
      Self.endpoint("00:00.0", classCode: 0x06_0000),
      Self.bridge("00:01.0", secondary: 1, subordinate: 3),
      Self.bridge("01:00.0", secondary: 2, subordinate: 3, port: .upstreamPort),
      Self.bridge("02:00.0", secondary: 3, port: .downstreamPort),
      Self.endpoint("03:00.0"),
      Self.endpoint("0001:00:00.0"),
    ])
    let gpu = try indexOf(topology, "03:00.0")
    #expect(
      topology.pathToRoot(from: gpu).map { topology[$0].bdf.shortDescription } == [
        "03:00.0", "02:00.0", "01:00.0", "00:01.0",
      ])
    #expect(topology.rootBus(of: gpu) == BusID(domain: 0, bus: 0))
    #expect(topology.rootBuses == [BusID(domain: 0, bus: 0), BusID(domain: 1, bus: 0)])
    #expect(topology.rootBus(of: try indexOf(topology, "0001:00:00.0")) == BusID(domain: 1, bus: 0))
    #expect(topology.children(of: try indexOf(topology, "02:00.0")) == [gpu])
    #expect(topology.warnings.isEmpty)
  }

  @Test func hostBridgeDeviceRule() throws {
    // devfn 00.0 on the root bus: accepted whatever it is.
    let withHostBridge = Self.make([
      Self.endpoint("00:00.0", classCode: 0x06_0000), Self.bridge("00:01.0", secondary: 1),
    ])
    #expect(withHostBridge.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0)) == 0)
    // Skylake-style: first device is a root port at 00:02.0 → accepted.
    let rootPortFirst = Self.make([Self.bridge("00:02.0", secondary: 1), Self.endpoint("01:00.0")])
    #expect(rootPortFirst.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0)) == 0)
    // First device is neither 00.0 nor a root port → nil (not allowlisted).
    let neither = Self.make([Self.endpoint("00:05.0", classCode: 0x08_8000)])
    #expect(neither.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0)) == nil)
    #expect(neither.firstDevice(onRootBus: BusID(domain: 0, bus: 0)) == 0)
  }

  @Test func duplicateBDFKeepsTheFirst() {
    var second = Self.endpoint("01:00.0")
    second.deviceID = 0x9999
    let topology = Self.make([Self.bridge("00:01.0", secondary: 1), Self.endpoint("01:00.0"), second])
    #expect(topology.count == 2)
    #expect(topology.warnings.contains { $0.message.contains("duplicate function 0000:01:00.0") })
  }

  @Test func busClaimedTwice() throws {
    let topology = Self.make([
      Self.bridge("00:01.0", secondary: 1), Self.bridge("00:02.0", secondary: 1), Self.endpoint("01:00.0"),
    ])
    #expect(topology.upstreamBridge(of: try indexOf(topology, "01:00.0")) == (try indexOf(topology, "00:01.0")))
    #expect(topology.warnings.contains { $0.message.contains("claimed by two bridges") })
  }

  @Test func bridgeLoopTerminates() throws {
    // 01:00.0 leads to bus 02, 02:00.0 leads to bus 01: no way up to a root bus.
    let topology = Self.make([
      Self.bridge("01:00.0", secondary: 2, port: .downstreamPort),
      Self.bridge("02:00.0", secondary: 1, port: .downstreamPort),
      Self.endpoint("02:01.0"),
    ])
    #expect(topology.warnings.contains { $0.message.contains("bridge loop") })
    #expect(!topology.rootBuses.isEmpty)
    for index in 0..<topology.count {
      #expect(topology.pathToRoot(from: index).count <= topology.count)
    }
    // The renderer terminates too.
    #expect(!TreeRenderer.render(topology).isEmpty)
  }

  @Test func loadedDumpWithLoopDoesNotHang() throws {
    // Two bridges pointing at each other's buses in a hex dump.
    let text = """
      01:00.0 PCI bridge: Fake
      00: 86 80 00 00 07 04 10 00 00 00 04 06 00 00 01 00
      10: 00 00 00 00 00 00 00 00 01 02 02 00 00 00 00 00

      02:00.0 PCI bridge: Fake
      00: 86 80 00 00 07 04 10 00 00 00 04 06 00 00 01 00
      10: 00 00 00 00 00 00 00 00 02 01 01 00 00 00 00 00

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "loop.txt")
    #expect(topology.count == 2)
    #expect(topology.warnings.contains { $0.message.contains("bridge loop") })
  }

  @Test func rendererDrawsLikeLspci() {
    let topology = Self.make([
      Self.endpoint("00:00.0", classCode: 0x06_0000),
      Self.bridge("00:01.0", secondary: 1, subordinate: 3),
      Self.bridge("01:00.0", secondary: 2, subordinate: 3, port: .upstreamPort),
      Self.bridge("02:00.0", secondary: 3, port: .downstreamPort),
      Self.bridge("02:01.0", secondary: 4, port: .downstreamPort),
      Self.endpoint("03:00.0"),
      Self.endpoint("03:00.1"),
      Self.endpoint("00:1f.0", classCode: 0x06_0100),
    ])
    let expected = """
      -[0000:00]-+-00.0  Device 10de:2684
                 +-01.0-[01-03]----00.0-[02-03]--+-00.0-[03]--+-00.0  Device 10de:2684
                 |                               |            \\-00.1  Device 10de:2684
                 |                               \\-01.0-[04]--
                 \\-1f.0  Device 10de:2684

      """
    #expect(TreeRenderer.render(topology) == expected)
    #expect(TreeRenderer.render(topology, names: false).contains("\\-1f.0\n"))
  }
}
