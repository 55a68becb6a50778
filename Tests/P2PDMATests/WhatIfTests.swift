import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// `pci=disable_acs_redir=`, ACS Control overrides and unreadable ACS.
@Suite struct WhatIfTests {
  let redirecting = TopologyBuilder.acsRedirecting

  @Test func suggestedParameterFixesThePath() throws {
    let pair = Fixtures.switchPair(providerPortACS: redirecting, clientPortACS: redirecting)
    let before = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(before.mapType == .notSupported)
    #expect(before.fix == "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0")

    // The parser also takes the whole parameter, as pasted from dmesg.
    let devices = try P2PConfiguration.parseACSRedirectList(try #require(before.fix))
    let after = try Fixtures.engine(pair.topology, disable: devices).verdict(
      provider: pair.provider, client: pair.client)
    #expect(after.mapType == .busAddress)
    #expect(after.distance == 4)
    #expect(after.fix == nil)
    #expect(
      after.walk.first { $0.bdf == pair.providerPort }?.whatIf?.contains("cleared by pci=disable_acs_redir") == true)
  }

  @Test func disablingOnlyOneOfTwoIsNotEnough() throws {
    let pair = Fixtures.switchPair(providerPortACS: redirecting, clientPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology, disable: [pair.providerPort]).verdict(
      provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.acsRedirect == [pair.clientPort])
  }

