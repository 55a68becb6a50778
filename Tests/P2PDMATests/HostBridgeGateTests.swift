import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// The host-bridge gate: `cpu_supports_p2pdma()` and `host_bridge_whitelist()` (§1.4, §1.5).
@Suite struct HostBridgeGateTests {
  @Test func amdZenAllowsAnyHostBridgePathEvenAcrossHostBridges() throws {
    let machine = Fixtures.twoHostBridges(hostA: (0x1022, 0x14d8), hostB: (0x1022, 0x14d8))
    let verdict = try Fixtures.engine(machine.topology, .amdZen).verdict(
      provider: machine.provider, client: machine.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.distance == 4)
    #expect(verdict.hostBridge?.allowlistConsulted == false)
    #expect(verdict.dmesg.isEmpty)
  }

  /// Hygon is family 0x18 but not vendor AMD: cpu_supports_p2pdma() says no.
  @Test func hygonIsNotTreatedAsZen() throws {
    let platform = PlatformInfo(cpuVendor: .hygon, cpuFamily: 0x18)
    let machine = Fixtures.twoHostBridges(hostA: (0x1d94, 0x1450), hostB: (0x1d94, 0x1450), platform: platform)
    let configuration = P2PConfiguration(inferringFrom: machine.topology)
    #expect(configuration.cpu == .other)
    let engine = P2PEngine(topology: machine.topology, configuration: configuration)
    let verdict = try engine.verdict(provider: machine.provider, client: machine.client)
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.hostBridge?.cpuSupportsP2PDMA == false)
  }

  @Test func intelAllowlistedHostBridgeAllowsRootPortToRootPort() throws {
    let pair = Fixtures.rootPortPair(hostDevice: 0x09a2)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.hostBridge?.lookups.first?.matchedEntry?.idPattern == "8086:09a2")
    #expect(verdict.dmesg.isEmpty)
  }

  /// 8086:4c43 (intel/compute-runtime#935) is not listed: exact verbose dmesg, no allowlist line
  /// because warn is false without ACS redirect.
  @Test func intelUnlistedHostBridgeRefusesWithExactLines() throws {
    let pair = Fixtures.rootPortPair(hostDevice: 0x4c43)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.distance == -1)
    #expect(verdict.pathDistance == 4)
    #expect(
      verdict.dmesg == [
        "pci 0000:02:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:01:00.0) do not share an upstream bridge or whitelisted host bridge"
      ])
    #expect(verdict.hostBridge?.lookups.first?.hostBridgeDevice == Fixtures.bdf("0000:00:00.0"))
    #expect(verdict.hostBridge?.lookups.first?.firstDeviceIDs == "8086:4c43")
    #expect(verdict.hostBridge?.lookups.first?.matchedEntry == nil)
    #expect(verdict.fix?.hasPrefix("No kernel parameter helps") == true)
    #expect(verdict.reason.contains("8086:4c43"))
  }

  /// Every allowlist entry lets two root ports under its host bridge talk.
  @Test(arguments: P2PAllowlist.entries)
  func everyAllowlistEntryAllowsWithinItsHostBridge(entry: P2PAllowlistEntry) throws {
    let device = entry.deviceID ?? 0x4242
    let pair = Fixtures.rootPortPair(hostVendor: entry.vendorID, hostDevice: device)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.hostBridge?.lookups.first?.matchedEntry == entry)
  }

  /// Across two host bridges of the same kind, entries with REQ_SAME_HOST_BRIDGE refuse.
  @Test(arguments: P2PAllowlist.entries)
  func everyAllowlistEntryAcrossHostBridgesFollowsItsFlag(entry: P2PAllowlistEntry) throws {
    let ids = (entry.vendorID, entry.deviceID ?? 0x4242)
    let machine = Fixtures.twoHostBridges(hostA: ids, hostB: ids)
    let verdict = try Fixtures.engine(machine.topology).verdict(provider: machine.provider, client: machine.client)
    #expect(verdict.mapType == (entry.requiresSameHostBridge ? .notSupported : .thruHostBridge))
    #expect(verdict.hostBridge?.lookups.first?.rejectedBySameHostBridgeRule == entry.requiresSameHostBridge)
    // The second host bridge is only looked at when the first passed.
    #expect(verdict.hostBridge?.lookups.count == (entry.requiresSameHostBridge ? 1 : 2))
  }

  @Test func requireSameHostBridgeWithinOneHostBridgeAllows() throws {
    let pair = Fixtures.rootPortPair(hostDevice: 0x2f00)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.hostBridge?.lookups.first?.matchedEntry?.requiresSameHostBridge == true)
  }

  @Test func bothHostBridgesMustBeListed() throws {
    let listedThenNot = Fixtures.twoHostBridges(hostA: (0x8086, 0x09a2), hostB: (0x8086, 0x4c43))
    let first = try Fixtures.engine(listedThenNot.topology).verdict(
      provider: listedThenNot.provider, client: listedThenNot.client)
    #expect(first.mapType == .notSupported)
    #expect(first.hostBridge?.lookups.map(\.passed) == [true, false])

    let notThenListed = Fixtures.twoHostBridges(hostA: (0x8086, 0x4c43), hostB: (0x8086, 0x09a2))
    let second = try Fixtures.engine(notThenListed.topology).verdict(
      provider: notThenListed.provider, client: notThenListed.client)
    #expect(second.mapType == .notSupported)
    #expect(second.hostBridge?.lookups.map(\.passed) == [false])
  }

  /// pci_host_bridge_dev(): the first device on the root bus counts only when it is 00.0 or a
  /// root port. An allowlisted ID elsewhere does not help.
  @Test func firstDeviceThatIsNeither00Point0NorARootPortIsNotAllowed() throws {
    var builder = TopologyBuilder()
    builder.endpoint(at: "0000:00:00.1", vendor: 0x8086, deviceID: 0x09a2, classCode: 0x088000, portType: nil)
    let portA = builder.rootPort("0000:00:01.0", acs: TopologyBuilder.acsRedirecting)
    let portB = builder.rootPort("0000:00:01.1")
    let provider = builder.endpoint(below: portA)
    let client = builder.endpoint(below: portB)
    let verdict = try Fixtures.engine(builder.build()).verdict(provider: provider, client: client)
    #expect(verdict.mapType == .notSupported)
    let lookup = try #require(verdict.hostBridge?.lookups.first)
    #expect(lookup.hostBridgeDevice == nil)
    #expect(lookup.firstDevice == Fixtures.bdf("0000:00:00.1"))
    #expect(lookup.rejectionReason?.contains("neither devfn 00.0 nor a PCIe root port") == true)
    #expect(!verdict.dmesg.contains { $0.contains("Host bridge not in P2PDMA whitelist") })
  }

  /// Skylake-E has no 00.0 host bridge: a root port at another devfn stands in.
  @Test func rootPortAsFirstDeviceIsAccepted() throws {
    var builder = TopologyBuilder()
    let portA = builder.rootPort("0000:00:01.0", device: 0x2030)
    let portB = builder.rootPort("0000:00:02.0", device: 0x2031)
    let provider = builder.endpoint(below: portA)
    let client = builder.endpoint(below: portB)
    let verdict = try Fixtures.engine(builder.build()).verdict(provider: provider, client: client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.hostBridge?.lookups.first?.hostBridgeDevice == Fixtures.bdf("0000:00:01.0"))
    #expect(verdict.hostBridge?.lookups.first?.matchedEntry?.idPattern == "8086:2030")
  }

  @Test func queuedZhaoxinEntriesCanBeSwitchedOff() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x1d17, hostDevice: 0x1008)
    let withQueued = P2PEngine(topology: pair.topology, configuration: Fixtures.config(.other, queued: true))
    let without = P2PEngine(topology: pair.topology, configuration: Fixtures.config(.other, queued: false))
    let allowed = try withQueued.verdict(provider: pair.provider, client: pair.client)
    #expect(allowed.mapType == .thruHostBridge)
    #expect(allowed.reason.contains("queued after v7.3-rc1"))
    #expect(try without.verdict(provider: pair.provider, client: pair.client).mapType == .notSupported)
  }

  @Test func intelAcceleratorEntryIsLabelled2026() throws {
    let pair = Fixtures.rootPortPair(hostDevice: 0x0b25)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.reason.contains("added in 2026"))
    #expect(verdict.hostBridge?.lookups.first?.matchedEntry?.status == .added2026)
  }
}
