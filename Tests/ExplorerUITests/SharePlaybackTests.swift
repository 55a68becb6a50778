import P2PDMA
import PCITopology
import Testing

@testable import ExplorerUI

@Suite("Share playback with a scripted backend")
struct SharePlaybackTests {
  /// GPU exports its `frame` buffer to the NIC (behind the redirecting switch port) and the NVMe.
  static func startedShare() -> ExplorerState {
    var state = Fixtures.state()
    state.highlight(Fixtures.gpu)
    state.press(.character("e"), .enter)
    state.highlight(Fixtures.nic)
    state.press(.character("i"))
    state.highlight(Fixtures.nvme)
    state.press(.character("i"))
    state.press(.enter)
    return state
  }

  @Test func enterStartsPlayingFromTheFirstStep() {
    let state = Self.startedShare()
    #expect(state.run != nil)
    #expect(state.playback.step == 0)
    #expect(state.isAnimating)
    let screen = state.screen
    expectOnScreen(screen, "step 1/9, playing")
    expectOnScreen(screen, "importer      dma-buf core  exporter      PCI P2PDMA    DMA API/IOMMU")
    expectOnScreen(screen, "kernel: dma_buf_export()")
    expectOnScreen(screen, "The exporter wraps its buffer.")
  }

  @Test func spacePausesAndTicksAdvanceOnlyWhilePlaying() {
    var state = Self.startedShare()
    state.handle(.tick)
    #expect(state.playback.step == 1)
    state.press(.character(" "))
    #expect(!state.isAnimating)
    state.handle(.tick)
    #expect(state.playback.step == 1)
  }

