import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// v4.20 and v5.2 `upstream_bridge_distance()` (§1.10): reject on redirect or no common bridge.
@Suite struct HistoricalDecisionTests {
  @Test(arguments: HistoricalKernel.allCases)
  func switchLocalWithoutRedirectIsAllowed(kernel: HistoricalKernel) throws {
    let pair = Fixtures.switchPair()
    let verdict = try Fixtures.engine(pair.topology).historicalVerdict(
      provider: pair.provider, client: pair.client, kernel: kernel)
    #expect(verdict.distance == 4)
    #expect(verdict.allowed)
    #expect(verdict.dmesg.isEmpty)
  }

  @Test(arguments: HistoricalKernel.allCases)
  func redirectIsMinusTwoEvenOnAMD(kernel: HistoricalKernel) throws {
    let pair = Fixtures.switchPair(
      hostVendor: 0x1022, hostDevice: 0x1450, providerPortACS: TopologyBuilder.acsRedirecting)
    let verdict = try Fixtures.engine(pair.topology, .amdZen).historicalVerdict(
      provider: pair.provider, client: pair.client, kernel: kernel)
    #expect(verdict.distance == -2)
    #expect(
      verdict.dmesg == [
        "pci 0000:04:00.0: cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (0000:03:00.0)",
        "pci 0000:04:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0",
      ])
    // Mainline reroutes the same pair instead of rejecting it.
    #expect(
      try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client).mapType
        == .thruHostBridge)
  }

  @Test func noCommonBridgeIsMinusOneInV4Point20EvenOnZen() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1450)
    let verdict = try Fixtures.engine(pair.topology).historicalVerdict(
      provider: pair.provider, client: pair.client, kernel: .v4Point20)
    #expect(verdict.distance == -1)
    #expect(
      verdict.dmesg == [
        "pci 0000:02:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:01:00.0) do not share an upstream bridge"
      ])
  }

  @Test func v5Point2AllowsZenRootComplexWithPenalty() throws {
    let pair = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x1450)
    let verdict = try Fixtures.engine(pair.topology).historicalVerdict(
      provider: pair.provider, client: pair.client, kernel: .v5Point2)
    #expect(verdict.distance == 0x1000 + 4)
    #expect(verdict.allowedByAMDRootComplex)
    #expect(verdict.dmesg.isEmpty)

    // Only 1022:1450 counted then; a later Zen root complex did not.
    let newer = Fixtures.rootPortPair(hostVendor: 0x1022, hostDevice: 0x14d8)
    let refused = try Fixtures.engine(newer.topology).historicalVerdict(
      provider: newer.provider, client: newer.client, kernel: .v5Point2)
    #expect(refused.distance == -1)
  }
}