  @Test func onAMDZenDisablingTurnsHostBridgeRoutingIntoBusAddress() throws {
    let pair = Fixtures.switchPair(upstreamACS: redirecting)
    let before = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client)
    #expect(before.mapType == .thruHostBridge)
    #expect(before.fix == "pci=disable_acs_redir=0000:01:00.0")
    let after = try Fixtures.engine(pair.topology, .amdZen, disable: [pair.upstream]).verdict(
      provider: pair.provider, client: pair.client)
    #expect(after.mapType == .busAddress)
  }

  @Test func controlOverrideReplacesTheRegister() throws {
    let pair = Fixtures.switchPair(providerPortACS: redirecting)
    let cleared = try Fixtures.engine(pair.topology, overrides: [pair.providerPort: []])
      .verdict(provider: pair.provider, client: pair.client)
    #expect(cleared.mapType == .busAddress)

    // An override on a port without an ACS capability acts as if it had one.
    let plain = Fixtures.switchPair()
    let egressOnly = try Fixtures.engine(plain.topology, overrides: [plain.clientPort: .egressControl])
      .verdict(provider: plain.provider, client: plain.client)
    #expect(egressOnly.mapType == .notSupported)
    #expect(egressOnly.acsRedirect == [plain.clientPort])
  }

  /// Overrides are applied first, then disable_acs_redir clears RR/CR/EC.
  @Test func disableWinsOverAnOverride() throws {
    let pair = Fixtures.switchPair()
    let engine = Fixtures.engine(
      pair.topology, disable: [pair.clientPort], overrides: [pair.clientPort: [.requestRedirect, .sourceValidation]])
    #expect(try engine.verdict(provider: pair.provider, client: pair.client).mapType == .busAddress)
  }

  @Test func unmatchedWhatIfDevicesAreReported() {
    let pair = Fixtures.switchPair()
    let ghost = Fixtures.bdf("0000:42:00.0")
    let engine = Fixtures.engine(pair.topology, disable: [ghost])
    #expect(engine.unmatchedWhatIfDevices == [ghost])
  }

  @Test func unknownACSIsTreatedAsNoRedirectWithAnAlternative() throws {
    let unknown = ACSState.unknown(reason: "lspci -x shows only 64 bytes")
    let pair = Fixtures.switchPair(providerPortACS: unknown)
    let intel = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(intel.mapType == .busAddress)
    #expect(intel.unknownACS == [pair.providerPort])
    #expect(intel.alternativeIfUnknownACSRedirects == .notSupported)
    #expect(intel.reason.contains("unknown"))

    let zen = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client)
    #expect(zen.alternativeIfUnknownACSRedirects == .thruHostBridge)
  }

  @Test func unknownACSThatCannotChangeTheAnswerHasNoAlternative() throws {
    let unknown = ACSState.unknown(reason: "no extended config space")
    // Already redirected by a known port and refused: unknown bits cannot make it worse.
    let pair = Fixtures.switchPair(providerPortACS: redirecting, clientPortACS: unknown)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.unknownACS == [pair.clientPort])
    #expect(verdict.alternativeIfUnknownACSRedirects == nil)
  }

  @Test func unknownACSAboveTheCommonDeviceOrWithoutCommonDeviceDoesNotMatter() throws {
    let unknown = ACSState.unknown(reason: "no extended config space")
    let above = Fixtures.switchPair(rootPortACS: unknown)
    let first = try Fixtures.engine(above.topology).verdict(provider: above.provider, client: above.client)
    #expect(first.unknownACS.isEmpty)
    #expect(first.alternativeIfUnknownACSRedirects == nil)

    let rootPorts = Fixtures.rootPortPair(portACS: unknown)
    let second = try Fixtures.engine(rootPorts.topology).verdict(provider: rootPorts.provider, client: rootPorts.client)
    #expect(second.unknownACS.isEmpty)
    #expect(second.walk.filter { $0.acsUnknown }.count == 2)
  }

  @Test func disablingAnUnknownPortSettlesIt() throws {
    let pair = Fixtures.switchPair(providerPortACS: .unknown(reason: "no extended config space"))
    let verdict = try Fixtures.engine(pair.topology, disable: [pair.providerPort]).verdict(
      provider: pair.provider, client: pair.client)
    #expect(verdict.unknownACS.isEmpty)
    #expect(verdict.mapType == .busAddress)
  }

  /// With an IOMMU driver the kernel turns RR and CR on wherever the capability has them, so a
  /// switch-local pair that was BUS_ADDR becomes a host-bridge path.
  @Test func kernelACSEnableTurnsSwitchLocalIntoHostBridge() throws {
    let pair = Fixtures.switchPair(providerPortACS: TopologyBuilder.acsAllOff, clientPortACS: TopologyBuilder.acsAllOff)
    #expect(
      try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client).mapType == .busAddress)
    var configuration = Fixtures.config(.intel)
    configuration.simulateKernelACSEnable = true
    let enabled = try P2PEngine(topology: pair.topology, configuration: configuration)
      .verdict(provider: pair.provider, client: pair.client)
    #expect(enabled.mapType == .notSupported)
    #expect(enabled.acsRedirect == [pair.providerPort, pair.clientPort])
    #expect(
      enabled.walk.first { $0.bdf == pair.providerPort }?.effectiveControl == [
        .sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding,
      ])
    #expect(enabled.walk.first { $0.bdf == pair.providerPort }?.whatIf?.contains("RR CR") == true)

    // disable_acs_redir still wins, as the kernel applies it last.
    configuration.disableACSRedirect = [pair.providerPort, pair.clientPort]
    let fixed = try P2PEngine(topology: pair.topology, configuration: configuration)
      .verdict(provider: pair.provider, client: pair.client)
    #expect(fixed.mapType == .busAddress)
  }

  /// EC is never turned on by the kernel's default, and a port without RR/CR capability stays quiet.
  @Test func kernelACSEnableOnlyUsesWhatTheCapabilityOffers() throws {
    let egressOnly = ACSState.present(capability: [.sourceValidation, .egressControl], control: [])
    let pair = Fixtures.switchPair(providerPortACS: egressOnly)
    var configuration = Fixtures.config(.intel)
    configuration.simulateKernelACSEnable = true
    let verdict = try P2PEngine(topology: pair.topology, configuration: configuration)
      .verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .busAddress)
  }
}
