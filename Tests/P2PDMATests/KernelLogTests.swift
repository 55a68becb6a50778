import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Exact dmesg lines (§1.6), the warn quirk (§1.4) and the 128-byte ACS list.
@Suite struct KernelLogTests {
  let redirecting = TopologyBuilder.acsRedirecting

  @Test func verboseACSRedirectRefusedPrintsFourLinesInOrder() throws {
    let pair = Fixtures.switchPair(hostDevice: 0x4c43, providerPortACS: redirecting, clientPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client)
    #expect(
      verdict.dmesg == [
        "pci 0000:04:00.0: ACS redirect is set between the client and provider (0000:03:00.0)",
        "pci 0000:04:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:01.0",
        "pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4c43",
        "pci 0000:04:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:03:00.0) do not share an upstream bridge or whitelisted host bridge",
      ])
  }

  /// warn=acs_redirects, not verbose: amdgpu/xe callers (verbose=false) still get this line.
  @Test func allowlistWarningIsPrintedEvenWithoutVerbose() throws {
    let pair = Fixtures.switchPair(hostDevice: 0x4c43, providerPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology).verdict(
      provider: pair.provider, client: pair.client, verbose: false)
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.dmesg == ["pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4c43"])
  }

  @Test func noCommonUpstreamNeverPrintsTheAllowlistWarning() throws {
    let pair = Fixtures.rootPortPair(hostDevice: 0x4c43, portACS: redirecting)
    let quiet = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client, verbose: false)
    #expect(quiet.mapType == .notSupported)
    #expect(quiet.dmesg.isEmpty)
    let loud = try Fixtures.engine(pair.topology).verdict(provider: pair.provider, client: pair.client, verbose: true)
    #expect(loud.dmesg.count == 1)
    #expect(loud.dmesg.first?.contains("do not share an upstream bridge or whitelisted host bridge") == true)
  }

  @Test func allowedHostBridgePathPrintsOnlyTheACSLinesWhenVerbose() throws {
    let pair = Fixtures.switchPair(providerPortACS: redirecting)
    let verdict = try Fixtures.engine(pair.topology, .amdZen).verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.dmesg.count == 2)
    let quiet = try Fixtures.engine(pair.topology, .amdZen).verdict(
      provider: pair.provider, client: pair.client, verbose: false)
    #expect(quiet.dmesg.isEmpty)
  }

  /// dev_printk's prefix is the bound driver's name when there is one.
  @Test func prefixUsesTheBoundDriver() throws {
    let machine = Fixtures.computeRuntime935(plxRedirect: true)
    let verdict = try Fixtures.engine(machine.topology).verdict(provider: machine.gpuA, client: machine.gpuB)
    #expect(
      verdict.dmesg.first == "xe 0000:08:00.0: ACS redirect is set between the client and provider (0000:07:00.0)")
  }

  @Test(arguments: 1...12)
  func seqBufKeepsThe127CharacterPrefix(count: Int) {
    let devices = (0..<count).map { BDF(bus: UInt8($0 + 1), device: 0, function: 0) }
    let joined = devices.map { "\($0);" }.joined()
    let (text, truncated) = KernelLog.seqBufACSList(devices)
    if joined.utf8.count < 128 {
      #expect(!truncated)
      #expect(text == String(joined.dropLast()))
    } else {
      #expect(truncated)
      #expect(text == String(joined.prefix(127)))
    }
    // 9 names of 13 characters fit (117); the 10th does not.
    #expect(truncated == (count >= 10))
  }

  /// A deep path with eleven redirecting devices: the dmesg copy is cut, the structured list
  /// and the suggested parameter are complete.
  @Test func longACSListIsTruncatedOnlyInDmesg() throws {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x8086, device: 0x4c43)
    let port = builder.rootPort("0000:00:01.0")
    let top = builder.pcieSwitch(below: port, downstreamPorts: 2, upstreamACS: redirecting, downstreamACS: redirecting)
    var deepest = top.downstream[0]
    for _ in 0..<4 {
      deepest =
        builder.pcieSwitch(below: deepest, downstreamPorts: 1, upstreamACS: redirecting, downstreamACS: redirecting)
        .downstream[0]
    }
    let provider = builder.endpoint(below: deepest)
    let client = builder.endpoint(below: top.downstream[1])
    let verdict = try Fixtures.engine(builder.build()).verdict(provider: provider, client: client)
    #expect(verdict.acsRedirect.count == 11)
    #expect(verdict.acsListTruncatedInDmesg)
    let full = verdict.acsRedirect.map { "\($0);" }.joined()
    let hint = try #require(verdict.dmesg.dropFirst().first)
    #expect(hint.hasSuffix("pci=disable_acs_redir=" + String(full.prefix(127))))
    #expect(verdict.kernelParameter == "pci=disable_acs_redir=" + String(full.dropLast()))
    #expect(verdict.fix == verdict.kernelParameter)
    #expect(verdict.reason.contains("cut at 127 characters"))
  }
}
