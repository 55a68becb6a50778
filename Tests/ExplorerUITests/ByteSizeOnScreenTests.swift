import ExplorerUI
import P2PDMA
import PCITopology
import Testing

/// The explorer writes sizes with the same formatter as the text outputs (`formatBytes`), so a
/// buffer reads the same on screen as in `simulate`'s trace.
@Suite("Sizes on screen")
struct ByteSizeOnScreenTests {
  @Test func detailsPaneUsesTheTraceFormat() {
    var topology = Fixtures.topology
    let gpu = Fixtures.index(Fixtures.gpu)
    var extras = topology[gpu].extras
    extras.buffers = [
      BufferSpec(name: "weights", size: 1280 << 20, preferredPlacement: .vram, vramOffset: 0),
      BufferSpec(name: "tiny", size: 100, preferredPlacement: .system),
    ]
    topology.setExtras(extras, at: gpu)
    var state = ExplorerState(
      topology: topology, configuration: Fixtures.configuration, width: 120, height: 40,
      display: DisplayOptions(glyphs: .unicode),
      backendFactory: { topology, configuration in ScriptedBackend(topology: topology, configuration: configuration) })
    state.highlight(Fixtures.gpu)
    let screen = state.screen
    // One decimal used to give "1.3 GiB" and "100 B" here.
    expectOnScreen(screen, "0 weights  1.25 GiB  VRAM", "1 tiny  100 bytes  SYSTEM")
    #expect(formatBytes(1280 << 20) == "1.25 GiB")
  }
}
