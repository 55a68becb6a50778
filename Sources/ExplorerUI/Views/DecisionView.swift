import P2PDMA
import PCITopology

/// The decision panel: per importer, what the kernel decided, and for the selected one the
/// culprit and the fix.
enum DecisionView {
  /// Column widths: importer, allow_peer2peer, map type, distance, peer2peer, placement. An error
  /// gets its own line under the importer's row, so long errno texts are never cut.
  static let columns = [11, 6, 17, 5, 10, 18]
  /// Narrow panes (compact layout): shorter headings and a map type cut to its first word.
  static let narrowColumns = [10, 4, 10, 5, 6, 10]

  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    screen.box(rect, title: "Decision", focused: focused, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    let (table, details) = lines(state, width: inner.width)
    // The importer rows stay put; the text under them scrolls (PgUp/PgDn, wheel).
    let tableLines = table.prefix(inner.height)
    for (offset, line) in tableLines.enumerated() {
      screen.draw(line.line, x: inner.x, y: inner.y + offset, width: inner.width)
      if line.isCursor {
        screen.restyle(Rect(x: inner.x, y: inner.y + offset, width: inner.width, height: 1)) { style in
          style.reverse = true
        }
      }
    }
    let room = inner.height - tableLines.count
    guard room > 0 else { return }
    let first = min(max(0, state.decisionScroll), max(0, details.count - room))
    for (offset, line) in details.dropFirst(first).prefix(room).enumerated() {
      screen.draw(line, x: inner.x, y: inner.y + tableLines.count + offset, width: inner.width)
    }
    if details.count - first > room, rect.width > 24 {
      screen.put(" more ↓ PgDn ", x: rect.maxX - 15, y: rect.maxY - 1, style: .role(.dim))
    } else if first > 0, rect.width > 24 {
      screen.put(" ↑ PgUp ", x: rect.maxX - 10, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  /// The importer table (buffer line, header, one row per importer) and, for the highlighted
  /// importer, the text under it: the deciding reason first, then the details.
  static func lines(_ state: ExplorerState, width: Int) -> (
    table: [(line: StyledLine, isCursor: Bool)], details: [StyledLine]
  ) {
    guard let run = state.run, let now = state.shareNow else {
      return ([(StyledLine("Decisions appear here once a share runs (Enter in the tree).", .role(.dim)), false)], [])
    }
    let ellipsis = state.display.glyphs.ellipsis
    let narrow = width < Self.columns.reduce(0, +) + 4
    let columns = narrow ? Self.narrowColumns : Self.columns
    let titles =
      narrow
      ? ["importer", "alw", "map type", "dist", "p2p", "placement"]
      : ["importer", "allow", "P2P map type", "dist", "peer2peer", "mapping"]
    // Every cell ends in a space, so columns never run together however narrow they get.
    func cell(_ text: String, _ width: Int) -> String { Format.fit(text, max(1, width - 1), ellipsis: ellipsis) + " " }
    var bufferLine = StyledLine("buffer in ", .role(.header))
    bufferLine.append(now.placement, .bold)
    bufferLine.append("  pin_count ", .role(.header))
    bufferLine.append("\(now.pinCount)", .bold)
    if let exporter = run.exporterDriver { bufferLine.append("  exporter \(exporter)", .role(.dim)) }
    var header = StyledLine()
    for (title, width) in zip(titles, columns) {
      header.append(cell(title, width), .role(.header, bold: true))
    }
    var table: [(StyledLine, Bool)] = [(bufferLine, false), (header, false)]
    for (position, summary) in run.attachments.enumerated() {
      var line = StyledLine()
      let bdf =
        (0..<state.topology.count).contains(summary.importer)
        ? state.topology[summary.importer].bdf.shortDescription : "?"
      line.append(cell("\(position + 1) \(bdf)", columns[0]), .role(.importer, bold: true))
      let isCursor = position == state.shownAttachmentIndex
      guard now.attachments.indices.contains(position), now.attachments[position].hasStarted else {
        line.append("(not attached yet)", .role(.dim))
        table.append((line, isCursor))
        continue
      }
      let attachment = now.attachments[position]
      line.append(cell(summary.allowPeer2peer ? "yes" : "no", columns[1]))
      let mapType = attachment.mapType
      let mapName = narrow ? mapType.map(shortMapName) : mapType?.shortName
      line.append(cell(mapName ?? "-", columns[2]), style(for: mapType))
      line.append(cell(attachment.mapType == nil ? "-" : attachment.distance.map(String.init) ?? "-", columns[3]))
      line.append(
        cell(attachment.peer2peer ? "true" : "false", columns[4]),
        CellStyle(bold: true, underline: !attachment.peer2peer, role: attachment.peer2peer ? .good : .warning))
      line.append(mappingText(attachment), mappingStyle(attachment))
      table.append((line, isCursor))
    }
    // The highlighted importer: why, deciding reason first.
    var details: [StyledLine] = []
    let position = min(max(0, state.shownAttachmentIndex), run.attachments.count - 1)
    guard position >= 0, now.attachments.indices.contains(position), now.attachments[position].hasStarted else {
      return (table, details)
    }
    let summary = run.attachments[position]
    let attachment = now.attachments[position]
    let name = "importer \(position + 1)"
    let headline = decidingReason(summary: summary, now: attachment, share: now, run: run, state: state)
    for (index, text) in Format.wrap("\(name): \(headline.text)", width: width).enumerated() {
      details.append(StyledLine(text, index == 0 ? CellStyle(bold: true, role: headline.role) : .role(headline.role)))
    }
    if let error = attachment.error {
      for text in Format.wrap("error: \(error)", width: width) {
        details.append(StyledLine(text, CellStyle(bold: true, role: .error)))
      }
    }
    if attachment.mapType != nil || summary.isStatic {
      if let culprit = summary.culprit {
        for text in Format.wrap("culprit: \(culprit)", width: width) { details.append(StyledLine(text, .role(.error))) }
      }
      if let fix = summary.fix {
        for text in Format.wrap("fix: \(fix)", width: width) { details.append(StyledLine(text, .role(.good))) }
      }
    }
    // What kind of address the importer got, said with the map type (before the long path text).
    if let table = attachment.sgTable, table.count > 0, !attachment.invalidated {
      let note = SGTableView.addressNote(
        kind: table.row(0).kind, mapType: attachment.mapType, placement: attachment.placement,
        exporterDriver: run.exporterDriver)
      for text in Format.wrap("address: \(note)", width: width) { details.append(StyledLine(text)) }
    }
    if attachment.mapType != nil || summary.isStatic, let reason = summary.reason {
      for text in Format.wrap("path: \(reason)", width: width) { details.append(StyledLine(text, .role(.dim))) }
    }
    return (table, details)
  }

  /// `VRAM`, `system RAM`, `invalidated`, `-`: where the importer's mapping points now.
  static func mappingText(_ attachment: AttachmentMoment) -> String {
    if attachment.invalidated { return "invalidated" }
    if attachment.mapped, let placement = attachment.placement { return placement }
    if attachment.error != nil { return "failed" }
    if let placement = attachment.placement { return "\(placement) (unmapped)" }
    return attachment.attached ? "attached" : "detached"
  }

  static func mappingStyle(_ attachment: AttachmentMoment) -> CellStyle {
    if attachment.invalidated { return CellStyle(bold: true, role: .warning) }
    if attachment.error != nil { return CellStyle(bold: true, role: .error) }
    return .plain
  }

  /// The one fact that decided this importer's outcome, as it stands now.
  static func decidingReason(
    summary: AttachmentSummary, now: AttachmentMoment, share: ShareMoment, run: ShareRun, state: ExplorerState
  ) -> (text: String, role: ColorRole) {
    if summary.isStatic || !summary.allowPeer2peer {
      return (
        "static importer (no importer_ops, so no allow_peer2peer): never gets peer2peer; a dynamic exporter "
          + "moves the buffer to system memory for it", .warning
      )
    }
    if now.peer2peer, now.invalidations > 0, !now.invalidated, let placement = now.placement, placement != "VRAM" {
      let mover = run.attachments.enumerated().first { $0.element.importer != summary.importer && $0.element.isStatic }
      let who = mover.map { "importer \($0.offset + 1) (static)" } ?? "another importer"
      return ("buffer moved to system memory by \(who): mapping invalidated, then re-mapped", .warning)
    }
    if now.invalidated {
      return ("mapping invalidated: the exporter is moving the buffer; the importer maps again", .warning)
    }
    if let mapType = now.mapType, !now.peer2peer {
      let why = summary.culprit ?? (mapType == .notSupported ? "the P2P path is NOT_SUPPORTED" : mapType.shortName)
      return ("exporter cleared peer2peer at attach because of the path: \(why)", .error)
    }
    if now.mapType == .notSupported, let culprit = summary.culprit { return ("refused: \(culprit)", .error) }
    if let mapType = now.mapType {
      var text = "P2P allowed: \(mapType.shortName)"
      if let distance = now.distance { text += ", distance \(distance)" }
      if mapType == .thruHostBridge, let culprit = summary.culprit { text += " (\(culprit))" }
      return (text, .good)
    }
    if now.attached { return ("attached; the exporter has not asked PCI P2PDMA yet", .dim) }
    return ("not attached", .dim)
  }

  /// Map type names that fit the compact layout's column.
  static func shortMapName(_ mapType: MapType) -> String {
    switch mapType {
    case .thruHostBridge: return "THRU_HOST"
    case .notSupported: return "NOT_SUPP"
    default: return mapType.shortName
    }
  }

  /// Map types keep their distinction in monochrome: BUS_ADDR bold, host bridge underlined,
  /// refusals reversed.
  static func style(for mapType: MapType?) -> CellStyle {
    switch mapType {
    case .busAddress: return CellStyle(bold: true, role: .good)
    case .thruHostBridge: return CellStyle(underline: true, role: .hostBridge)
    case .notSupported: return CellStyle(bold: true, reverse: true, role: .error)
    default: return .role(.dim)
    }
  }
}

extension CellStyle {
  /// The style a map type is drawn with everywhere (decision rows, matrix cells): a colour role,
  /// plus attributes that keep the three apart without colour.
  public static func forMapType(_ mapType: MapType?) -> CellStyle { DecisionView.style(for: mapType) }
}
