/// Loads `lspci -t` / `-tv` / `-tvnn` / `-t -vvv` tree listings. The tree is read by column:
/// every list of siblings (`+-` ... `\-`) starts at a fixed column, so a continuation line is
/// attached to the list whose connector sits at the column where its own `+-`/`\-` starts. The
/// grammar is the one pciutils' `show_tree_bridge`/`show_tree_bus`/`show_tree_dev` print:
///
/// * host: `-[DDDD:BB]-` + bus, or one `+-[DDDD:BB]-`/`\-[DDDD:BB]-` line per root bus;
/// * bus: nothing (empty), `--` + one device, or `+-`/`\-` + one device per line;
/// * device: `DD.F`, then `-[SS]-` or `-[SS-UU]-` + `-` + its buses for a bridge, else `  Name`.
///
/// Trees carry no config space: ACS is unknown, classes are guessed from names (bridges are PCI
/// bridges), and IDs come from `[vvvv:dddd]` (`-nn`) or from pci.ids when the name is unambiguous.
enum LspciTreeLoader {
  struct Result {
    var functions: [PCIFunction]
    var warnings: [LoadWarning]
  }

  private enum ListContext {
    /// A list of buses (`+-[DDDD:BB]-`) under the host or a bridge.
    case buses
    /// A list of devices on one bus.
    case devices(BusID)
  }

  private struct Node {
    var bdf: BDF
    var name: String?
    var ids: (vendor: UInt16, device: UInt16)?
    var bridgeRange: (secondary: UInt8, subordinate: UInt8)?
  }

  /// True when a line looks like the first or a later line of a tree listing.
  static func looksLikeTreeLine(_ bytes: [UInt8], _ line: TextLine) -> Bool {
    var index = line.start
    while index < line.end, bytes[index] == ASCII.space || bytes[index] == ASCII.pipe { index += 1 }
    guard index + 1 < line.end else { return false }
    // `-[0000:00]-`, `-+-[0000:00]-`, `+-[0000:44]-`, `\-[0001:00]-`.
    var labelAt = index
    if bytes[index] == ASCII.dash, bytes[index + 1] == ASCII.openBracket {
      labelAt = index + 1
    } else if bytes.matches("-+-[", at: index, end: line.end) {
      labelAt = index + 3
    } else if bytes[index] == ASCII.plus || bytes[index] == ASCII.backslash,
      bytes.matches("-[", at: index + 1, end: line.end)
    {
      labelAt = index + 2
    } else {
      return false
    }
    return parseBusLabel(bytes, at: labelAt, end: line.end) != nil
  }

  static func load(bytes: [UInt8], path: String, database: PCIIDDatabase?) -> Result {
    var nodes: [Node] = []
    var warnings: [LoadWarning] = []
    var contextByColumn: [Int: ListContext] = [:]
    // True while consecutive lines belong to one tree; any other line (a blank line, a shell
    // prompt, a table in a pasted report) ends it, and only a new first line starts another.
    var inTree = false

    for line in LineSequence(bytes) {
      var index = line.start
      while index < line.end, bytes[index] == ASCII.space || bytes[index] == ASCII.pipe { index += 1 }
      guard index + 1 < line.end else {
        inTree = false
        continue
      }
      let column = index - line.start
      var parser = LineParser(bytes: bytes, line: line, nodes: [], contexts: [:])
      let ok: Bool
      if !inTree || bytes[index] == ASCII.dash {
        // A first line: `-` then the host's buses. (An excerpt may start directly with `+-[`.)
        if bytes[index] == ASCII.dash {
          ok = parser.parseBuses(at: index + 1, bridgeBus: nil)
        } else if bytes[index] == ASCII.plus || bytes[index] == ASCII.backslash,
          bytes.matches("-[", at: index + 1, end: line.end)
        {
          parser.contexts[column] = .buses
          ok = parser.parseBusLabel(at: index + 2)
        } else {
          inTree = false
          continue
        }
        guard ok || !parser.nodes.isEmpty else {
          inTree = false
          continue
        }
        contextByColumn = [:]
        inTree = true
      } else if bytes[index] == ASCII.plus || bytes[index] == ASCII.backslash, bytes[index + 1] == ASCII.dash {
        if index + 2 < line.end, bytes[index + 2] == ASCII.openBracket {
          ok = parser.parseBusLabel(at: index + 2)
        } else if case .devices(let bus)? = contextByColumn[column] {
          ok = parser.parseDevice(at: index + 2, bus: bus)
        } else {
          if Self.hasSlotToken(bytes, line) {
            warnings.append(
              LoadWarning(
                "tree line does not continue any list at column \(column + 1); ignored", file: path, line: line.number))
          }
          inTree = false
          continue
        }
      } else {
        inTree = false
        continue
      }
      if !ok {
        if parser.nodes.isEmpty && !Self.hasSlotToken(bytes, line) {
          inTree = false
          continue
        }
        warnings.append(
          LoadWarning("unreadable tree line; kept what was parsed before the problem", file: path, line: line.number))
      }
      nodes.append(contentsOf: parser.nodes)
      for (column, context) in parser.contexts { contextByColumn[column] = context }
    }

    var functions: [PCIFunction] = []
    functions.reserveCapacity(nodes.count)
    var guessedClasses = false
    for node in nodes {
      var function = PCIFunction(bdf: node.bdf, vendorID: 0, deviceID: 0, classCode: 0)
      function.name = node.name
      if let ids = node.ids {
        function.vendorID = ids.vendor
        function.deviceID = ids.device
      } else if let name = node.name, let resolved = database?.resolveIDs(fromName: name) {
        function.vendorID = resolved.vendor
        function.deviceID = resolved.device ?? 0
      }
      if let range = node.bridgeRange {
        function.headerType = 1
        function.classCode = 0x06_0400
        function.primaryBus = node.bdf.bus
        function.secondaryBus = range.secondary
        function.subordinateBus = range.subordinate
      } else if let name = node.name, let guessed = guessClass(fromName: name) {
        function.classCode = UInt32(guessed) << 8
        guessedClasses = true
      }
      function.acs = .unknown(reason: "tree listings carry no config space")
      functions.append(LspciOutputLoader.finishNames(function, database: database))
    }
    LspciOutputLoader.inferMultiFunction(&functions)
    if !functions.isEmpty {
      warnings.append(
        LoadWarning(
          guessedClasses
            ? "lspci -t listings carry no class codes or config space: device classes were guessed from names, ACS is unknown"
            : "lspci -t listings carry no class codes or config space: device classes and ACS are unknown",
          file: path))
    }
    return Result(functions: functions, warnings: warnings)
  }

