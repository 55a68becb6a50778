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
    for (offset, line) in lines(state, width: inner.width).prefix(inner.height).enumerated() {
      screen.draw(line.line, x: inner.x, y: inner.y + offset, width: inner.width)
      if line.isCursor {
        screen.restyle(Rect(x: inner.x, y: inner.y + offset, width: inner.width, height: 1)) { style in
          style.reverse = true
        }
      }
    }
  }

  static func lines(_ state: ExplorerState, width: Int) -> [(line: StyledLine, isCursor: Bool)] {
    guard let run = state.run else {
      return [(StyledLine("Decisions appear here once a share runs (Enter).", .role(.dim)), false)]
    }
    let ellipsis = state.display.glyphs.ellipsis
    let narrow = width < Self.columns.reduce(0, +) + 4
    let columns = narrow ? Self.narrowColumns : Self.columns
    let titles =
      narrow
      ? ["importer", "alw", "map type", "dist", "p2p", "placement"]
      : ["importer", "allow", "P2P map type", "dist", "peer2peer", "placement"]
    // Every cell ends in a space, so columns never run together however narrow they get.
    func cell(_ text: String, _ width: Int) -> String { Format.fit(text, max(1, width - 1), ellipsis: ellipsis) + " " }
    var header = StyledLine()
    for (title, width) in zip(titles, columns) {
      header.append(cell(title, width), .role(.header, bold: true))
    }
    var result: [(StyledLine, Bool)] = [(header, false)]
    // Attachments are revealed as the playback reaches them, so the verdict is not given away early.
    let revealed = revealedAttachments(state)
    for (position, attachment) in run.attachments.enumerated() {
      var line = StyledLine()
      let bdf =
        (0..<state.topology.count).contains(attachment.importer)
        ? state.topology[attachment.importer].bdf.shortDescription : "?"
      line.append(cell("\(position + 1) \(bdf)", columns[0]), .role(.importer, bold: true))
      guard revealed.contains(attachment.importer) else {
        line.append("(not attached yet)", .role(.dim))
        result.append((line, position == state.decisionCursor))
        continue
      }
      line.append(cell(attachment.allowPeer2peer ? "yes" : "no", columns[1]))
      let mapType = attachment.mapType
      let mapName = narrow ? mapType.map(shortMapName) : mapType?.shortName
      line.append(cell(mapName ?? "-", columns[2]), style(for: mapType))
      line.append(cell(attachment.distance.map(String.init) ?? "-", columns[3]))
      line.append(
        cell(attachment.peer2peer ? "true" : "false", columns[4]),
        CellStyle(bold: true, underline: !attachment.peer2peer, role: attachment.peer2peer ? .good : .warning))
      line.append(narrow ? attachment.placement : cell(attachment.placement, columns[5]))
      result.append((line, position == state.decisionCursor))
      if let error = attachment.error {
        for text in Format.wrap("  error: \(error)", width: width) {
          result.append((StyledLine(text, CellStyle(bold: true, role: .error)), false))
        }
      }
    }
    // Culprit and fix for the selected importer.
    if let selected = state.shownAttachment, revealed.contains(selected.importer) {
      if let culprit = selected.culprit {
        for (index, text) in Format.wrap("culprit: \(culprit)", width: width).enumerated() {
          result.append((StyledLine(text, index == 0 ? CellStyle(bold: true, role: .error) : .role(.error)), false))
        }
      }
      if let fix = selected.fix {
        for text in Format.wrap("fix: \(fix)", width: width) { result.append((StyledLine(text, .role(.good)), false)) }
      }
      // The kernel's reasoning fills whatever room is left (the pane clips the rest).
      if let reason = selected.reason {
        for text in Format.wrap("why (\(position(of: selected, in: run))): \(reason)", width: width) {
          result.append((StyledLine(text, .role(.dim)), false))
        }
      }
    }
    return result
  }

  /// Map type names that fit the compact layout's column.
  static func shortMapName(_ mapType: MapType) -> String {
    switch mapType {
    case .thruHostBridge: return "THRU_HOST"
    case .notSupported: return "NOT_SUPP"
    default: return mapType.shortName
    }
  }

  /// `importer 1` for the first attachment.
  static func position(of attachment: AttachmentSummary, in run: ShareRun) -> String {
    let number = (run.attachments.firstIndex { $0.importer == attachment.importer } ?? 0) + 1
    return "importer \(number)"
  }

  /// Importers whose decision has been reached by the playback (all of them at the end).
  static func revealedAttachments(_ state: ExplorerState) -> Set<Int> {
    guard let run = state.run else { return [] }
    if state.isAtEnd { return Set(run.attachments.map(\.importer)) }
    var seen = Set<Int>()
    let last = min(state.playback.step, run.steps.count - 1)
    guard last >= 0 else { return seen }
    // A decision shows once the exporter, PCI P2PDMA or the DMA API has acted for that importer,
    // and for the distance walk only once the walk is fully lit, so the verdict is not given away.
    for (index, step) in run.steps[0...last].enumerated() {
      guard let importer = step.importer, step.lane == .exporterDriver || step.lane == .p2pdma || step.lane == .dmaAPI
      else { continue }
      if index == last, let walk = step.walk, state.playback.walkProgress < walk.nodes.count { continue }
      seen.insert(importer)
    }
    return seen
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