  @Test func timerLightsTheWalkHopByHopAndStepKeysMoveWholeSteps() {
    var state = Self.startedShare()
    state.handle(.resize(width: 200, height: 50))  // room for the whole tree line
    state.handle(.tick)  // onto the NIC's attach
    state.handle(.tick)  // onto the pci_p2pdma_distance step: first hop lit
    #expect(state.currentStep?.function == "pci_p2pdma_distance")
    #expect(state.playback.walkProgress == 1)
    guard let walk = state.currentStep?.walk else {
      Issue.record("no walk on the distance step")
      return
    }
    // GPU → downstream 0 → switch upstream (common) → downstream 1 → NIC.
    #expect(
      walk.nodes.map { Fixtures.topology[$0].bdf } == [
        Fixtures.gpu, Fixtures.bdf("0000:02:00.0"), Fixtures.bdf("0000:01:00.0"), Fixtures.redirectingSwitchPort,
        Fixtures.nic,
      ])
    #expect(walk.commonUpstream == Fixtures.index(Fixtures.bdf("0000:01:00.0")))
    #expect(walk.culprits == [Fixtures.index(Fixtures.redirectingSwitchPort)])
    #expect(!state.screen.contains("✗ redirect"), "the culprit must not be marked before the walk reaches it")
    for _ in 0..<3 { state.handle(.tick) }
    #expect(state.playback.step == 2)
    #expect(state.playback.walkProgress == 4)
    let screen = state.screen
    expectOnScreen(screen, "02:01.0 ACS:RR CR ✗ redirect ▶Switch Down 1")
    expectOnScreen(screen, "03:00.0 [EXP] ▶Navi 31 GPU")
    // A step key is never swallowed by the hop animation: n goes to the next step at once.
    state.press(.character("n"))
    #expect(state.currentStep?.function == "dma_map_resource")
    // p lands on the distance step with its walk complete.
    state.press(.character("p"))
    #expect(state.currentStep?.function == "pci_p2pdma_distance")
    #expect(state.playback.walkProgress == 5)
    // g and G: first and last step.
    state.press(.character("G"))
    #expect(state.isAtEnd)
    state.press(.character("g"))
    #expect(state.playback.step == 0)
  }

  @Test func enterInTheDecisionOrSequencePaneKeepsThePosition() {
    var state = Self.startedShare()
    state.press(.character("n"), .character("n"), .character("n"))
    #expect(state.playback.step == 3)
    state.focus = .decision
    state.press(.enter)
    #expect(state.playback.step == 3)
    #expect(state.focus == .sgTable)
    state.focus = .sequence
    state.press(.enter)
    #expect(state.playback.step == 3)
    #expect(state.playback.isPlaying)
    state.focus = .tree
    state.press(.enter)
    #expect(state.playback.step == 3, "Enter in the tree must not restart a loaded share")
    state.press(.character("s"))
    #expect(state.playback.step == 0)
  }

  @Test func decisionsAndSGEntriesShowAtTheEnd() {
    var state = Self.startedShare()
    state.focus = .sequence
    state.press(.end)
    #expect(state.isAtEnd)
    // The panes follow the last step's importer; go back to the first one.
    state.focus = .decision
    state.press(.home)
    let screen = state.screen
    expectOnScreen(screen, "Sequence — step 9/9, done")
    // Decision rows: importer, allow, map type, distance, peer2peer, placement, error.
    let nicRow = screen.lines.first { $0.contains("1 04:00.0") } ?? ""
    #expect(nicRow.contains("yes   THRU_HOST_BRIDGE 4    true      VRAM"))
    let nvmeRow = screen.lines.first { $0.contains("2 05:00.0") } ?? ""
    #expect(nvmeRow.contains("THRU_HOST_BRIDGE"))
    expectOnScreen(screen, "culprit: 0000:02:01.0 ACS RR CR")
    expectOnScreen(screen, "fix: pci=disable_acs_redir=0000:02:01.0")
    // sg table of the first importer.
    expectOnScreen(screen, "nents 2  orig_nents 2")
    expectOnScreen(screen, "  0  0x0000007000000000  2 GiB     NULL         BAR0 of 0000:03:00.0")
    expectOnScreen(screen, "  1  0x0000007080000000  1 MiB")
  }

  @Test func decisionIsRevealedOnlyWhenTheWalkIsComplete() {
    var state = Self.startedShare()
    state.handle(.tick)
    state.handle(.tick)  // onto the walk, first node lit
    var row = state.screen.lines.first { $0.contains("1 04:00.0") } ?? ""
    #expect(row.contains("(not attached yet)"), "verdict shown before the walk: \(row)")
    for _ in 0..<4 { state.handle(.tick) }  // every node of the walk lit
    row = state.screen.lines.first { $0.contains("1 04:00.0") } ?? ""
    #expect(row.contains("THRU_HOST_BRIDGE"), "verdict missing after the walk: \(row)")
  }

  @Test func sgEntriesAppearAsTheExporterBuildsThem() {
    var state = Self.startedShare()
    state.press(.character("n"), .character("n"), .character("n"))
    #expect(state.currentStep?.function == "dma_map_resource")
    let screen = state.screen
    expectOnScreen(screen, "building: 1 of 2")
    expectOnScreen(screen, "0x0000007000000000")
    #expect(!screen.contains("0x0000007080000000"))
  }

  @Test func compactDecisionColumnsStaySeparated() {
    var state = Self.startedShare()
    state.handle(.resize(width: 80, height: 24))
    state.focus = .sequence
    state.press(.end)
    state.focus = .decision
    state.press(.home)
    expectOnScreen(
      state.screen, "importer  alw map type  dist p2p   placement", "1 04:00.0 yes THRU_HOST 4    true  VRAM")
  }

  @Test func decisionCursorSelectsWhichSGTableIsShown() {
    var state = Self.startedShare()
    state.focus = .sequence
    state.press(.end)
    state.focus = .decision
    state.press(.down)
    #expect(state.shownAttachmentIndex == 1)
    let screen = state.screen
    expectOnScreen(screen, "sg table — importer 05:00.0")
    expectOnScreen(screen, "0x0000007010000000")
  }

  @Test func whatIfRecomputesTheRunningShareAtOnce() {
    var state = Self.startedShare()
    state.focus = .sequence
    state.press(.end)
    state.highlight(Fixtures.redirectingSwitchPort)
    state.press(.character("a"))
    let screen = state.screen
    let nicRow = screen.lines.first { $0.contains("1 04:00.0") } ?? ""
    #expect(nicRow.contains("BUS_ADDR"))
    #expect(!screen.contains("culprit:"))
  }

  @Test func changingTheSelectionDropsThePlayedShare() {
    var state = Self.startedShare()
    state.highlight(Fixtures.nvme)
    state.press(.character("i"))
    #expect(state.run == nil)
    expectOnScreen(state.screen, "No share yet.", "importers: 04:00.0")
    state.press(.enter)
    #expect(state.run?.attachments.count == 1)
  }

  @Test func failingSimulationShowsAnErrorBoxNotACrash() {
    var state = Fixtures.state(backend: { _, _ in UnavailableBackend(reason: "simulator offline") })
    state.highlight(Fixtures.gpu)
    state.press(.character("e"), .enter)
    state.highlight(Fixtures.nic)
    state.press(.character("i"), .enter)
    #expect(state.run == nil)
    expectOnScreen(state.screen, "simulator offline")
    state.press(.escape)
    #expect(state.overlay == nil)
  }

  @Test func matrixOverlayColoursCellsAndExplainsTheHighlightedOne() {
    var state = Fixtures.state()
    state.highlight(Fixtures.gpu)
    state.press(.character("m"))
    #expect(state.overlay == .matrix)
    state.press(.right)
    let screen = state.screen
    expectOnScreen(
      screen, "BUSn BUS_ADDR at distance n  HBn THRU_HOST_BRIDGE at distance n  NO NOT_SUPPORTED  X same function")
    expectOnScreen(screen, "HB4 ")
    expectOnScreen(screen, "PCI_P2PDMA_MAP_THRU_HOST_BRIDGE  distance 4")
    expectOnScreen(screen, "scripted reason")
    expectOnScreen(screen, "fix: scripted fix")
    // The CPU toggle works inside the matrix and recolours it.
    state.press(.character("c"))
    #expect(!state.screen.contains("HB4 "))
    expectOnScreen(state.screen, "NO  ")
    state.press(.escape)
    #expect(state.overlay == nil)
  }

  @Test func matrixErrorsShowInABox() {
    var state = Fixtures.state(backend: { _, _ in UnavailableBackend(reason: "engine offline") })
    state.press(.character("m"), .right)
    expectOnScreen(state.screen, "explain failed: engine offline")
  }
}
