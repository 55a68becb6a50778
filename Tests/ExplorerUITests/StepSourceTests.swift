import ExplorerUI
import Foundation
import PCITopology
import Testing

/// `S`: the Sequence pane names the kernel source of the current step (file, function, the
/// release the text describes, CONFIRMED/UNCONFIRMED), as `simulate --sources` does in text.
@Suite("Step sources in the Sequence pane")
struct StepSourceTests {
  /// The default share stopped on its first map call for the NIC, with sources shown.
  static func shareOnMapStep(showingSources: Bool) throws -> ExplorerState {
    var state = try StepTruePlaybackTests.playedShare()
    state.press(.character(" "))  // pause
    try StepTruePlaybackTests.step(&state, to: "dma_buf_map_attachment", importer: "0000:05:00.0")
    if showingSources { state.press(.character("S")) }
    return state
  }

  @Test func theKeyShowsTheCurrentStepsSourceUnderItsExplanation() throws {
    let hidden = try Self.shareOnMapStep(showingSources: false)
    #expect(!hidden.screen.contains("source: "))
    let state = try Self.shareOnMapStep(showingSources: true)
    #expect(state.showsSources)
    let source = try #require(state.currentStep?.source)
    // The backend passes the simulator's source through unchanged.
    #expect(source.file == "drivers/dma-buf/dma-buf.c")
    #expect(source.function == "dma_buf_map_attachment")
    // The source lines sit right above the kernel line, at the bottom of the pane (wrapped, never cut).
    let footer = try Self.footer(of: state)
    #expect(
      footer
        == "source: drivers/dma-buf/dma-buf.c: dma_buf_map_attachment (\(source.release), \(source.status)) "
        + "kernel: dma_buf_map_attachment() importer 05:00.0")
    #expect(source.release.hasPrefix("mainline"))
    // Pressed again, it goes away.
    var again = state
    again.press(.character("S"))
    #expect(!again.showsSources)
    #expect(!again.screen.contains("source: "))
  }

  @Test func theStatusWordIsColouredByWhetherItWasChecked() throws {
    let state = try Self.shareOnMapStep(showingSources: true)
    let source = try #require(state.currentStep?.source)
    let screen = state.screen
    let position = try #require(screen.find(source.status + ")"))
    let style = try #require(screen.style(x: position.x, y: position.y))
    #expect(style.role == (source.confirmed ? .good : .warning))
    #expect(style.bold)
  }

  @Test func everyStepOfTheDefaultShareNamesAFileAndRelease() throws {
    let state = try StepTruePlaybackTests.playedShare()
    let run = try #require(state.run)
    for (number, step) in run.steps.enumerated() {
      let source = try #require(step.source, "step \(number + 1) \(step.function) has no source")
      #expect(!source.file.isEmpty && !source.release.isEmpty, "step \(number + 1): \(source)")
    }
  }

  @Test func aStepWithoutASourceSaysSo() {
    var state = Fixtures.state()
    state.highlight(Fixtures.gpu)
    state.press(.character("e"), .enter)
    state.highlight(Fixtures.nic)
    state.press(.character("i"), .enter, .character(" "), .character("S"))
    expectOnScreen(state.screen, "source: not named for this step", "kernel: dma_buf_export()")
  }

  @Test func theSequencePaneWithSourcesMatchesItsSnapshot() throws {
    let state = try Self.shareOnMapStep(showingSources: true)
    SnapshotTests.assertSnapshot(
      SnapshotTests.text(of: state.screen, in: state.layout.sequence), named: "share-sequence-sources")
  }

  /// At 80×24 the pane has room for one source line: status and release come first, so a cut
  /// takes the end of the path, never whether it was checked; the diagram keeps two rows.
  @Test func onASmallTerminalTheSourceIsOneLineStatusFirst() throws {
    var state = try Self.shareOnMapStep(showingSources: true)
    state.handle(.resize(width: 80, height: 24))
    let source = try #require(state.currentStep?.source)
    let screen = SnapshotTests.text(of: state.screen, in: state.layout.sequence)
    let footer = try Self.footer(of: state)
    #expect(footer.hasPrefix("source: \(source.status), \(source.release): driv"), "\(screen)")
    #expect(footer.contains("kernel: dma_buf_map_attachment()"), "\(screen)")
    #expect(screen.contains("▶"), "the current step's row is gone:\n\(screen)")
  }

  /// The Sequence pane's lines from `source:` to the bottom, frame and indents dropped, joined by spaces.
  static func footer(of state: ExplorerState) throws -> String {
    let lines = SnapshotTests.text(of: state.screen, in: state.layout.sequence).split(separator: "\n")
    let start = try #require(lines.firstIndex { $0.contains("source: ") }, "no source line")
    return lines[start..<(lines.count - 1)].map { line in
      line.split(separator: " ").filter { $0 != "│" }.joined(separator: " ").replacingOccurrences(of: "│", with: "")
    }.joined(separator: " ").trimmingCharacters(in: .whitespaces)
  }
}
