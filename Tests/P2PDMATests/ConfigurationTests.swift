import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Building a `P2PConfiguration`: CPU rule inference and the `disable_acs_redir` syntax.
@Suite struct ConfigurationTests {
  static func topology(hostVendor: UInt16, platform: PlatformInfo = PlatformInfo()) -> Topology {
    Fixtures.rootPortPair(hostVendor: hostVendor, hostDevice: 0x1234, platform: platform).topology
  }

  @Test(arguments: [(UInt16(0x1022), CPURule.amdZen), (0x8086, .intel), (0x1d94, .other), (0x10de, .other)])
  func cpuIsInferredFromTheHostBridgeVendor(vendor: UInt16, expected: CPURule) {
    let configuration = P2PConfiguration(inferringFrom: Self.topology(hostVendor: vendor))
    #expect(configuration.cpu == expected)
    #expect(configuration.cpuWasInferred)
    #expect(configuration.cpuSource.contains("inferred"))
    #expect(configuration.cpuSource.contains("0000:00:00.0"))
  }

  /// An AMD root complex of a pre-Zen family (here Family 15h 1410, Family 16h 1566, RS780
  /// 9600) must not be inferred as Zen; Zen root complexes (1450, 1480, 14a4) are.
  @Test(arguments: [
    (UInt16(0x1410), CPURule.other), (0x1566, .other), (0x9600, .other), (0x1450, .amdZen), (0x1480, .amdZen),
    (0x14a4, .amdZen),
  ])
  func preZenAMDRootComplexesAreNotZen(device: UInt16, expected: CPURule) {
    let topology = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: device, platform: PlatformInfo()).topology
    let configuration = P2PConfiguration(inferringFrom: topology)
    #expect(configuration.cpu == expected)
    #expect(configuration.cpuWasInferred)
  }

  @Test(arguments: [
    (PlatformInfo(cpuVendor: .amd, cpuFamily: 0x19), CPURule.amdZen),
    (PlatformInfo(cpuVendor: .amd, cpuFamily: 0x17), .amdZen),
    (PlatformInfo(cpuVendor: .amd, cpuFamily: 0x15), .other),
    (PlatformInfo(cpuVendor: .amd), .amdZen),
    (PlatformInfo(cpuVendor: .hygon, cpuFamily: 0x18), .other),
    (PlatformInfo(cpuVendor: .intel, cpuFamily: 6), .intel),
    (PlatformInfo(cpuVendor: .arm), .other),
  ])
  func platformFactsWinOverInference(platform: PlatformInfo, expected: CPURule) {
    let configuration = P2PConfiguration(inferringFrom: Self.topology(hostVendor: 0x8086, platform: platform))
    #expect(configuration.cpu == expected)
    #expect(!configuration.cpuWasInferred)
  }

  @Test func explicitArgumentsWin() {
    let topology = Self.topology(hostVendor: 0x1022, platform: PlatformInfo(cpuVendor: .amd, iommu: .on))
    let configuration = P2PConfiguration(inferringFrom: topology, cpu: .other, iommu: .passthrough)
    #expect(configuration.cpu == .other)
    #expect(!configuration.cpuWasInferred)
    #expect(configuration.iommu == .passthrough)
    #expect(P2PConfiguration(inferringFrom: topology).iommu == .on)
    #expect(P2PConfiguration(inferringFrom: Self.topology(hostVendor: 0x8086)).iommu == .off)
  }

  @Test func parsesTheKernelParameterSyntax() throws {
    #expect(
      try P2PConfiguration.parseACSRedirectList("0000:00:01.1;01:00.0")
        == [Fixtures.bdf("0000:00:01.1"), Fixtures.bdf("0000:01:00.0")])
    #expect(
      try P2PConfiguration.parseACSRedirectList("0001:1A:00.0;") == [BDF(domain: 1, bus: 0x1a, device: 0, function: 0)])
    #expect(try P2PConfiguration.parseACSRedirectList("").isEmpty)
  }

  @Test(arguments: ["0000:00:01", "zz:00.0", "pci:8086:1234", "00:01.0/00.0", "00:20.0"])
  func rejectsBadItemsNamingThem(text: String) {
    do {
      _ = try P2PConfiguration.parseACSRedirectList("0000:00:01.0;\(text)")
      Issue.record("'\(text)' was accepted")
    } catch let error as P2PError {
      #expect(error.description.contains("'\(text)'"))
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }
}
