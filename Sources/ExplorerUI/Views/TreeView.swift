import PCITopology

/// The PCI tree pane: rails, BDF, short name, role badges, ACS warnings, and the lit walk.
enum TreeView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    let glyphs = state.display.glyphs
    let tree = state.tree
    let title = "PCI tree (\(state.topology.count) functions)"
    screen.box(rect, title: title, focused: focused, glyphs: glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    var lit: [Int: Int] = [:]  // function → position on the walk
    var culprits = Set<Int>()
    if let (walk, count) = state.litWalk {
      for (position, node) in walk.nodes.prefix(count).enumerated() where lit[node] == nil { lit[node] = position }
      culprits = walk.culprits.filter { lit[$0] != nil }
    }
    let importerSet = Set(state.importers)
    let first = min(max(0, tree.scroll), max(0, tree.rows.count - 1))
    for line in 0..<inner.height {
      let rowIndex = first + line
      guard rowIndex < tree.rows.count else { break }
      let row = tree.rows[rowIndex]
      let y = inner.y + line
      var text = StyledLine()
      // Rails: one two-column segment per ancestor level.
      for continues in row.rails { text.append(continues ? glyphs.continuation : "  ", .role(.dim)) }
      if row.depth > 0 { text.append(row.isLast ? glyphs.lastBranch : glyphs.branch, .role(.dim)) }
      if row.hasChildren {
        text.append(row.isCollapsed ? glyphs.collapsed : glyphs.expanded, .role(.dim))
      } else if row.depth > 0 {
        text.append(glyphs.horizontal.description, .role(.dim))
      }
      switch row.kind {
      case .rootBus(let bus):
        text.append("[\(bus)] host bridge", .role(.header, bold: true))
        if state.topology.hostBridgeDevice(forRootBus: bus) == nil {
          text.append(" (no 00.0/root port: not allowlisted)", .role(.warning))
        }
      case .function(let index):
        appendFunction(
          index, state: state, to: &text, litPosition: lit[index], isCulprit: culprits.contains(index),
          isImporter: importerSet.contains(index))
      }
      screen.draw(text, x: inner.x, y: y, width: inner.width)
      if rowIndex == tree.cursor {
        // The cursor bar: reverse video across the whole width so it reads in monochrome too.
        screen.restyle(Rect(x: inner.x, y: y, width: inner.width, height: 1)) { style in
          style.reverse = true
          if focused { style.bold = true }
        }
      }
    }
    // A scroll hint when not everything fits.
    if tree.rows.count > inner.height, rect.width > 16 {
      let hint = " \(min(tree.cursor + 1, tree.rows.count))/\(tree.rows.count) "
      screen.put(hint, x: rect.maxX - 2 - hint.count, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  private static func appendFunction(
    _ index: Int, state: ExplorerState, to text: inout StyledLine, litPosition: Int?, isCulprit: Bool,
    isImporter: Bool
  ) {
    let function = state.topology[index]
    let onPath = litPosition != nil
    let bdfStyle = onPath ? CellStyle(bold: true, underline: true, role: .path) : CellStyle(role: .normal)
    text.append(function.bdf.shortDescription, bdfStyle)
    // Badges and warnings come before the name so a narrow pane never cuts them off.
    if index == state.exporter { text.append(" [EXP]", CellStyle(bold: true, role: .exporter)) }
    if isImporter {
      let number = (state.importers.firstIndex(of: index) ?? 0) + 1
      text.append(" [IMP\(number)]", CellStyle(bold: true, underline: true, role: .importer))
    }
    if let control = state.acsControlInForce(of: index) {
      let redirect = control.intersection(.p2pRedirect)
      let overridden = state.configuration.acsControlOverrides[function.bdf] != nil
      if !redirect.isEmpty {
        text.append(" ACS:\(redirect.shortNames)", CellStyle(bold: true, role: isCulprit ? .error : .warning))
      }
      if overridden { text.append(" (what-if)", .role(.accent)) }
    } else if function.isBridge, function.acs.isUnknown {
      text.append(" ACS:?", .role(.dim))
    }
    if isCulprit { text.append(" \(state.display.glyphs.cross) redirect", CellStyle(bold: true, role: .error)) }
    if function.isPoweredOff { text.append(" (off)", .role(.dim)) }
    text.append(" ")
    if onPath { text.append("\(state.display.glyphs.pointer)", .role(.path, bold: true)) }
    text.append(shortName(of: function), onPath ? .role(.path) : .plain)
  }

  /// A short name: the device name without vendor boilerplate, or the port type for bridges.
  static func shortName(of function: PCIFunction) -> String {
    if var name = function.name, !name.isEmpty {
      // pci.ids names often repeat the vendor ("Intel Corporation Ice Lake ..."): the tree shows
      // the device part, the details pane the full names.
      if let vendor = function.vendorName, name.count > vendor.count + 1, name.hasPrefix(vendor + " ") {
        name = String(name.dropFirst(vendor.count + 1))
      }
      return name
    }
    if let port = function.portType, function.isBridge { return "\(port.shortName) \(function.idPair)" }
    return function.displayName
  }
}
