import ExplorerUI
import Testing

@Suite("In-memory cell screen")
struct CellScreenTests {
  @Test func textIsClippedToTheScreen() {
    var screen = CellScreen(width: 5, height: 2)
    screen.put("abcdefgh", x: 2, y: 0)
    screen.put("zz", x: -1, y: 1)
    screen.put("never", x: 0, y: 7)
    #expect(screen.lines == ["  abc", "z"])
  }

  @Test func clipRectangleKeepsWritesInside() {
    var screen = CellScreen(width: 6, height: 1)
    screen.put("xxxxxx", x: 0, y: 0, clip: Rect(x: 2, y: 0, width: 2, height: 1))
    #expect(screen.lines == ["  xx"])
  }

  @Test func wideAndControlCharactersNeverShiftTheGrid() {
    var screen = CellScreen(width: 6, height: 1)
    screen.put("a\u{7}漢😀b", x: 0, y: 0)
    #expect(screen.lines == ["a???b"])
  }

  @Test func emptyScreenAcceptsEveryWrite() {
    var screen = CellScreen(width: 0, height: 0)
    screen.put("text", x: 0, y: 0)
    screen.fill(Rect(x: -5, y: -5, width: 50, height: 50), with: "#")
    screen.box(Rect(x: 0, y: 0, width: 3, height: 3), title: "t", focused: true, glyphs: .unicode)
    #expect(screen.lines.isEmpty)
  }

  @Test func boxDrawsBordersAndTitle() {
    var screen = CellScreen(width: 12, height: 3)
    screen.box(Rect(x: 0, y: 0, width: 12, height: 3), title: "Tree", focused: false, glyphs: .ascii)
    #expect(screen.lines == ["+- Tree ---+", "|          |", "+----------+"])
  }

  @Test func asciiConversionLeavesOnlyASCII() {
    var screen = CellScreen(width: 4, height: 1)
    screen.put("│▶…x", x: 0, y: 0)
    screen.convertToASCII()
    #expect(screen.lines == ["|>~x"])
  }
}

@Suite("Layout")
struct LayoutTests {
  @Test func fullLayoutAt120x40() {
    let layout = Layout(width: 120, height: 40)
    #expect(layout.mode == .full)
    #expect(layout.status == Rect(x: 0, y: 39, width: 120, height: 1))
    for pane in Pane.allCases {
      let rect = layout.rect(of: pane)
      #expect(rect.maxX <= 120 && rect.maxY <= 39, "\(pane) at \(rect) leaves the body")
      #expect(rect.width >= 20 && rect.height >= 6, "\(pane) at \(rect) too small to read")
    }
  }

  @Test func compactLayoutAt80x24AndTooSmallBelow() {
    #expect(Layout(width: 80, height: 24).mode == .compact)
    #expect(Layout(width: 119, height: 40).mode == .compact)
    #expect(Layout(width: 79, height: 24).mode == .tooSmall)
    #expect(Layout(width: 80, height: 23).mode == .tooSmall)
  }

  @Test(arguments: [(120, 40), (80, 24), (200, 60), (100, 30)])
  func panesDoNotOverlap(width: Int, height: Int) {
    let layout = Layout(width: width, height: height)
    let rects = Pane.allCases.map { layout.rect(of: $0) } + [layout.status]
    for (first, a) in rects.enumerated() {
      for b in rects[(first + 1)...] {
        let overlaps = a.x < b.maxX && b.x < a.maxX && a.y < b.maxY && b.y < a.maxY
        #expect(!overlaps, "\(a) overlaps \(b)")
      }
    }
  }

  @Test func paneUnderTheMouse() {
    let layout = Layout(width: 120, height: 40)
    #expect(layout.pane(atX: 1, y: 1) == .tree)
    #expect(layout.pane(atX: layout.sgTable.x + 1, y: layout.sgTable.y + 1) == .sgTable)
    #expect(layout.pane(atX: 5, y: 39) == nil)
  }
}

@Suite("Frame diff")
struct FrameDiffTests {
  static func screen(_ lines: [String]) -> CellScreen {
    var screen = CellScreen(width: 6, height: lines.count)
    for (row, text) in lines.enumerated() { screen.put(text, x: 0, y: row) }
    return screen
  }

  @Test func identicalFramesWriteNothing() {
    let frame = Self.screen(["abc", "def"])
    #expect(frame.changedRuns(since: frame).isEmpty)
  }

  @Test func noPreviousFrameOrAResizeRepaintsEveryCell() {
    let frame = Self.screen(["ab", "cd"])
    let full = frame.changedRuns(since: nil)
    #expect(full.map(\.row) == [0, 1])
    #expect(full.allSatisfy { $0.column == 0 && $0.text.count == 6 })
    let smaller = CellScreen(width: 3, height: 2)
    #expect(frame.changedRuns(since: smaller).count == 2)
  }

  @Test func onlyChangedCellsAreWrittenInRunsOfOneStyle() {
    let before = Self.screen(["abcdef", "ghijkl"])
    var after = before
    after.put("XY", x: 2, y: 0)
    after.put("Z", x: 5, y: 1, style: CellStyle(bold: true))
    after.put("W", x: 4, y: 1)
    let runs = after.changedRuns(since: before)
    #expect(
      runs == [
        CellRun(row: 0, column: 2, text: ["X", "Y"], style: .plain),
        CellRun(row: 1, column: 4, text: ["W"], style: .plain),
        CellRun(row: 1, column: 5, text: ["Z"], style: CellStyle(bold: true)),
      ])
  }

  @Test func aStyleChangeAloneIsAChange() {
    let before = Self.screen(["abc"])
    var after = before
    after.restyle(Rect(x: 1, y: 0, width: 1, height: 1)) { $0.reverse = true }
    #expect(
      after.changedRuns(since: before) == [CellRun(row: 0, column: 1, text: ["b"], style: CellStyle(reverse: true))])
  }
}
