import Assets
import Foundation
import P2PDMA
import PCITopology
import Testing

@testable import ExplorerUI

/// The real kernel model (P2P engine + dma-buf simulator) behind the UI, on built-in scenarios:
/// what a user reads after playing a share to the end.
@Suite("Built-in scenarios through the real kernel model")
struct KnownScenarioTests {
  static func state(_ name: String, width: Int = 120, height: Int = 40) throws -> ExplorerState {
    let data = try #require(BuiltinAssets.scenarioData(named: name), "built-in scenario \(name) missing")
    let topology = try ScenarioLoader.loadScenario(data: data, path: "builtin:" + name).topology
    return ExplorerState(
      topology: topology, configuration: P2PConfiguration(inferringFrom: topology), width: width, height: height,
      backendFactory: KernelBackend.factory)
  }

  /// Exporter, its first buffer, importers in order, then the share played to its last step.
  static func share(_ state: inout ExplorerState, exporter: String, importers: [String]) throws {
    let topology = state.topology
    let exporterIndex = try #require(BDF(exporter).flatMap { topology.index(of: $0) })
    state.tree.reveal(exporterIndex, topology: topology)
    state.press(.character("e"), .enter)
    for importer in importers {
      let index = try #require(BDF(importer).flatMap { topology.index(of: $0) })
      state.tree.reveal(index, topology: topology)
      state.press(.character("i"))
    }
    state.press(.enter)
    #expect(state.run != nil, "share did not start: \(state.message ?? "")")
    state.focus = .sequence
    state.press(.end)
    state.focus = .decision
    state.press(.home)
  }

  @Test func teachingWorkstationGPUToGPUAndNICIsPeerToPeerFromVRAM() throws {
    var state = try Self.state("teaching-workstation")
    try Self.share(&state, exporter: "0000:03:00.0", importers: ["0000:04:00.0", "0000:05:00.0"])
    #expect(state.isAtEnd)
    let screen = state.screen
    // Both importers sit behind the same switch: BUS_ADDR at distance 4, peer2peer kept, VRAM.
    expectOnScreen(
      screen, "1 04:00.0  yes   BUS_ADDR         4    true      VRAM",
      "2 05:00.0  yes   BUS_ADDR         4    true      VRAM")
    // The GPU's VRAM buffer is one sg entry: a BAR0 address with a NULL page.
    expectOnScreen(
      screen, "nents 1  orig_nents 1", "  0  0x0000004040000000  256 MiB   NULL         BAR0 of 0000:03:00.0")
    // The path of the last walk stays lit: provider, its downstream port, the switch's upstream port.
    expectOnScreen(screen, "03:00.0 [EXP] ▶Navi 31", "01:00.0 ▶PEX890xx")
  }

  @Test func xeonACSRedirectNamesTheCulpritsAndTheFixAndTheWhatIfRemovesThem() throws {
    var state = try Self.state("xeon-acs-redirect", width: 160, height: 50)
    try Self.share(&state, exporter: "0000:19:00.0", importers: ["0000:1a:00.0"])
    var screen = state.screen
    let row = screen.lines.first { $0.contains("1 1a:00.0") } ?? ""
    #expect(row.contains("THRU_HOST_BRIDGE"), "decision row: \(row)")
    expectOnScreen(screen, "culprit: ACS redirect on 0000:18:00.0 (ACS RR CR)", "pci=disable_acs_redir=")
    // Both downstream ports on the walk are marked in the tree.
    expectOnScreen(screen, "18:00.0 ACS:RR CR ✗ redirect", "18:01.0 ACS:RR CR ✗ redirect")
    // What-if: clear RR/CR/EC on both ports; the share is recomputed at once.
    for port in ["0000:18:00.0", "0000:18:01.0"] {
      let index = try #require(BDF(port).flatMap { state.topology.index(of: $0) })
      state.tree.reveal(index, topology: state.topology)
      state.focus = .tree
      state.press(.character("a"))
    }
    screen = state.screen
    let after = screen.lines.first { $0.contains("1 1a:00.0") } ?? ""
    #expect(after.contains("BUS_ADDR"), "after the what-if: \(after)")
    #expect(!screen.contains("culprit:"))
    expectOnScreen(screen, "2 ACS what-if")
  }

  @Test func matrixOnAKnownScenarioExplainsAPair() throws {
    var state = try Self.state("xeon-acs-redirect", width: 160, height: 50)
    let gpu = try #require(BDF("0000:19:00.0").flatMap { state.topology.index(of: $0) })
    state.tree.reveal(gpu, topology: state.topology)
    // 16:00.0 is not a device that shares buffers: the matrix lists it only after A (show all).
    state.press(.character("m"))
    #expect(!state.matrix.endpoints.contains { state.topology[$0].bdf.description == "0000:16:00.0" })
    state.press(.character("A"))
    let target = try #require(
      state.matrix.endpoints.firstIndex { state.topology[$0].bdf.description == "0000:16:00.0" })
    while state.matrix.column > target { state.press(.left) }
    while state.matrix.column < target { state.press(.right) }
    let screen = state.screen
    expectOnScreen(
      screen, "provider 0000:19:00.0", "PCI_P2PDMA_MAP_THRU_HOST_BRIDGE", "client column \(target + 1): 0000:16:00.0",
      "nvidia-smi topo: PHB")
  }

  /// K cycles the kernel release and every answer follows it: two Zen 3 GPUs on different root
  /// ports are refused on 5.4 (no CPU rule before 5.9, 1022:1480 never allowlisted) and go
  /// through the host bridge on mainline.
  @Test func kernelReleaseKeyRecomputesTheDecision() throws {
    var state = try Self.state("amd-zen-root-ports")
    let first = try #require(BDF("0000:01:00.0").flatMap { state.topology.index(of: $0) })
    let second = try #require(BDF("0000:02:00.0").flatMap { state.topology.index(of: $0) })
    #expect(state.configuration.kernel.release == .mainline)
    #expect(state.backend.mapTypeAndDistance(provider: first, client: second)?.mapType == .thruHostBridge)
    let target = KernelRelease(major: 5, minor: 4)
    for _ in KernelRelease.interfaceCycle where state.configuration.kernel.release != target {
      state.press(.character("K"))
    }
    #expect(state.configuration.kernel.release == target)
    #expect(state.backend.mapTypeAndDistance(provider: first, client: second)?.mapType == .notSupported)
    #expect(state.screen.lines.last?.contains("kernel 5.4") == true, "\(state.screen.lines.last ?? "")")
    // Round the cycle back to mainline: the answer comes back.
    for _ in KernelRelease.interfaceCycle where state.configuration.kernel.release != .mainline {
      state.press(.character("K"))
    }
    #expect(state.backend.mapTypeAndDistance(provider: first, client: second)?.mapType == .thruHostBridge)
  }
}
