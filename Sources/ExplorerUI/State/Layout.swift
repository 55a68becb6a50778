/// The panes the user can focus with Tab.
public enum Pane: Int, CaseIterable, Sendable {
  case tree, details, sequence, decision, sgTable

  public var title: String {
    switch self {
    case .tree: return "PCI tree"
    case .details: return "Details"
    case .sequence: return "Sequence"
    case .decision: return "Decision"
    case .sgTable: return "sg table"
    }
  }
}

/// Where every pane goes for a terminal size: a pure function of the size, recomputed on resize.
public struct Layout: Equatable, Sendable {
  public enum Mode: Equatable, Sendable {
    /// ≥ 120×40.
    case full
    /// 80×24 up to the full size.
    case compact
    /// Smaller than 80×24: only a note.
    case tooSmall
  }

  /// Smallest size that gets panes.
  public static let minimumWidth = 80
  public static let minimumHeight = 24
  /// Size from which the roomy layout is used.
  public static let fullWidth = 120
  public static let fullHeight = 40

  public var mode: Mode
  public var width: Int
  public var height: Int
  public var tree: Rect = .zero
  public var details: Rect = .zero
  public var sequence: Rect = .zero
  public var decision: Rect = .zero
  public var sgTable: Rect = .zero
  public var status: Rect = .zero

  public init(width: Int, height: Int) {
    self.width = max(0, width)
    self.height = max(0, height)
    guard width >= Self.minimumWidth, height >= Self.minimumHeight else {
      mode = .tooSmall
      return
    }
    mode = width >= Self.fullWidth && height >= Self.fullHeight ? .full : .compact
    status = Rect(x: 0, y: height - 1, width: width, height: 1)
    let body = height - 1
    // Left column: tree over details. The tree gets the larger part: it is where users navigate.
    let leftWidth = mode == .full ? max(44, width * 3 / 8) : max(34, width * 2 / 5)
    let treeHeight = body * 3 / 5
    tree = Rect(x: 0, y: 0, width: leftWidth, height: treeHeight)
    details = Rect(x: 0, y: treeHeight, width: leftWidth, height: body - treeHeight)
    // Right column: sequence, decision, sg table.
    let rightX = leftWidth
    let rightWidth = width - leftWidth
    let sequenceHeight = mode == .full ? body * 2 / 5 : body / 3
    let decisionHeight = mode == .full ? max(8, body * 2 / 7) : max(6, body / 4)
    sequence = Rect(x: rightX, y: 0, width: rightWidth, height: sequenceHeight)
    decision = Rect(x: rightX, y: sequenceHeight, width: rightWidth, height: decisionHeight)
    sgTable = Rect(
      x: rightX, y: sequenceHeight + decisionHeight, width: rightWidth,
      height: body - sequenceHeight - decisionHeight)
  }

  public func rect(of pane: Pane) -> Rect {
    switch pane {
    case .tree: return tree
    case .details: return details
    case .sequence: return sequence
    case .decision: return decision
    case .sgTable: return sgTable
    }
  }

  /// The pane under a screen position, if any.
  public func pane(atX x: Int, y: Int) -> Pane? {
    guard mode != .tooSmall else { return nil }
    return Pane.allCases.first { rect(of: $0).contains(x: x, y: y) }
  }
}

/// Where things sit inside the panes: used by the views to draw and by update to hit-test
/// mouse clicks and size pages, so the two always agree.
public enum ViewGeometry {
  /// Lines at the top of the Decision pane before the first importer row: the buffer line and
  /// the column header.
  public static let decisionHeaderLines = 2
  /// Lines of the sg pane spent on the summary, the address note and the column header.
  public static let sgHeaderLines = 3

  /// The attachment position a click on screen row `y` of the Decision pane selects.
  public static func decisionAttachment(atY y: Int, in rect: Rect, count: Int) -> Int? {
    let position = y - rect.y - 1 - decisionHeaderLines
    return position >= 0 && position < count ? position : nil
  }

  /// Screen column of a tree row's ▸/▾ expander (after the rails and the branch).
  public static func treeExpanderColumn(of row: TreeRow, in rect: Rect) -> Int {
    rect.x + 1 + row.rails.count * 2 + (row.depth > 0 ? 2 : 0)
  }

  /// Rows a pane shows inside its border (PgUp/PgDn move by one less).
  public static func pageHeight(of pane: Pane, in layout: Layout) -> Int {
    max(1, layout.rect(of: pane).height - 2)
  }

  /// sg rows on screen below the summary lines.
  public static func sgRowsOnScreen(in layout: Layout) -> Int {
    max(1, layout.sgTable.height - 2 - sgHeaderLines)
  }
}
