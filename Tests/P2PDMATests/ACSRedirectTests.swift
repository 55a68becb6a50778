import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Where ACS redirect counts (§1.2 steps 2–4, §1.3).
@Suite struct ACSRedirectTests {
  let redirecting = TopologyBuilder.acsRedirecting

  @Test func redirectOnProviderSidePortForcesHostBridge() throws {
    let pair = Fixtures.switchPair(providerPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.distance == 4)
    #expect(verdict.acsRedirect == [pair.providerPort])
    #expect(verdict.hostBridge?.warn == true)
    #expect(verdict.hostBridge?.cpuSupportsP2PDMA == true)
    #expect(verdict.hostBridge?.allowlistConsulted == false)
  }

  @Test func redirectOnClientSidePortCounts() throws {
    let pair = Fixtures.switchPair(clientPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.acsRedirect == [pair.clientPort])
  }

  @Test func redirectOnTheCommonDeviceCountsOnce() throws {
    let pair = Fixtures.switchPair(upstreamACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.acsRedirect == [pair.upstream])
  }

  @Test func redirectOnAnEndpointWithACSCounts() throws {
    let onProvider = Fixtures.switchPair(providerACS: redirecting)
    let first = try Fixtures.engine(onProvider.topology, .amdZen).verdict(
      provider: onProvider.provider, client: onProvider.client)
    #expect(first.mapType == .thruHostBridge)
    #expect(first.acsRedirect == [onProvider.provider])

    let onClient = Fixtures.switchPair(clientACS: redirecting)
    let second = try Fixtures.engine(onClient.topology, .amdZen).verdict(
      provider: onClient.provider, client: onClient.client)
    #expect(second.acsRedirect == [onClient.client])
  }

  /// Even a device paired with itself goes through the host bridge when it has ACS redirect
  /// enabled: the provider walk tests it before finding it on the client's path.
  @Test func selfPairOfARedirectingEndpointIsThroughTheHostBridge() throws {
    let pair = Fixtures.switchPair(providerACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.provider)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.distance == 0)
    #expect(verdict.acsRedirect == [pair.provider])
  }

  @Test func redirectAboveTheCommonDeviceDoesNotCount() throws {
    let pair = Fixtures.switchPair(rootPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.acsRedirect.isEmpty)
    #expect(!verdict.walk.contains { $0.bdf == pair.rootPort })
  }

  @Test func listIsInKernelOrderProviderWalkThenClientWalk() throws {
    let pair = Fixtures.switchPair(
      upstreamACS: redirecting, providerPortACS: redirecting, clientPortACS: redirecting, providerACS: redirecting,
      clientACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.acsRedirect == [pair.provider, pair.providerPort, pair.upstream, pair.client, pair.clientPort])
    #expect(
      verdict.kernelParameter
        == "pci=disable_acs_redir=0000:03:00.0;0000:02:00.0;0000:01:00.0;0000:04:00.0;0000:02:01.0")
  }

  /// Only RR (0x04), CR (0x08) and EC (0x20) in ACS Control count; capability bits do not.
  @Test(arguments: [
    (UInt16(0x0004), true), (0x0008, true), (0x0020, true), (0x001d, true),
    (0x0001, false), (0x0002, false), (0x0010, false), (0x0040, false), (0x0053, false), (0x0000, false),
  ])
  func onlyRequestCompletionAndEgressBitsRedirect(control: UInt16, redirects: Bool) throws {
    let pair = Fixtures.switchPair(
      providerPortACS: .present(capability: ACSBits(rawValue: 0x7f), control: ACSBits(rawValue: control)))
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == (redirects ? .notSupported : .busAddress))
  }

  /// With no common upstream device, ACS hits on the provider side are dropped and the
  /// allowlist is called with warn=false.
  @Test func noCommonUpstreamIgnoresACS() throws {
    let pair = Fixtures.rootPortPair(hostDevice: 0x09a2, portACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.acsRedirect.isEmpty)
    #expect(verdict.kernelParameter == nil)
    #expect(verdict.hostBridge?.warn == false)
    #expect(verdict.walk.allSatisfy { !$0.countedByKernel })
    #expect(verdict.walk.filter(\.redirect).count == 2)
  }
}
