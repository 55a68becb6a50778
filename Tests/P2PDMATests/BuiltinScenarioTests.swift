import Assets
import Foundation
import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// The engine on the shipped scenarios: the fast path and the literal walk agree on every pair,
/// and the teaching scenario says what its description promises.
@Suite struct BuiltinScenarioTests {
  static func load(_ name: String) throws -> Topology {
    let data = try #require(BuiltinAssets.scenarioData(named: name))
    return try ScenarioLoader.load(data: data, path: "builtin:" + name)
  }

  @Test(arguments: BuiltinAssets.scenarioNames)
  func fastPathEqualsWalkOnEveryPair(name: String) throws {
    let topology = try Self.load(name)
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))
    for provider in engine.endpointIndices {
      for client in engine.endpointIndices {
        let verdict = engine.verdict(providerIndex: provider, clientIndex: client, verbose: true)
        let (mapType, distance) = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
        #expect(mapType == verdict.mapType, "\(name): \(verdict.provider) → \(verdict.client)")
        #expect(distance == verdict.distance, "\(name): \(verdict.provider) → \(verdict.client)")
        #expect(!verdict.reason.isEmpty)
      }
    }
  }

  /// The description: GPU↔GPU and GPU↔NIC meet at the switch (BUS_ADDR, 4); GPU↔NVMe crosses
  /// the host bridge and is allowed only by the AMD CPU rule.
  @Test func teachingWorkstationMatchesItsDescription() throws {
    let topology = try Self.load("teaching-workstation")
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))
    #expect(engine.configuration.cpu == .amdZen)
    let gpuToGPU = try engine.verdict(provider: Fixtures.bdf("0000:03:00.0"), client: Fixtures.bdf("0000:04:00.0"))
    #expect(gpuToGPU.mapType == .busAddress)
    #expect(gpuToGPU.distance == 4)
    #expect(gpuToGPU.commonUpstream == Fixtures.bdf("0000:01:00.0"))

    let nvme = try #require(topology.functions.first { $0.classCode >> 8 == 0x0108 })
    let gpuToNVMe = try engine.verdict(provider: Fixtures.bdf("0000:03:00.0"), client: nvme.bdf)
    #expect(gpuToNVMe.mapType == .thruHostBridge)
    #expect(gpuToNVMe.hostBridge?.cpuSupportsP2PDMA == true)

    let intel = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology, cpu: .intel))
    #expect(try intel.verdict(provider: Fixtures.bdf("0000:03:00.0"), client: nvme.bdf).mapType == .notSupported)
  }
}
