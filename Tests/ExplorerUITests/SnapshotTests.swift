import ExplorerUI
import Foundation
import P2PDMA
import PCITopology
import Testing

/// Whole-pane snapshots: every line of text a user reads, and for the matrix the style of every
/// cell (colour role and attributes carry the map type). Stored next to this file in
/// `Snapshots/NAME.txt`; run with `RECORD_SNAPSHOTS=1` to write new baselines after an intended
/// change (as swift-argument-parser's snapshot tests do), then review the diff.
@Suite("Pane snapshots")
struct SnapshotTests {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Snapshots", isDirectory: true)
  static var recording: Bool { ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil }

  /// Compares `text` with the stored snapshot, line by line, naming the first difference.
  static func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let url = directory.appendingPathComponent(name + ".txt")
    let stored = try? String(contentsOf: url, encoding: .utf8)
    if recording || stored == nil {
      try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      try? Data(text.utf8).write(to: url)
      Issue.record("recorded snapshot \(name).txt; run again without RECORD_SNAPSHOTS", sourceLocation: sourceLocation)
      return
    }
    guard let stored, stored != text else { return }
    let expected = stored.split(separator: "\n", omittingEmptySubsequences: false)
    let actual = text.split(separator: "\n", omittingEmptySubsequences: false)
    let line = Array(zip(expected, actual)).firstIndex { $0.0 != $0.1 } ?? min(expected.count, actual.count)
    Issue.record(
      """
      snapshot \(name).txt differs at line \(line + 1):
        expected: \(line < expected.count ? String(expected[line]) : "<end>")
        actual:   \(line < actual.count ? String(actual[line]) : "<end>")
      whole screen now:
      \(text)
      """, sourceLocation: sourceLocation)
  }

  /// The text inside a pane's rectangle, trailing spaces dropped.
  static func text(of screen: CellScreen, in rect: Rect) -> String {
    (rect.y..<rect.maxY).map { row in
      var line = ""
      for column in rect.x..<rect.maxX { line.unicodeScalars.append(screen.character(x: column, y: row) ?? " ") }
      while line.hasSuffix(" ") { line.removeLast() }
      return line
    }.joined(separator: "\n") + "\n"
  }

  /// `H+U` for a host-bridge-role cell that is underlined: role letter, then B/U/R attributes.
  static func styleCode(_ style: CellStyle) -> String {
    let roles: [ColorRole: String] = [
      .normal: "n", .header: "h", .dim: "d", .exporter: "e", .importer: "i", .warning: "w", .error: "E", .good: "g",
      .hostBridge: "H", .path: "p", .accent: "a",
    ]
    var code = roles[style.role] ?? "?"
    if style.bold { code += "+B" }
    if style.underline { code += "+U" }
    if style.reverse { code += "+R" }
    return code
  }

  static func defaultShare() throws -> ExplorerState { try StepTruePlaybackTests.playedShare() }

  @Test func startScreenTreeAndIntro() throws {
    let state = try KnownScenarioTests.state("teaching-workstation")
    let screen = state.screen
    Self.assertSnapshot(
      Self.text(of: screen, in: state.layout.tree) + Self.text(of: screen, in: state.layout.sequence),
      named: "start-tree-and-intro")
  }

  @Test func nicMappedInVRAMThenRemappedToSystemRAM() throws {
    var state = try Self.defaultShare()
    try StepTruePlaybackTests.step(&state, to: "for_each_sgtable_dma_sg", importer: "0000:05:00.0")
    var screen = state.screen
    Self.assertSnapshot(
      Self.text(of: screen, in: state.layout.decision) + Self.text(of: screen, in: state.layout.sgTable),
      named: "share-nic-vram")
    state.press(.character("n"))
    try StepTruePlaybackTests.step(&state, to: "for_each_sgtable_dma_sg", importer: "0000:05:00.0")
    screen = state.screen
    Self.assertSnapshot(
      Self.text(of: screen, in: state.layout.decision) + Self.text(of: screen, in: state.layout.sgTable),
      named: "share-nic-remapped")
  }

  /// The matrix overlay's text, then one line per provider with each cell's code and style.
  static func matrixSnapshot(_ state: ExplorerState) -> String {
    let screen = state.screen
    var text = Self.text(of: screen, in: Rect(x: 0, y: 0, width: screen.width, height: screen.height))
    text += "-- cell styles --\n"
    for row in state.matrix.endpoints.indices {
      var line = state.topology[state.matrix.endpoints[row]].bdf.description
      for column in state.matrix.endpoints.indices {
        let cell = state.matrix.cell(row: row, column: column)
        let code =
          row == column ? "X" : cell.map { MatrixLegend.code(mapType: $0.mapType, distance: $0.distance) } ?? "?"
        // The cell's style as drawn (the cursor cell is drawn reversed on top).
        line += " \(code):\(Self.styleCode(Self.drawnStyle(state, row: row, column: column)))"
      }
      text += line + "\n"
    }
    return text
  }

  /// The style a matrix cell is drawn with, read back from the screen when visible.
  static func drawnStyle(_ state: ExplorerState, row: Int, column: Int) -> CellStyle {
    let screen = state.screen
    let label =
      String(repeating: " ", count: max(0, 3 - String(row + 1).count)) + "\(row + 1) "
      + state.topology[state.matrix.endpoints[row]].bdf.description
    guard let position = screen.find(label) else { return .plain }
    // Labels are 17 columns wide, cells 5 (see OverlayViews.renderMatrix).
    let x = position.x + 17 + column * 5
    return screen.style(x: x, y: position.y) ?? .plain
  }

  @Test func matrixCellsAndTheirStylesOnTheDefaultMachine() throws {
    var state = try KnownScenarioTests.state("teaching-workstation")
    state.press(.character("m"))
    Self.assertSnapshot(Self.matrixSnapshot(state), named: "matrix-default")
    // c (CPU rule) inside the matrix recolours the host-bridge cells.
    state.press(.character("c"))
    #expect(state.configuration.cpu == .intel)
    Self.assertSnapshot(Self.matrixSnapshot(state), named: "matrix-default-intel")
    // I (IOMMU) inside the matrix recomputes the highlighted pair's explanation.
    let before = state.configuration.iommu
    state.press(.character("I"))
    #expect(state.configuration.iommu != before)
    #expect(state.overlay == .matrix)
  }

  @Test func helpAt80x24() {
    var state = Fixtures.state(width: 80, height: 24)
    state.press(.character("?"))
    Self.assertSnapshot(state.screen.text + "\n", named: "help-80x24")
  }

  /// Without colour the three map types stay distinct through attributes alone.
  @Test func mapTypesStayDistinctInMonochrome() {
    let types: [MapType] = [.busAddress, .thruHostBridge, .notSupported]
    let attributes = types.map { type -> [Bool] in
      let style = CellStyle.forMapType(type)
      return [style.bold, style.underline, style.reverse]
    }
    #expect(Set(attributes).count == 3, "\(attributes)")
  }
}
