import P2PDMA
import PCITopology

/// The bottom line: topology source, CPU rule, IOMMU mode, kernel model and key hints; the last
/// message takes the place of the source while it is fresh (it clears on the next key).
enum StatusLineView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect) {
    guard !rect.isEmpty else { return }
    let bar = CellStyle(reverse: true)
    let strong = CellStyle(bold: true, reverse: true)
    screen.fill(rect, style: bar)
    let configuration = state.configuration
    let cpu = configuration.cpu.rawValue + (configuration.cpuWasInferred ? " (inferred)" : "")
    var knobs = "CPU \(cpu) │ IOMMU \(configuration.iommu.rawValue) │ kernel \(state.kernelModel)"
    if !configuration.acsControlOverrides.isEmpty {
      knobs += " │ \(configuration.acsControlOverrides.count) ACS what-if"
    }
    if let message = state.message {
      // The message first, so it is never cut; the knobs follow when there is room.
      let end = screen.put(
        " \(message) ", x: rect.x, y: rect.y, style: CellStyle(bold: true, reverse: true, role: .accent),
        maxWidth: rect.width)
      if rect.maxX - end >= knobs.unicodeScalars.count + 3 {
        screen.put("│ " + knobs, x: rect.maxX - knobs.unicodeScalars.count - 3, y: rect.y, style: bar)
      }
      return
    }
    let source = state.topology.source
    // The title is cut so the knobs stay visible on an 80-column terminal.
    let titleWidth = min(source.title.unicodeScalars.count, max(10, rect.width / 4))
    let title = Format.fit(source.title, titleWidth, ellipsis: state.display.glyphs.ellipsis)
    var line = StyledLine(" \(source.kind.rawValue): \(title) ", strong)
    line.append("│ \(knobs) ", bar)
    let end = screen.draw(line, x: rect.x, y: rect.y, width: rect.width)
    // Key hints: the long form when it fits, else the two keys that lead to everything else.
    let longHints = " ?:help e:exporter i:importer Enter:share Space:play m:matrix L:lessons q:quit "
    let shortHints = " ?:help L:lessons q:quit "
    if rect.maxX - end >= longHints.count {
      screen.put(longHints, x: rect.maxX - longHints.count, y: rect.y, style: bar)
    } else if rect.maxX - end >= shortHints.count {
      screen.put(shortHints, x: rect.maxX - shortHints.count, y: rect.y, style: bar)
    }
  }
}
