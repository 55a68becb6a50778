import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Every row of the distance table in §1.2, with no ACS anywhere.
@Suite struct DistanceTableTests {
  @Test func sameFunctionIsDistanceZeroBusAddress() throws {
    let pair = Fixtures.switchPair()
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.provider)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 0)
    #expect(verdict.commonUpstream == pair.provider)
    #expect(verdict.walk.map(\.side) == [.common])
    #expect(verdict.topoClass == .same)
  }

  @Test func twoFunctionsOfOneDeviceAreDistanceTwo() throws {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x8086, device: 0x4c43)
    let port = builder.rootPort("0000:00:01.0")
    let video = builder.endpoint(below: port, function: 0)
    let audio = builder.endpoint(below: port, function: 1, classCode: 0x040300)
    let verdict = try Fixtures.engine(builder.build()).verdict(provider: video, client: audio)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 2)
    #expect(verdict.commonUpstream == port)
    #expect(verdict.topoClass == .pix)
  }

  @Test func switchLocalPairIsDistanceFour() throws {
    let pair = Fixtures.switchPair()
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 4)
    #expect(verdict.pathDistance == 4)
    #expect(verdict.commonUpstream == pair.upstream)
    #expect(verdict.hostBridge == nil)
    #expect(verdict.dmesg.isEmpty)
    #expect(verdict.fix == nil)
    #expect(verdict.topoClass == .pix)
    #expect(verdict.walk.map(\.bdf) == [pair.provider, pair.providerPort, pair.upstream, pair.client, pair.clientPort])
    #expect(verdict.walk.map(\.side) == [.provider, .provider, .common, .client, .client])
    #expect(verdict.walk.map(\.hop) == [0, 1, 2, 0, 1])
  }

  /// Each extra switch level between the endpoints adds 2 (its upstream and downstream port).
  @Test(arguments: [0, 1, 2, 3])
  func eachExtraSwitchLevelAddsTwo(extraLevels: Int) throws {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x8086, device: 0x4c43)
    let port = builder.rootPort("0000:00:01.0")
    let top = builder.pcieSwitch(below: port, downstreamPorts: 2)
    var deepest = top.downstream[0]
    for _ in 0..<extraLevels {
      deepest = builder.pcieSwitch(below: deepest, downstreamPorts: 1).downstream[0]
    }
    let provider = builder.endpoint(below: deepest)
    let client = builder.endpoint(below: top.downstream[1])
    let verdict = try Fixtures.engine(builder.build()).verdict(provider: provider, client: client)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 4 + 2 * extraLevels)
    #expect(verdict.commonUpstream == top.upstream)
    #expect(verdict.topoClass == (extraLevels == 0 ? .pix : .pxb))
  }

  /// Two root ports: every device on both paths counts, 2 + 2 = 4, and the host bridge decides.
  @Test(arguments: [(CPURule.amdZen, MapType.thruHostBridge, 4), (.intel, .notSupported, -1)])
  func twoRootPortsAreDistanceFourThroughTheHostBridge(cpu: CPURule, expected: MapType, distance: Int) throws {
    let pair = Fixtures.rootPortPair()
    let verdict = try Fixtures.engine(pair.topology, cpu).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == expected)
    #expect(verdict.pathDistance == 4)
    #expect(verdict.distance == distance)
    #expect(verdict.commonUpstream == nil)
    #expect(verdict.hostBridge?.sameHostBridge == true)
    #expect(verdict.topoClass == .phb)
  }

  @Test func endpointsOnTheRootBusHaveNoCommonUpstreamAndDistanceTwo() throws {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x8086, device: 0x09a2)
    let dsa = builder.endpoint(at: "0000:00:02.0")
    let iax = builder.endpoint(at: "0000:00:03.0", deviceID: 0x0cfe)
    let verdict = try Fixtures.engine(builder.build()).verdict(provider: dsa, client: iax)
    #expect(verdict.commonUpstream == nil)
    #expect(verdict.pathDistance == 2)
    #expect(verdict.mapType == .thruHostBridge)
  }

  @Test func differentHostBridgesAreNode() throws {
    let machine = Fixtures.twoHostBridges(hostA: (0x8086, 0x09a2), hostB: (0x8086, 0x09a2))
    let verdict = try Fixtures.engine(machine.topology).verdict(provider: machine.provider, client: machine.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.distance == 4)
    #expect(verdict.topoClass == .node)
    #expect(verdict.hostBridge?.sameHostBridge == false)
    #expect(verdict.hostBridge?.lookups.count == 2)
  }
}
