import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// The precomputed fast path must agree with the literal walk everywhere.
@Suite struct FastPathTests {
  static let configurations: [P2PConfiguration] = [
    Fixtures.config(.intel), Fixtures.config(.amdZen), Fixtures.config(.other, queued: false),
    P2PConfiguration(cpu: .intel, simulateKernelACSEnable: true),
    // Per-release rules: int distance with the AMD root-complex exception, no CPU rule, devfn-00.0 lookup.
    P2PConfiguration(cpu: .amdZen, kernel: KernelContext(release: KernelRelease(major: 5, minor: 2), source: .given)),
    P2PConfiguration(cpu: .amdZen, kernel: KernelContext(release: KernelRelease(major: 5, minor: 8), source: .given)),
    P2PConfiguration(cpu: .intel, kernel: KernelContext(release: KernelRelease(major: 5, minor: 18), source: .given)),
  ]

  @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
  func fastPathEqualsFullVerdictOnRandomPairs(seed: UInt64) {
    let topology = TopologyBuilder.synthetic(seed: seed)
    var random = SeededGenerator(seed: seed &* 7919)
    // Some what-ifs too: clear a few random devices and override a few others.
    var configurations = Self.configurations
    let someDevices = (0..<6).map { _ in topology[Int.random(in: 0..<topology.count, using: &random)].bdf }
    configurations.append(
      Fixtures.config(
        .intel, disable: Array(someDevices.prefix(3)),
        overrides: [someDevices[4]: .requestRedirect, someDevices[5]: []]))
    for configuration in configurations {
      let engine = P2PEngine(topology: topology, configuration: configuration)
      for _ in 0..<500 {
        let provider = Int.random(in: 0..<topology.count, using: &random)
        let client = Int.random(in: 0..<topology.count, using: &random)
        let verdict = engine.verdict(providerIndex: provider, clientIndex: client, verbose: false)
        let (mapType, distance) = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
        #expect(mapType == verdict.mapType, "\(topology[provider].bdf) → \(topology[client].bdf)")
        #expect(distance == verdict.distance, "\(topology[provider].bdf) → \(topology[client].bdf)")
      }
    }
  }

  @Test func syntheticTopologiesExerciseEveryOutcome() {
    var seen = Set<MapType>()
    for seed: UInt64 in 1...6 {
      let engine = P2PEngine(topology: TopologyBuilder.synthetic(seed: seed), configuration: Fixtures.config(.intel))
      let summary = engine.summary()
      for type in [MapType.busAddress, .thruHostBridge, .notSupported] where summary.count(of: type) > 0 {
        seen.insert(type)
      }
    }
    #expect(seen == [.busAddress, .thruHostBridge, .notSupported])
  }

  @Test(arguments: [false, true])
  func summaryCountsEqualCountingFullVerdicts(includeSelf: Bool) {
    let topology = TopologyBuilder.synthetic(seed: 11, rootBusCount: 2, rootPortsPerBus: 3)
    let engine = P2PEngine(topology: topology, configuration: Fixtures.config(.intel))
    var expected = MatrixSummary(endpointCount: engine.endpointIndices.count, includesSelfPairs: includeSelf)
    for provider in engine.endpointIndices {
      for client in engine.endpointIndices where includeSelf || provider != client {
        switch engine.verdict(providerIndex: provider, clientIndex: client, verbose: false).mapType {
        case .busAddress: expected.busAddress += 1
        case .thruHostBridge: expected.thruHostBridge += 1
        default: expected.notSupported += 1
        }
      }
    }
    let summary = engine.summary(includeSelfPairs: includeSelf)
    #expect(summary == expected)
    let n = engine.endpointIndices.count
    #expect(summary.pairCount == (includeSelf ? n * n : n * (n - 1)))
  }

  @Test func matrixEndpointsExcludeBridgesHostBridgesAndPoweredOffDevices() {
    var builder = TopologyBuilder()
    builder.hostBridge()
    let port = builder.rootPort("0000:00:01.0")
    let gpu = builder.endpoint(below: port)
    var off = PCIFunction(bdf: Fixtures.bdf("0000:00:02.0"), vendorID: 0x10de, deviceID: 0x2684, classCode: 0x030000)
    off.isPoweredOff = true
    builder.add(off)
    let topology = builder.build()
    let engine = Fixtures.engine(topology)
    #expect(engine.endpointIndices.map { topology[$0].bdf } == [gpu])
  }
}

/// The cheap per-pair helpers the matrix uses agree with the full verdict.
@Suite struct PairHelperTests {
  @Test(arguments: [UInt64(21), 22, 23])
  func acsListAndTopoClassEqualTheVerdicts(seed: UInt64) {
    let topology = TopologyBuilder.synthetic(seed: seed)
    let engine = P2PEngine(topology: topology, configuration: Fixtures.config(.amdZen))
    var random = SeededGenerator(seed: seed)
    for _ in 0..<1000 {
      let provider = Int.random(in: 0..<topology.count, using: &random)
      let client = Int.random(in: 0..<topology.count, using: &random)
      let verdict = engine.verdict(providerIndex: provider, clientIndex: client, verbose: false)
      #expect(engine.acsRedirectDevices(providerIndex: provider, clientIndex: client) == verdict.acsRedirect)
      #expect(engine.topoClass(providerIndex: provider, clientIndex: client) == verdict.topoClass)
    }
  }
}

/// The test builder itself: synthetic machines are well-formed for any seed.
@Suite struct TopologyBuilderTests {
  @Test func syntheticMachinesLoadWithoutWarnings() {
    for seed: UInt64 in 100..<140 {
      let topology = TopologyBuilder.synthetic(seed: seed, rootBusCount: 2, rootPortsPerBus: 6, maxSwitchDepth: 4)
      #expect(topology.warnings.isEmpty, "seed \(seed): \(topology.warnings)")
      #expect(topology.rootBuses.count == 2)
    }
  }
}
