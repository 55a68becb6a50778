import P2PDMA
import PCITopology
import Testing

@testable import ExplorerUI

/// The default machine's story, step by step through the real simulator: the GPU's buffer is
/// mapped in VRAM for the NIC, moved to system memory for the static capture card, the NIC's
/// mapping invalidated and re-mapped. Every pane must show each part at its own step.
@Suite("Step-true playback on the default machine")
struct StepTruePlaybackTests {
  static func playedShare() throws -> ExplorerState {
    var state = try KnownScenarioTests.state("teaching-workstation")
    let topology = state.topology
    for (key, bdf) in [("e", "0000:03:00.0"), ("i", "0000:05:00.0"), ("i", "0000:07:00.0")] {
      let index = try #require(BDF(bdf).flatMap { topology.index(of: $0) })
      state.tree.reveal(index, topology: topology)
      state.press(.character(Character(key)))
      if key == "e" { state.press(.enter) }
    }
    state.press(.enter, .character(" "))
    #expect(state.run != nil)
    #expect(state.playback.step == 0)
    return state
  }

  /// Steps with `n` until the current step's function contains `function` (for `importer`).
  static func step(_ state: inout ExplorerState, to function: String, importer: String? = nil) throws {
    for _ in 0..<100 {
      if let step = state.currentStep, step.function.contains(function),
        importer == nil || step.importer.map({ state.topology[$0].bdf.description }) == importer
      {
        return
      }
      let before = state.playback.step
      state.press(.character("n"))
      try #require(state.playback.step == before + 1, "n did not advance from step \(before + 1)")
    }
    Issue.record("no step \(function)")
  }

  @Test func theNICsVRAMMappingTheMoveAndTheRemapEachShowAtTheirStep() throws {
    var state = try Self.playedShare()
    // Steps not played yet show what they call, not what they return.
    expectOnScreen(state.screen, "pci_p2pdma_distance -> calc_map_type_and_dist")
    #expect(!state.screen.contains("calc_map_type_and_dist → 4"))
    // Before the move: the NIC programs the VRAM entry (BAR0 window, CPU-physical address).
    try Self.step(&state, to: "for_each_sgtable_dma_sg", importer: "0000:05:00.0")
    var screen = state.screen
    expectOnScreen(screen, "buffer in VRAM  pin_count 0", "sg table — importer 05:00.0")
    expectOnScreen(screen, "0x0000004040000000  256 MiB   NULL         BAR0 of 0000:03:00.0")
    expectOnScreen(
      screen, "CPU-physical BAR addresses from dma_map_resource()",
      "address: CPU-physical BAR addresses: amdgpu maps VRAM with")
    #expect(!screen.contains("system RAM pfn"))
    let nicRow = screen.lines.first { $0.contains("1 05:00.0") } ?? ""
    #expect(nicRow.contains("BUS_ADDR         4    true      VRAM"), "NIC row: \(nicRow)")
    // The capture card is static: the exporter pins and moves the buffer.
    try Self.step(&state, to: "dma_buf_invalidate_mappings")
    try Self.step(&state, to: "invalidate", importer: "0000:05:00.0")
    state.press(.character("n"))
    screen = state.screen
    let invalidatedRow = screen.lines.first { $0.contains("1 05:00.0") } ?? ""
    #expect(invalidatedRow.contains("invalidated"), "NIC row after invalidation: \(invalidatedRow)")
    expectOnScreen(screen, "buffer in GTT (system RAM)  pin_count 1")
    // The NIC re-maps: its new table points at system RAM.
    try Self.step(&state, to: "for_each_sgtable_dma_sg", importer: "0000:05:00.0")
    screen = state.screen
    expectOnScreen(screen, "sg table — importer 05:00.0", "nents 10507  orig_nents 10507  GTT (system RAM)")
    expectOnScreen(screen, "importer 1: buffer moved to system memory by importer 2 (static)")
    #expect(!screen.contains("INVALIDATED"))
    // Scrubbing back shows the VRAM table again, exactly.
    state.press(.character("g"))
    try Self.step(&state, to: "for_each_sgtable_dma_sg", importer: "0000:05:00.0")
    expectOnScreen(state.screen, "0x0000004040000000")
  }

  @Test func theCaptureCardsDecidingReasonIsThatItIsStatic() throws {
    var state = try Self.playedShare()
    state.press(.character("G"))
    state.focus = .decision
    state.press(.down)
    let screen = state.screen
    expectOnScreen(screen, "importer 2: static importer (no importer_ops, so no allow_peer2peer):")
  }

  @Test func theStepsEffectsShowUnderItsExplanation() throws {
    var state = try Self.playedShare()
    try Self.step(&state, to: "drm_prime_pages_to_sg")
    let effects = try #require(state.currentStep?.effects)
    #expect(!effects.isEmpty)
    expectOnScreen(state.screen, "* " + String(effects[0].prefix(40)))
  }
}

extension StepTruePlaybackTests {
  /// A long explanation is not cut: PgDn in the Sequence pane scrolls it, the step stays.
  @Test func longExplanationScrollsWithAMarker() throws {
    var state = try Self.playedShare()
    state.handle(.resize(width: 80, height: 24))
    try Self.step(&state, to: "for_each_sgtable_dma_sg", importer: "0000:05:00.0")
    state.focus = .sequence
    let step = state.playback.step
    let before = state.screen
    expectOnScreen(before, "more ↓ PgDn")
    state.press(.pageDown)
    #expect(state.playback.step == step)
    #expect(state.screen.lines != before.lines)
    expectOnScreen(state.screen, "kernel: for_each_sgtable_dma_sg()")
    state.press(.character("n"))
    #expect(state.explanationScroll == 0)
  }
}

extension StepTruePlaybackTests {
  /// After teardown the NIC's row still says why it ended in system memory.
  @Test func theMoveStaysTheDecidingReasonAfterTeardown() throws {
    var state = try Self.playedShare()
    state.press(.character("G"))
    state.focus = .decision
    state.press(.home)
    expectOnScreen(state.screen, "importer 1: buffer moved to system memory by importer 2 (static)")
  }
}
