/// A run of changed cells on one row that share a style: what the terminal backend writes with
/// one call.
public struct CellRun: Equatable, Sendable {
  public var row: Int
  public var column: Int
  public var text: [Unicode.Scalar]
  public var style: CellStyle

  public init(row: Int, column: Int, text: [Unicode.Scalar], style: CellStyle) {
    self.row = row
    self.column = column
    self.text = text
    self.style = style
  }
}

extension CellScreen {
  /// The cells that differ from `previous`, as runs of equal style, top to bottom and left to
  /// right. Without a previous frame of the same size every cell is a change (a full repaint).
  public func changedRuns(since previous: CellScreen?) -> [CellRun] {
    let old = previous?.width == width && previous?.height == height ? previous : nil
    func unchanged(_ offset: Int) -> Bool {
      guard let old else { return false }
      return old.styles[offset] == styles[offset] && old.characters[offset] == characters[offset]
    }
    var runs: [CellRun] = []
    for row in 0..<height {
      let base = row * width
      var column = 0
      while column < width {
        if unchanged(base + column) {
          column += 1
          continue
        }
        let style = styles[base + column]
        let start = column
        var text: [Unicode.Scalar] = []
        while column < width, styles[base + column] == style, !unchanged(base + column) {
          text.append(characters[base + column])
          column += 1
        }
        runs.append(CellRun(row: row, column: start, text: text, style: style))
      }
    }
    return runs
  }
}