  /// True when the line has a `-DD.F` slot after a connector (so it was meant as a tree line).
  static func hasSlotToken(_ bytes: [UInt8], _ line: TextLine) -> Bool {
    var index = line.start + 1
    while index + 4 <= line.end {
      if bytes[index - 1] == ASCII.dash, ASCII.isHex(bytes[index]), ASCII.isHex(bytes[index + 1]),
        bytes[index + 2] == ASCII.dot, ASCII.isDigit(bytes[index + 3])
      {
        return true
      }
      index += 1
    }
    return false
  }

  /// Parses `[DDDD:BB]` at `index`; returns the bus and the index after `]`.
  static func parseBusLabel(_ bytes: [UInt8], at index: Int, end: Int) -> (bus: BusID, next: Int)? {
    guard index < end, bytes[index] == ASCII.openBracket,
      let (domain, afterDomain) = bytes.hexNumber(at: index + 1, end: end, maxDigits: 8),
      afterDomain - index - 1 >= 4, afterDomain < end, bytes[afterDomain] == ASCII.colon,
      let (bus, afterBus) = bytes.hexNumber(at: afterDomain + 1, end: end, maxDigits: 2),
      afterBus - afterDomain - 1 == 2, afterBus < end, bytes[afterBus] == ASCII.closeBracket
    else { return nil }
    return (BusID(domain: UInt32(truncatingIfNeeded: domain), bus: UInt8(bus)), afterBus + 1)
  }

  /// Parses the rest of one line, collecting devices and the lists that start on it.
  private struct LineParser {
    let bytes: [UInt8]
    let line: TextLine
    var nodes: [Node]
    var contexts: [Int: ListContext]

    var end: Int { line.end }

    /// What the rest of the line holds next. The grammar nests (a bridge's bus holds a device
    /// that may be a bridge...), but every step ends in at most one further step, so a loop over
    /// these states reads a line of any depth without recursion.
    enum Step {
      /// After a host's or bridge's `-`: a bus list (`+-[`), a single labelled bus (host), or the
      /// bridge's secondary bus directly.
      case buses(at: Int, bridgeBus: BusID?)
      /// `[DDDD:BB]-` then the bus's devices.
      case busLabel(at: Int)
      /// Nothing (empty bus), `--` + device, or `+-`/`\-` + device (a list starts here).
      case busContent(at: Int, bus: BusID)
      /// `DD.F`, then a bridge range and its buses, or `  Name`.
      case device(at: Int, bus: BusID)
      case finished(ok: Bool)
    }

    mutating func parseBuses(at index: Int, bridgeBus: BusID?) -> Bool { run(.buses(at: index, bridgeBus: bridgeBus)) }
    mutating func parseBusLabel(at index: Int) -> Bool { run(.busLabel(at: index)) }
    mutating func parseDevice(at index: Int, bus: BusID) -> Bool { run(.device(at: index, bus: bus)) }

    mutating func run(_ first: Step) -> Bool {
      var step = first
      while true {
        switch step {
        case .finished(let ok): return ok
        case .buses(let index, let bridgeBus): step = buses(at: index, bridgeBus: bridgeBus)
        case .busLabel(let index): step = busLabel(at: index)
        case .busContent(let index, let bus): step = busContent(at: index, bus: bus)
        case .device(let index, let bus): step = device(at: index, bus: bus)
        }
      }
    }

