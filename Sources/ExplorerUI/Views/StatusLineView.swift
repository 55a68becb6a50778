import P2PDMA
import PCITopology

/// The bottom line: topology source, CPU rule, IOMMU mode, kernel model, key hints, and the last
/// message.
enum StatusLineView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect) {
    guard !rect.isEmpty else { return }
    let bar = CellStyle(reverse: true)
    screen.fill(rect, style: bar)
    let configuration = state.configuration
    let source = state.topology.source
    let cpu = configuration.cpu.rawValue + (configuration.cpuWasInferred ? " (inferred)" : "")
    var line = StyledLine()
    // The title is cut so the knobs stay visible on an 80-column terminal.
    let title = Format.fit(source.title, min(source.title.unicodeScalars.count, max(10, rect.width / 4)), ellipsis: state.display.glyphs.ellipsis)
    line.append(" \(source.kind.rawValue): \(title) ", CellStyle(bold: true, reverse: true))
    line.append("│ CPU \(cpu) │ IOMMU \(configuration.iommu.rawValue) │ kernel \(state.kernelModel) ", bar)
    if !configuration.acsControlOverrides.isEmpty {
      line.append("│ \(configuration.acsControlOverrides.count) ACS what-if ", CellStyle(bold: true, reverse: true, role: .accent))
    }
    var text = line
    if state.display.glyphs == .ascii {
      text = StyledLine(line.runs.map { (String($0.text.map { $0 == "│" ? "|" : $0 }), $0.style) })
    }
    let end = screen.draw(text, x: rect.x, y: rect.y, width: rect.width)
    // Key hints: the long form when it fits, else the two keys that lead to everything else.
    let longHints = " ?:help e:exporter i:importer Enter:share Space:play m:matrix q:quit "
    let shortHints = " ?:help q:quit "
    if let message = state.message {
      screen.put("│ " + message, x: end, y: rect.y, style: CellStyle(bold: true, reverse: true, role: .accent), maxWidth: rect.maxX - end)
    } else if rect.maxX - end >= longHints.count {
      screen.put(longHints, x: rect.maxX - longHints.count, y: rect.y, style: bar)
    } else if rect.maxX - end >= shortHints.count {
      screen.put(shortHints, x: rect.maxX - shortHints.count, y: rect.y, style: bar)
    }
  }
}
