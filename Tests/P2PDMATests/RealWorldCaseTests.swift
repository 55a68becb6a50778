import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Cases from user reports (§5.1), rebuilt by hand.
@Suite struct RealWorldCaseTests {
  /// intel/compute-runtime#935: behind one PLX switch, ACS redirect on the PLX downstream ports
  /// gives NOT_SUPPORTED on host bridge 8086:4c43; with redirect off it is BUS_ADDR, distance 8.
  @Test func computeRuntime935RedirectOnIsRefused() throws {
    let machine = Fixtures.computeRuntime935(plxRedirect: true)
    let engine = P2PEngine(topology: machine.topology, configuration: P2PConfiguration(inferringFrom: machine.topology))
    #expect(engine.configuration.cpu == .intel)
    let verdict = try engine.verdict(provider: machine.gpuA, client: machine.gpuB)
    #expect(verdict.mapType == .notSupported)
    #expect(verdict.distance == -1)
    #expect(verdict.pathDistance == 8)
    #expect(verdict.acsRedirect == [machine.plxDownA, machine.plxDownB])
    #expect(
      verdict.dmesg == [
        "xe 0000:08:00.0: ACS redirect is set between the client and provider (0000:07:00.0)",
        "xe 0000:08:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:01.0",
        "pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4c43",
        "xe 0000:08:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:07:00.0) do not share an upstream bridge or whitelisted host bridge",
      ])
    #expect(verdict.fix == "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0")
    #expect(verdict.topoClass == .pxb)
  }

  @Test func computeRuntime935RedirectOffIsBusAddressAtDistanceEight() throws {
    let machine = Fixtures.computeRuntime935(plxRedirect: false)
    let verdict = try Fixtures.engine(machine.topology).verdict(provider: machine.gpuA, client: machine.gpuB)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 8)
    #expect(verdict.commonUpstream == Fixtures.bdf("0000:01:00.0"))
    #expect(verdict.dmesg.isEmpty)
  }

  @Test func computeRuntime935FixedByTheSuggestedParameter() throws {
    let machine = Fixtures.computeRuntime935(plxRedirect: true)
    let devices = try P2PConfiguration.parseACSRedirectList("0000:02:00.0;0000:02:01.0")
    let engine = P2PEngine(
      topology: machine.topology,
      configuration: P2PConfiguration(inferringFrom: machine.topology, disableACSRedirect: devices))
    let verdict = try engine.verdict(provider: machine.gpuA, client: machine.gpuB)
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 8)
  }

  /// NVIDIA/nccl#2079: ACSCtl 0x001d (SV RR CR UF) on AMD GPP bridges; on Zen that only reroutes.
  @Test func ncclOnAMDWithACSCtl001dIsThroughTheHostBridge() throws {
    let acs = ACSState.present(capability: ACSBits(rawValue: 0x5f), control: ACSBits(rawValue: 0x001d))
    let pair = Fixtures.switchPair(hostVendor: 0x1022, hostDevice: 0x1480, providerPortACS: acs, clientPortACS: acs)
    let engine = P2PEngine(topology: pair.topology, configuration: P2PConfiguration(inferringFrom: pair.topology))
    #expect(engine.configuration.cpu == .amdZen)
    let verdict = try engine.verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.distance == 4)
  }
}
