import PCITopology

/// The details pane: everything known about the highlighted function.
enum DetailsView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    screen.box(rect, title: "Details", focused: focused, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    let lines = self.lines(state, width: inner.width)
    let first = min(max(0, state.detailsScroll), max(0, lines.count - inner.height))
    for (offset, line) in lines.dropFirst(first).prefix(inner.height).enumerated() {
      screen.draw(line, x: inner.x, y: inner.y + offset, width: inner.width)
    }
    if lines.count > inner.height + first, rect.width > 12 {
      // ExplorerRenderer turns the arrow into `v` for ASCII terminals.
      screen.put(" more ↓ ", x: rect.maxX - 10, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  /// The lines of the pane for the highlighted row.
  static func lines(_ state: ExplorerState, width: Int = 1000) -> [StyledLine] {
    let topology = state.topology
    guard let index = state.selectedFunction, index < topology.count else {
      if let row = state.tree.rows.indices.contains(state.tree.cursor) ? state.tree.rows[state.tree.cursor] : nil,
        case .rootBus(let bus) = row.kind
      {
        return rootBusLines(bus, topology: topology)
      }
      return [StyledLine("Nothing highlighted.", .role(.dim))]
    }
    let function = topology[index]
    var lines: [StyledLine] = []
    var heading = StyledLine(function.bdf.description, .bold)
    heading.append("  \(function.displayName)")
    lines.append(heading)
    // Label in a fixed column; long values wrap under the value column rather than being cut.
    func field(_ label: String, _ value: String, _ style: CellStyle = .plain) {
      let wrapped = Format.wrap(value, width: max(8, width - 8))
      for (number, text) in wrapped.enumerated() {
        var line = StyledLine(Format.fit(number == 0 ? label : "", 8), .role(.header))
        line.append(text, style)
        lines.append(line)
      }
    }
    let vendor = function.vendorName.map { " \($0)" } ?? ""
    field("IDs", "\(function.idPair)\(vendor)  rev \(hex(function.revision, width: 2))")
    if let subVendor = function.subsystemVendorID, let subDevice = function.subsystemDeviceID {
      field("Subsys", "\(hex(subVendor, width: 4)):\(hex(subDevice, width: 4))")
    }
    field("Class", "\(hex(function.classCode, width: 6)) \(className(function))")
    let port =
      function.portType.map { $0.lspciName }
      ?? (function.isBridge ? "PCI bridge (no PCIe cap)" : "conventional PCI / unknown")
    field("Port", port)
    if function.isBridge {
      let secondary = function.secondaryBus.map { hex($0, width: 2) } ?? "?"
      let subordinate = function.subordinateBus.map { hex($0, width: 2) } ?? "?"
      field("Buses", "secondary \(secondary), subordinate \(subordinate)")
    }
    if let upstream = topology.upstreamBridge(of: index) {
      field("Up", "\(topology[upstream].bdf) (pci_upstream_bridge)")
    } else {
      field("Up", "root bus \(topology.rootBus(of: index)) (host bridge)")
    }
    for bar in function.bars {
      let size = bar.size.map(formatBytes) ?? "size unknown"
      var kind = bar.isIO ? "I/O" : (bar.is64Bit ? "64-bit" : "32-bit")
      if !bar.isIO { kind += bar.isPrefetchable ? " pref" : " non-pref" }
      var text = "\(Format.shortAddress(bar.address))  \(size)  \(kind)"
      if bar.busOffset != 0 { text += "  bus \(Format.shortAddress(bar.busAddress))" }
      field("BAR\(bar.index)", text)
    }
    lines.append(contentsOf: acsLines(index, state: state))
    field("IOMMU", function.iommuGroup.map { "group \($0)" } ?? "no group known")
    let extras = function.extras
    var driver = function.driver ?? "none bound"
    if let profile = extras.driverProfile {
      driver += "  (profile \(profile))"
    } else if let profile = state.deviceFacts[index].simulatorProfile {
      // The input named no profile: say which one the simulator picked, and that it picked it.
      driver += "  (profile \(profile), chosen by the simulator)"
    }
    field("Driver", driver)
    if let vram = extras.vramSize {
      let visible = extras.visibleVRAMSize.map { ", CPU-visible \(formatBytes($0))" } ?? ""
      field("VRAM", "\(formatBytes(vram))\(visible)")
    }
    if let mask = extras.dmaMaskBits { field("DMA", "\(mask)-bit mask") }
    if function.isPoweredOff { field("Power", "config space reads all ones (D3cold / gone)", .role(.warning)) }
    if let note = extras.note { field("Note", note, .role(.dim)) }
    let buffers = function.isBridge || function.isHostBridgeClass ? [] : state.buffers(of: index)
    if !buffers.isEmpty {
      let origin = extras.buffers.isEmpty ? " (driver default)" : ""
      lines.append(StyledLine("Buffers\(origin), e exports:", .role(.header, bold: true)))
      for (number, buffer) in buffers.enumerated() {
        lines.append(
          bufferLine(
            number: number, buffer: buffer, extras: extras,
            chosen: state.exporter == index && state.bufferIndex == number))
      }
    }
    var roles: [String] = []
    if state.exporter == index { roles.append("exporter") }
    if let position = state.importers.firstIndex(of: index) { roles.append("importer #\(position + 1)") }
    if !roles.isEmpty { field("Role", roles.joined(separator: ", "), CellStyle(bold: true, role: .accent)) }
    return lines
  }

  /// `0  frame  256 MiB  VRAM  inside BAR`.
  static func bufferLine(number: Int, buffer: BufferSpec, extras: DeviceExtras, chosen: Bool) -> StyledLine {
    var line = StyledLine(chosen ? " * " : "   ", CellStyle(bold: true, role: .exporter))
    line.append("\(number) \(buffer.name)  \(formatBytes(buffer.size))  \(buffer.preferredPlacement.rawValue)")
    if buffer.preferredPlacement == .vram {
      if let visible = extras.visibleVRAMSize {
        let end = (buffer.vramOffset ?? 0).addingReportingOverflow(buffer.size)
        if !end.overflow, end.partialValue <= visible {
          line.append("  inside BAR", .role(.good))
        } else {
          line.append("  beyond CPU-visible BAR", CellStyle(bold: true, role: .warning))
        }
      } else {
        line.append("  BAR fit unknown", .role(.dim))
      }
    }
    if buffer.dccCompressed { line.append("  DCC", .role(.warning)) }
    if !buffer.migratable { line.append("  pinned", .role(.dim)) }
    return line
  }

  private static func acsLines(_ index: Int, state: ExplorerState) -> [StyledLine] {
    let function = state.topology[index]
    var label = StyledLine(Format.fit("ACS", 8), .role(.header))
    switch function.acs {
    case .absent:
      label.append("no ACS capability (nothing to redirect)", .role(.dim))
      return [label]
    case .unknown(let reason):
      label.append("unknown: \(reason)", .role(.warning))
      return [label]
    case .present(let capability, let control):
      label.append("cap \(capability.shortNames)")
      var controlLine = StyledLine(Format.fit("", 8))
      let effective = state.acsControlInForce(of: index) ?? control
      controlLine.append("ctl \(effective.shortNames)")
      if effective != control { controlLine.append(" (what-if; real ctl \(control.shortNames))", .role(.accent)) }
      let redirect = effective.intersection(.p2pRedirect)
      var verdict = StyledLine(Format.fit("", 8))
      if redirect.isEmpty {
        verdict.append("no RR/CR/EC: direct P2P allowed", .role(.good))
      } else {
        verdict.append(
          "\(redirect.shortNames) set: P2P via host bridge", CellStyle(bold: true, role: .warning))
      }
      return [label, controlLine, verdict]
    }
  }

  private static func rootBusLines(_ bus: BusID, topology: Topology) -> [StyledLine] {
    var lines = [StyledLine("Root bus \(bus)", .bold)]
    if let device = topology.hostBridgeDevice(forRootBus: bus) {
      lines.append(
        StyledLine("host bridge device for the allowlist: \(topology[device].bdf) \(topology[device].idPair)"))
    } else if let first = topology.firstDevice(onRootBus: bus) {
      lines.append(
        StyledLine(
          "first device \(topology[first].bdf) is neither 00.0 nor a root port: pci_host_bridge_dev() gives NULL, "
            + "so host-bridge P2P is not allowlisted here", .role(.warning)))
    }
    lines.append(StyledLine("\(topology.functions(onBus: bus).count) functions directly on this bus", .role(.dim)))
    return lines
  }

  /// Words for the base class (the ones this tool cares about).
  static func className(_ function: PCIFunction) -> String {
    switch (function.baseClass, function.subClass) {
    case (0x01, 0x08): return "NVMe controller"
    case (0x01, _): return "storage controller"
    case (0x02, _): return "network controller"
    case (0x03, _): return "display controller"
    case (0x04, _): return "multimedia controller"
    case (0x06, 0x00): return "host bridge"
    case (0x06, 0x04): return "PCI bridge"
    case (0x06, _): return "bridge"
    case (0x08, _): return "system peripheral"
    case (0x0b, _): return "processor / accelerator"
    case (0x0c, _): return "serial bus controller"
    case (0x12, _): return "processing accelerator"
    default: return "class \(hex(function.baseClass, width: 2))"
    }
  }
}