    mutating func buses(at index: Int, bridgeBus: BusID?) -> Step {
      guard index < end else { return .finished(ok: true) }  // bridge with an empty secondary bus
      if bytes[index] == ASCII.plus || bytes[index] == ASCII.backslash, bytes.matches("-[", at: index + 1, end: end) {
        contexts[index - line.start] = .buses
        return .busLabel(at: index + 2)
      }
      if bytes[index] == ASCII.openBracket { return .busLabel(at: index) }
      guard let bridgeBus else { return .finished(ok: false) }
      return .busContent(at: index, bus: bridgeBus)
    }

    func busLabel(at index: Int) -> Step {
      guard let (bus, next) = LspciTreeLoader.parseBusLabel(bytes, at: index, end: end), next < end,
        bytes[next] == ASCII.dash
      else { return .finished(ok: false) }
      return .busContent(at: next + 1, bus: bus)
    }

    mutating func busContent(at index: Int, bus: BusID) -> Step {
      guard index < end else { return .finished(ok: true) }
      guard index + 1 < end, bytes[index + 1] == ASCII.dash else { return .finished(ok: false) }
      switch bytes[index] {
      case ASCII.dash: return .device(at: index + 2, bus: bus)
      case ASCII.plus, ASCII.backslash:
        contexts[index - line.start] = .devices(bus)
        return .device(at: index + 2, bus: bus)
      default: return .finished(ok: false)
      }
    }

    mutating func device(at index: Int, bus: BusID) -> Step {
      guard index + 4 <= end, let d0 = ASCII.hexValue(bytes[index]), let d1 = ASCII.hexValue(bytes[index + 1]),
        bytes[index + 2] == ASCII.dot, let function = ASCII.hexValue(bytes[index + 3]), function < 8,
        d0 << 4 | d1 < 32
      else { return .finished(ok: false) }
      let bdf = BDF(domain: bus.domain, bus: bus.bus, device: d0 << 4 | d1, function: function)
      var node = Node(bdf: bdf)
      var position = index + 4
      if bytes.matches("-[", at: position, end: end),
        let (secondary, afterSecondary) = bytes.hexNumber(at: position + 2, end: end, maxDigits: 2)
      {
        var subordinate = secondary
        var after = afterSecondary
        if after < end, bytes[after] == ASCII.dash,
          let (value, next) = bytes.hexNumber(at: after + 1, end: end, maxDigits: 2)
        {
          subordinate = value
          after = next
        }
        guard bytes.matches("]-", at: after, end: end) else { return .finished(ok: false) }
        node.bridgeRange = (UInt8(secondary), UInt8(subordinate))
        nodes.append(node)
        position = after + 2
        // show_tree_bridge's own '-'.
        guard position < end else { return .finished(ok: true) }
        guard bytes[position] == ASCII.dash else { return .finished(ok: false) }
        return .buses(at: position + 1, bridgeBus: BusID(domain: bus.domain, bus: UInt8(secondary)))
      }
      if position < end {
        let text = bytes.text(position, end)
        if !text.isEmpty {
          var name = Substring(text)
          if name.hasSuffix("]"), name.count >= 12 {
            let tail = name.suffix(11)
            if tail.first == "[", let ids = PCIIDDatabase.parseIDPair(tail.dropFirst().dropLast()),
              let device = ids.device
            {
              node.ids = (ids.vendor, device)
              name = name.dropLast(11)
            }
          }
          let trimmed = name.trimmed(of: " ")
          node.name = trimmed.isEmpty ? nil : trimmed
        }
      }
      nodes.append(node)
      return .finished(ok: true)
    }
  }

  /// A class guess from a device name, for listings without class codes. Only for display and
  /// the matrix (display controllers, NICs, NVMe); a wrong guess never changes the hierarchy.
  static func guessClass(fromName name: String) -> UInt16? {
    for rule in classGuesses where rule.words.contains(where: { name.contains($0) }) { return rule.classCode }
    return nil
  }

  /// Name fragments → class code, first match wins (audio before graphics: "GP102 HDMI Audio").
  static let classGuesses: [(words: [String], classCode: UInt16)] = [
    (["Host Bridge", "Host bridge", "Root Complex", "DRAM Controller", "DRAM Registers"], 0x0600),
    (["HDMI Audio", "HD Audio", "High Definition Audio", "Audio"], 0x0403),
    (
      [
        "VGA", "Graphics", "GeForce", "Quadro", "Radeon", "Tesla", "RTX", "[H100", "[H200", "[A100", "GH100",
        "GA100", "GB100", "GB200", "GP10", "TU10", "AD10", "Vega", "Navi", "Instinct", "[Arc", "Display",
      ], 0x0300
    ),
    (
      ["Ethernet", "ConnectX", "Network", "Elastic Fabric Adapter", "Infiniband", "BlueField", "Wi-Fi", "Wireless"],
      0x0200
    ),
    (["NVMe", "Non-Volatile", "SSD"], 0x0108),
    (["SATA", "AHCI"], 0x0106),
    (["RAID", "MegaRAID", "SAS"], 0x0104),
    (["USB", "xHCI"], 0x0c03),
    (["SMBus"], 0x0c05),
  ]
}
