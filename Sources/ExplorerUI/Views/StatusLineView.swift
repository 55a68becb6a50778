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
    line.append(" \(source.kind.rawValue): \(source.title) ", CellStyle(bold: true, reverse: true))
    line.append("│ CPU \(cpu) │ IOMMU \(configuration.iommu.rawValue) │ kernel \(state.kernelModel) ", bar)
    if !configuration.acsControlOverrides.isEmpty {
      line.append("│ \(configuration.acsControlOverrides.count) ACS what-if ", CellStyle(bold: true, reverse: true, role: .accent))
    }
    var text = line
    if state.display.glyphs == .ascii {
      text = StyledLine(line.runs.map { (String($0.text.map { $0 == "│" ? "|" : $0 }), $0.style) })
    }
    let end = screen.draw(text, x: rect.x, y: rect.y, width: rect.width)
    let hints = " ?:help e:exporter i:importer Enter:share Space:play m:matrix q:quit "
    if let message = state.message {
      screen.put("│ " + message, x: end, y: rect.y, style: CellStyle(bold: true, reverse: true, role: .accent), maxWidth: rect.maxX - end)
    } else if rect.maxX - end >= hints.count {
      screen.put(hints, x: rect.maxX - hints.count, y: rect.y, style: bar)
    }
  }
}
