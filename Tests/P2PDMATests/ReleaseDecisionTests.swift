import Assets
import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Each p2pdma.c change of kernel-history.md §1 pinned at the release before it and the release
/// it landed in, on small topologies.
@Suite struct ReleaseDecisionTests {
  static func release(_ text: String) -> KernelRelease {
    guard let release = try? KernelRelease(parsing: text) else { preconditionFailure("bad release \(text)") }
    return release
  }

  static func verdict(
    _ topology: Topology, _ provider: BDF, _ client: BDF, cpu: CPURule = .intel, on text: String, verbose: Bool = true
  ) throws -> P2PVerdict {
    var configuration = Fixtures.config(cpu)
    configuration.kernel = KernelContext(release: release(text), source: .given)
    return try P2PEngine(topology: topology, configuration: configuration).verdict(
      provider: provider, client: client, verbose: verbose)
  }

  /// (map type, distance) on each release.
  static func outcomes(
    _ topology: Topology, _ provider: BDF, _ client: BDF, cpu: CPURule = .intel, on releases: [String]
  ) throws -> [MapType] {
    try releases.map { try verdict(topology, provider, client, cpu: cpu, on: $0).mapType }
  }

  @Test func p2pdmaDoesNotExistBefore4Point20() throws {
    let pair = Fixtures.switchPair()
    let old = try Self.verdict(pair.topology, pair.provider, pair.client, on: "4.19")
    #expect(old.mapType == .notSupported && old.distance == -1)
    #expect(old.reason.contains("P2PDMA did not exist in 4.19"))
    #expect(old.dmesg.isEmpty)
    let first = try Self.verdict(pair.topology, pair.provider, pair.client, on: "4.20")
    #expect(first.mapType == .busAddress && first.distance == 4 && first.legacyDistance == 4)
  }

