import PCITopology

/// Renders the whole app state into a fresh in-memory screen. Pure: the same state gives the
/// same screen, which is what the unit tests and the terminal backend rely on.
public enum ExplorerRenderer {
  public static func render(_ state: ExplorerState) -> CellScreen {
    let layout = state.layout
    var screen = CellScreen(width: layout.width, height: layout.height)
    guard screen.width > 0, screen.height > 0 else { return screen }
    if layout.mode == .tooSmall {
      renderTooSmall(layout, into: &screen)
    } else {
      let panes: [(Pane, (ExplorerState, inout CellScreen, Rect, Bool) -> Void)] = [
        (.tree, TreeView.render),
        (.details, LessonView.renderPane), (.sequence, SequenceView.render),
        (.decision, DecisionView.render), (.sgTable, SGTableView.render),
      ]
      for (pane, view) in panes {
        view(state, &screen, layout.rect(of: pane), state.focus == pane)
      }
      StatusLineView.render(state, into: &screen, rect: layout.status)
    }
    switch state.overlay {
    case .help?: OverlayViews.renderHelp(state, into: &screen)
    case .search?: OverlayViews.renderSearch(state, into: &screen, layout: layout)
    case .bufferList?: OverlayViews.renderBufferList(state, into: &screen)
    case .error(let message)?: OverlayViews.renderError(message, state: state, into: &screen)
    case .matrix?: OverlayViews.renderMatrix(state, into: &screen)
    case .lessonList?: LessonView.renderList(state, into: &screen)
    case .liveBuffers?: LiveBuffersView.render(state, into: &screen)
    case nil: break
    }
    if state.display.glyphs == .ascii { screen.convertToASCII() }
    return screen
  }

  static func renderTooSmall(_ layout: Layout, into screen: inout CellScreen) {
    let lines = [
      "Terminal too small",
      "\(layout.width)x\(layout.height), need \(Layout.minimumWidth)x\(Layout.minimumHeight)",
      "enlarge it, or q to quit",
    ]
    let top = max(0, (layout.height - lines.count) / 2)
    for (offset, text) in lines.enumerated() {
      let clipped = Format.fit(text, min(text.count, layout.width), ellipsis: "")
      let x = max(0, (layout.width - clipped.count) / 2)
      screen.put(clipped, x: x, y: top + offset, style: offset == 0 ? CellStyle(bold: true, role: .warning) : .plain)
    }
  }
}

extension CellScreen {
  /// Replaces every non-ASCII glyph with its ASCII stand-in (for `--ascii` and non-UTF-8 locales),
  /// so nothing a view writes can garble such a terminal.
  public mutating func convertToASCII() {
    for row in 0..<height {
      for column in 0..<width {
        guard let scalar = character(x: column, y: row), scalar.value > 0x7e, let style = style(x: column, y: row)
        else { continue }
        set(x: column, y: row, CellScreen.asciiStandIn(for: scalar), style: style)
      }
    }
  }

  static func asciiStandIn(for scalar: Unicode.Scalar) -> Unicode.Scalar {
    switch scalar {
    case "│", "┃": return "|"
    case "─", "━": return "-"
    case "┌", "┐", "└", "┘", "├", "┤", "┬", "┴", "┼": return "+"
    case "▶", "→", "▸": return ">"
    case "◀", "←": return "<"
    case "↓", "▾": return "v"
    case "↑": return "^"
    case "●", "•": return "o"
    case "·": return "."
    case "…": return "~"
    case "‐", "‑", "‒", "–", "—", "―": return "-"
    case "‘", "’": return "'"
    case "“", "”": return "\""
    case "✓": return "v"
    case "✗": return "x"
    default: return "?"
    }
  }
}
