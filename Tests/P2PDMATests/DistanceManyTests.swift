import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// `pci_p2pdma_distance_many()` (§1.7).
@Suite struct DistanceManyTests {
  /// One switch with three downstream ports (provider, client, client) plus a client on a second
  /// root port, under an unlisted Intel host bridge.
  struct Machine {
    var topology: Topology
    var provider: BDF
    var switchClients: [BDF]
    var farClient: BDF
  }

  static func machine() -> Machine {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x8086, device: 0x4c43)
    let portA = builder.rootPort("0000:00:01.0")
    let portB = builder.rootPort("0000:00:01.1")
    let plx = builder.pcieSwitch(below: portA, downstreamPorts: 3)
    let provider = builder.endpoint(below: plx.downstream[0])
    let clientA = builder.endpoint(below: plx.downstream[1])
    let clientB = builder.endpoint(below: plx.downstream[2])
    let far = builder.endpoint(below: portB)
    return Machine(topology: builder.build(), provider: provider, switchClients: [clientA, clientB], farClient: far)
  }

  @Test func sumsTheDistancesWhenAllAreSupported() throws {
    let machine = Self.machine()
    let engine = Fixtures.engine(machine.topology)
    let result = try engine.distanceMany(provider: machine.provider, clients: machine.switchClients, verbose: false)
    #expect(result.distance == 8)
    #expect(result.verdicts.count == 2)
    #expect(result.stoppedAt == nil)
  }

  @Test func noClientsIsMinusOne() throws {
    let machine = Self.machine()
    let result = try Fixtures.engine(machine.topology).distanceMany(
      provider: machine.provider, clients: [], verbose: true)
    #expect(result.distance == -1)
    #expect(result.verdicts.isEmpty)
  }

  @Test func oneRefusedClientMakesItMinusOneAndStopsWithoutVerbose() throws {
    let machine = Self.machine()
    let clients = [machine.switchClients[0], machine.farClient, machine.switchClients[1]]
    let engine = Fixtures.engine(machine.topology)
    let quiet = try engine.distanceMany(provider: machine.provider, clients: clients, verbose: false)
    #expect(quiet.distance == -1)
    #expect(quiet.verdicts.map(\.client) == [machine.switchClients[0], machine.farClient])
    #expect(quiet.stoppedAt == machine.farClient)
    #expect(quiet.dmesg.isEmpty)

    let loud = try engine.distanceMany(provider: machine.provider, clients: clients, verbose: true)
    #expect(loud.distance == -1)
    #expect(loud.verdicts.count == 3)
    #expect(loud.stoppedAt == nil)
    #expect(loud.dmesg.count == 1)
    #expect(loud.dmesg.first?.hasPrefix("pci \(machine.farClient): cannot be used for peer-to-peer DMA") == true)
  }

  @Test func hostBridgeClientsCountAsSupportedWithTheirDistance() throws {
    let machine = Self.machine()
    let engine = Fixtures.engine(machine.topology, .amdZen)
    let result = try engine.distanceMany(
      provider: machine.provider, clients: [machine.switchClients[0], machine.farClient], verbose: false)
    // 4 (switch-local) + 6 (provider: endpoint, downstream, upstream, root port = 4; client: 2).
    #expect(result.distance == 10)
    #expect(result.verdicts.map(\.mapType) == [.busAddress, .thruHostBridge])
  }

  @Test func unknownClientThrowsAUserFacingError() {
    let machine = Self.machine()
    let ghost = Fixtures.bdf("0000:99:00.0")
    #expect(throws: P2PError.unknownDevice(ghost)) {
      try Fixtures.engine(machine.topology).distanceMany(provider: machine.provider, clients: [ghost], verbose: false)
    }
    #expect(P2PError.unknownDevice(ghost).description.contains("0000:99:00.0"))
  }
}