  @Test func acsRedirectRefusesUntil5Point3ThenGoesThroughTheHostBridge() throws {
    let pair = Fixtures.switchPair(
      hostVendor: 0x1022, hostDevice: 0x1450, providerPortACS: TopologyBuilder.acsRedirecting)
    let old = try Self.verdict(pair.topology, pair.provider, pair.client, cpu: .amdZen, on: "5.3")
    #expect(old.mapType == .notSupported && old.legacyDistance == -2)
    #expect(
      old.dmesg == [
        "pci 0000:04:00.0: cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (0000:03:00.0)",
        "pci 0000:04:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0",
      ])
    #expect(old.fix == "pci=disable_acs_redir=0000:02:00.0")
    // 5.4: THRU_HOST_BRIDGE, allowed by the 5.4 whitelist entry for AMD 1450 (no CPU rule yet).
    let new = try Self.verdict(pair.topology, pair.provider, pair.client, cpu: .amdZen, on: "5.4")
    #expect(new.mapType == .thruHostBridge && new.legacyDistance == nil)
    #expect(new.dmesg.first == "pci 0000:04:00.0: ACS redirect is set between the client and provider (0000:03:00.0)")
    #expect(new.kernelNotes.contains { $0.hasPrefix("UNCONFIRMED for 5.4: acs-redirect-thru-host-bridge") })
  }

  @Test func noCommonBridgeIsRefusedIn4Point20AndAllowedUnderAMD1450From5Point2() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1450)
    let old = try Self.verdict(pair.topology, pair.provider, pair.client, cpu: .amdZen, on: "5.1")
    #expect(old.legacyDistance == -1 && old.mapType == .notSupported)
    #expect(
      old.dmesg == [
        "pci 0000:02:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:01:00.0) do not share an upstream bridge"
      ])
    let new = try Self.verdict(pair.topology, pair.provider, pair.client, cpu: .amdZen, on: "5.2")
    #expect(new.mapType == .busAddress && new.distance == 0x1000 + 4 && new.dmesg.isEmpty)
    var configuration = Fixtures.config(.amdZen)
    configuration.kernel = KernelContext(release: Self.release("5.2"), source: .given)
    let engine = P2PEngine(topology: pair.topology, configuration: configuration)
    let fast = engine.mapTypeAndDistance(
      providerIndex: try engine.index(of: pair.provider), clientIndex: try engine.index(of: pair.client))
    #expect(fast.0 == .busAddress && fast.1 == 0x1000 + 4)
    // pci_p2pdma_distance_many() adds what upstream_bridge_distance() returned.
    #expect(try engine.distanceMany(provider: pair.provider, clients: [pair.client], verbose: false).distance == 0x1004)
    // Only 1022:1450 counted: a later Zen root complex did not.
    let zen2 = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1480)
    #expect(try Self.verdict(zen2.topology, zen2.provider, zen2.client, cpu: .amdZen, on: "5.3").legacyDistance == -1)
  }

  @Test func unreadableACSCouldRefuseOnTheIntDistanceAPI() throws {
    let pair = Fixtures.switchPair(providerPortACS: .unknown(reason: "no extended config space"))
    let verdict = try Self.verdict(pair.topology, pair.provider, pair.client, on: "5.3")
    #expect(verdict.mapType == .busAddress && verdict.distance == 4)
    #expect(verdict.unknownACS == [pair.providerPort])
    #expect(verdict.alternativeIfUnknownACSRedirects == .notSupported)
  }

  @Test func rhel8CarriesTheRootComplexBackport() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1450)
    let verdict = try Self.verdict(pair.topology, pair.provider, pair.client, on: "4.18.0-553.el8_10.x86_64")
    #expect(verdict.distance == 0x1000 + 4)
    #expect(verdict.kernelNotes.contains { $0.contains("RHEL 8 kernel") })
    let plain = try Self.verdict(pair.topology, pair.provider, pair.client, on: "4.18")
    #expect(plain.mapType == .notSupported && plain.reason.contains("did not exist"))
  }

  /// A refused pair on a pre-5.4 kernel under a 1022:1480 root complex: the fix does not promise
  /// that 5.4 helps (it does not: 5.4-5.8 refuse too, the CPU rule opens it in 5.9), and the root
  /// bus both devices share is named once.
  @Test func legacyRefusalPointsAtTheCPURuleNot5Point4() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1480)
    let verdict = try Self.verdict(
      pair.topology, pair.provider, pair.client, cpu: .amdZen, on: "4.18.0-553.el8_10.x86_64")
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.fix?.contains("run 5.4 or later") == false)
    #expect(verdict.fix?.contains("the AMD Zen CPU rule (from 5.9)") == true)
    #expect(verdict.reason.contains("the one of root bus 0000:00 is not: refused (-1)."), "\(verdict.reason)")
    #expect(
      try Self.outcomes(pair.topology, pair.provider, pair.client, cpu: .amdZen, on: ["5.4", "5.8", "5.9"]) == [
        .notSupported, .notSupported, .thruHostBridge,
      ])
  }

  @Test func noCommonBridgeGoesThroughTheWhitelistFrom5Point4() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x8086, hostDevice: 0x2f00)
    #expect(
      try Self.outcomes(pair.topology, pair.provider, pair.client, on: ["5.3", "5.4"]) == [
        .notSupported, .thruHostBridge,
      ])
    let quiet = try Self.verdict(pair.topology, pair.provider, pair.client, on: "5.4")
    #expect(quiet.hostBridge?.lookups.first?.matchedEntry?.idPattern == "8086:2f00")
    let refused = Fixtures.rootPortPair(hostVendor: 0x8086, hostDevice: 0x4c43)
    #expect(
      try Self.verdict(refused.topology, refused.provider, refused.client, on: "5.4").dmesg.last
        == "pci 0000:02:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:01:00.0) do not share an upstream bridge or whitelisted host bridge"
    )
  }

  @Test(arguments: [
    (UInt16(0x1022), UInt16(0x15d0), "5.6", "5.7"),  // Raven (modelled 5.7, UNCONFIRMED)
    (0x8086, 0x2020, "5.6", "5.7"),  // Skylake-E
    (0x8086, 0x09a2, "5.17", "5.18"),  // Ice Lake-SP and later
    (0x1ae0, 0xabcd, "7.0", "7.1"),  // Google, any device
    (0x8086, 0x4940, "7.1", "7.2"),  // QAT 4xxx root bus
    (0x10de, 0x2f95, "7.3", "mainline"),  // NVIDIA Vera Rubin
    (0x1d17, 0x1008, "7.3", "mainline"),  // Zhaoxin KH-50000
  ])
  func allowlistEntryArrives(vendor: UInt16, device: UInt16, before: String, landed: String) throws {
    let pair = Fixtures.rootPortPair(hostVendor: vendor, hostDevice: device)
    #expect(
      try Self.outcomes(pair.topology, pair.provider, pair.client, cpu: .other, on: [before, landed])
        == [.notSupported, .thruHostBridge])
  }

  @Test func cpuRuleArrivesIn5Point9AndTheAMDEntriesLeave() throws {
    // EPYC Rome/Milan 1022:1480 was never whitelisted: the CPU rule alone decides.
    let rome = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1480)
    #expect(
      try Self.outcomes(rome.topology, rome.provider, rome.client, cpu: .amdZen, on: ["5.8", "5.9"])
        == [.notSupported, .thruHostBridge])
    let before = try Self.verdict(rome.topology, rome.provider, rome.client, cpu: .amdZen, on: "5.8")
    #expect(before.hostBridge?.cpuSupportsP2PDMA == false)
    #expect(before.hostBridge?.reason.contains("no cpu_supports_p2pdma()") == true)
    // 1022:1450 with a CPU that fails the rule: the whitelist entry is gone in 5.9.
    let naples = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1450)
    #expect(
      try Self.outcomes(naples.topology, naples.provider, naples.client, cpu: .other, on: ["5.8", "5.9"])
        == [.thruHostBridge, .notSupported])
  }

  @Test func hostBridgeWarningAppearsIn5Point15() throws {
    let pair = Fixtures.switchPair(
      hostVendor: 0x8086, hostDevice: 0x4c43, providerPortACS: TopologyBuilder.acsRedirecting)
    let old = try Self.verdict(pair.topology, pair.provider, pair.client, on: "5.14")
    let new = try Self.verdict(pair.topology, pair.provider, pair.client, on: "5.15")
    let warning = "pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4c43"
    #expect(!old.dmesg.contains(warning))
    #expect(new.dmesg.contains(warning))
    #expect(new.kernelNotes.contains { $0.hasPrefix("UNCONFIRMED for 5.15: host-bridge-warning") })
  }

  @Test func rootPortAtAnyDevfnCountsFrom5Point19() throws {
    // Skylake-E: no host bridge function at 00.0; the first device is root port 8086:2030 at 00:01.0.
    var builder = TopologyBuilder()
    let portA = builder.rootPort("0000:00:01.0", vendor: 0x8086, device: 0x2030)
    let portB = builder.rootPort("0000:00:02.0", vendor: 0x8086, device: 0x2031)
    builder.endpoint(below: portA)
    builder.endpoint(below: portB)
    let topology = builder.build()
    let (provider, client) = (Fixtures.bdf("0000:01:00.0"), Fixtures.bdf("0000:02:00.0"))
    #expect(try Self.outcomes(topology, provider, client, on: ["5.18", "5.19"]) == [.notSupported, .thruHostBridge])
    let old = try Self.verdict(topology, provider, client, on: "5.18")
    #expect(old.hostBridge?.lookups.first?.rejectionReason?.contains("before 5.19") == true)
  }

  @Test func mapTimeBehaviourChangesAround6Point2() throws {
    let pair = Fixtures.switchPair()
    let old = try Self.verdict(pair.topology, pair.provider, pair.client, on: "6.1")
    let new = try Self.verdict(pair.topology, pair.provider, pair.client, on: "6.2")
    #expect(old.kernelNotes.contains { $0.contains("WARN_ON_ONCE") })
    #expect(new.kernelNotes.contains { $0.contains("computed on the spot") })
    #expect(try Self.verdict(pair.topology, pair.provider, pair.client, on: "mainline").kernelNotes.isEmpty)
  }

  @Test func timelineMarksWhereTheVerdictChangesAndWhy() throws {
    let rome = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1480)
    let engine = P2PEngine(topology: rome.topology, configuration: Fixtures.config(.amdZen))
    let timeline = engine.timeline(
      providerIndex: try engine.index(of: rome.provider), clientIndex: try engine.index(of: rome.client))
    #expect(timeline.map(\.release.series) == ["4.20", "5.4", "5.10", "5.15", "6.1", "6.6", "6.12", "mainline"])
    #expect(
      timeline.map(\.verdict.mapType) == [
        .notSupported, .notSupported, .thruHostBridge, .thruHostBridge, .thruHostBridge, .thruHostBridge,
        .thruHostBridge, .thruHostBridge,
      ])
    #expect(timeline.map(\.changed) == [false, false, true, false, false, false, false, false])
    #expect(timeline[2].changedBy.map(\.id) == [.cpuRuleAMDZen])
  }

  /// The fast path (matrix) agrees with the literal walk on every built-in scenario and release.
  @Test(arguments: ["4.20", "5.2", "5.4", "5.10", "5.15", "6.1", "6.12", "mainline"])
  func fastPathEqualsWalkOnBuiltinsForRelease(text: String) throws {
    for name in BuiltinAssets.scenarioNames {
      let topology = try BuiltinScenarioTests.load(name)
      var configuration = P2PConfiguration(inferringFrom: topology)
      configuration.kernel = KernelContext(release: Self.release(text), source: .given)
      let engine = P2PEngine(topology: topology, configuration: configuration)
      for provider in engine.endpointIndices {
        for client in engine.endpointIndices {
          let verdict = engine.verdict(providerIndex: provider, clientIndex: client, verbose: false)
          let (mapType, distance) = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
          #expect(mapType == verdict.mapType, "\(text) \(name): \(verdict.provider) → \(verdict.client)")
          #expect(distance == verdict.distance, "\(text) \(name): \(verdict.provider) → \(verdict.client)")
        }
      }
    }
  }

  /// Built-in scenarios per release: (BUS_ADDR, THRU_HOST_BRIDGE, NOT_SUPPORTED) pair counts as the
  /// history gives them: Zen host-bridge pairs open at 5.9 (CPU rule), the Ice Lake 09a2 host bridge
  /// at 5.18, switch-local pairs never change, Broadwell/desktop/Hygon/cross-domain never open.
  static let builtinCountsPerRelease: [(String, String)] = [
    ("teaching-workstation", "5.4 30/0/26, 5.10 30/26/0, 6.1 30/26/0, 6.12 30/26/0, mainline 30/26/0"),
    ("amd-zen-root-ports", "5.4 0/0/20, 5.10 0/20/0, 6.1 0/20/0, 6.12 0/20/0, mainline 0/20/0"),
    ("xeon-acs-redirect", "5.4 0/0/56, 5.10 0/0/56, 6.1 0/56/0, 6.12 0/56/0, mainline 0/56/0"),
    ("switch-local-p2p", "5.4 12/0/8, 5.10 12/0/8, 6.1 12/0/8, 6.12 12/0/8, mainline 12/0/8"),
    ("cross-socket", "5.4 0/0/12, 5.10 0/0/12, 6.1 0/0/12, 6.12 0/0/12, mainline 0/0/12"),
    ("hygon-not-amd", "5.4 0/0/2, 5.10 0/0/2, 6.1 0/0/2, 6.12 0/0/2, mainline 0/0/2"),
  ]

  @Test(arguments: builtinCountsPerRelease)
  func builtinVerdictsPerRelease(name: String, expected: String) throws {
    let topology = try BuiltinScenarioTests.load(name)
    let counts = try ["5.4", "5.10", "6.1", "6.12", "mainline"].map { text -> String in
      var configuration = P2PConfiguration(inferringFrom: topology)
      configuration.kernel = KernelContext(release: try KernelRelease(parsing: text), source: .given)
      let summary = P2PEngine(topology: topology, configuration: configuration).summary()
      return "\(text) \(summary.busAddress)/\(summary.thruHostBridge)/\(summary.notSupported)"
    }
    #expect(counts.joined(separator: ", ") == expected, "\(name)")
  }
}
