import Foundation

/// The text lines of an lspci block: header text, `-v` lines, ACS bits, bus lines, regions.
extension LspciOutputLoader {
  // MARK: Text lines

  /// Header text after the address: `Class [cccc]: Name [vvvv:dddd] (rev xx) (prog-if xx [...])`.
  static func parseHeaderText(_ text: String) -> HeaderText {
    var header = HeaderText()
    guard !text.isEmpty else { return header }
    var rest = Substring(text)
    if let colon = rest.range(of: ": ") {
      var classPart = rest[..<colon.lowerBound]
      rest = rest[colon.upperBound...]
      if classPart.hasSuffix("]"), let open = classPart.lastIndex(of: "["),
        let code = UInt16(
          hexDigits: classPart[classPart.index(after: open)..<classPart.index(before: classPart.endIndex)], maxLength: 4
        )
      {
        header.classCode = code
        classPart = classPart[..<open]
      }
      let className = classPart.trimmed(of: " ")
      // Unknown classes print as `Class 0403`.
      if className.hasPrefix("Class "), let code = UInt16(hexDigits: className.dropFirst(6), maxLength: 4) {
        header.classCode = header.classCode ?? code
      } else if className.count == 4, let code = UInt16(hexDigits: className, maxLength: 4) {
        // `lspci -n`: `00:00.0 0600: 8086:0154 (rev 09)`.
        header.classCode = header.classCode ?? code
      }
      header.className = className
    }
    // From the end: (prog-if ..), (rev ..), [vvvv:dddd].
    if let range = rest.range(of: " (prog-if ", options: .backwards) {
      let inner = rest[range.upperBound...]
      header.progIf = UInt8(hexDigits: inner.prefix(2), maxLength: 2)
      rest = rest[..<range.lowerBound]
    }
    if rest.hasSuffix(")"), let range = rest.range(of: " (rev ", options: .backwards) {
      header.revision = UInt8(hexDigits: rest[range.upperBound...].prefix(2), maxLength: 2)
      rest = rest[..<range.lowerBound]
    }
    if rest.hasSuffix("]"), rest.count >= 11 {
      let tail = rest.suffix(11)  // " [vvvv:dddd]" minus the space
      if tail.first == "[", let ids = PCIIDDatabase.parseIDPair(tail.dropFirst().dropLast()),
        let device = ids.device
      {
        header.ids = (ids.vendor, device)
        rest = rest.dropLast(11)
      }
    }
    // lspci cuts long names at 128 bytes: `... Registers [8086...`. Drop the cut ID fragment.
    if rest.hasSuffix("..."), let open = rest.lastIndex(of: "["), rest.distance(from: open, to: rest.endIndex) <= 13 {
      rest = rest[..<open]
    }
    let name = rest.trimmed(of: " ")
    if header.ids == nil, name.count == 9, let ids = PCIIDDatabase.parseIDPair(Substring(name)), let device = ids.device
    {
      // `lspci -n` prints only `vvvv:dddd` where the name would be.
      header.ids = (ids.vendor, device)
      return header
    }
    header.name = name.isEmpty ? nil : name
    return header
  }

  /// One indented line of `lspci -v...` text: keeps the facts the topology needs.
  static func parseTextLine(_ bytes: [UInt8], _ line: TextLine, into record: inout Record) {
    let start = bytes.skipBlanks(from: line.start, to: line.end)
    let end = line.end
    guard start < end else { return }
    switch bytes[start] {
    case 0x43:  // 'C'
      if bytes.matches("Capabilities: ", at: start, end: end) {
        record.sawCapabilities = true
        let open = start + 14
        guard open < end else { return }
        if bytes[open] == ASCII.openBracket,
          let (offset, next) = bytes.hexNumber(at: open + 1, end: end, maxDigits: 3)
        {
          if offset >= 0x100 {
            record.sawExtendedCapabilities = true
            if bytes.firstIndex(of: "] Access Control Services", from: next, to: end) != nil {
              record.sawACSCapabilityLine = true
            }
          } else if let expressAt = bytes.firstIndex(of: "] Express ", from: next, to: end) {
            // `Express (v2) Root Port (Slot+), MSI 00`; older lspci: `Express Upstream Port, MSI 00`.
            var typeAt = expressAt + 10
            if bytes.matches("(v", at: typeAt, end: end),
              let close = bytes.firstIndex(of: ") ", from: typeAt, to: end)
            {
              typeAt = close + 2
            }
            let words = bytes.text(typeAt, end)
            record.portType = PCIePortType.allCases.first { type in
              words.hasPrefix(type.lspciName)
                && (words.count == type.lspciName.count
                  || [" ", ","].contains(words[words.index(words.startIndex, offsetBy: type.lspciName.count)]))
            }
          }
        } else if bytes.matches("<access denied>", at: open, end: end) {
          record.accessDenied = true
        }
      }
    case 0x41:  // 'A'
      if bytes.matches("ACSCap:", at: start, end: end) {
        record.acsCapability = parseACSBits(bytes.text(start + 7, end))
      } else if bytes.matches("ACSCtl:", at: start, end: end) {
        record.acsControl = parseACSBits(bytes.text(start + 7, end))
      }
    case 0x42:  // 'B'
      if bytes.matches("Bus: primary=", at: start, end: end) {
        switch parseBusLine(bytes, from: start + 13, to: end) {
        case .numbers(let primary, let secondary, let subordinate):
          record.busNumbers = (primary, secondary, subordinate)
        case .invalid(let why):
          record.notes.append((line.number, "\(record.bdf): bus numbers ignored: \(why)"))
        }
      }
    case 0x49:  // 'I'
      if bytes.matches("IOMMU group: ", at: start, end: end) {
        if let (group, _) = bytes.decimalNumber(at: start + 13, end: end), group <= Int(Int32.max) {
          record.iommuGroup = group
        } else {
          record.notes.append(
            (
              line.number,
              "\(record.bdf): IOMMU group \"\(bytes.text(start + 13, end))\" is not a number we accept; ignored"
            ))
        }
      }
    case 0x4b:  // 'K'
      if bytes.matches("Kernel driver in use: ", at: start, end: end) {
        let driver = bytes.text(start + 22, end)
        record.driver = driver.isEmpty ? nil : driver
      }
    case 0x52:  // 'R'
      // Only the function's own regions (one indent level): the SR-IOV capability lists the
      // VF BARs as nested `Region N:` lines, which must not replace the PF's.
      let isTopLevel = bytes[line.start] == ASCII.tab ? start - line.start == 1 : start - line.start < 8
      if isTopLevel, bytes.matches("Region ", at: start, end: end),
        let (index, next) = bytes.decimalNumber(at: start + 7, end: end), index < 6,
        next < end, bytes[next] == ASCII.colon, let region = parseRegion(bytes, from: next + 1, to: end)
      {
        record.regions[index] = region
        if let problem = region.sizeProblem {
          record.notes.append((line.number, "\(record.bdf): Region \(index): \(problem); size treated as unknown"))
        }
      }
    case 0x53:  // 'S'
      if bytes.matches("Subsystem: ", at: start, end: end), end - start > 12, bytes[end - 1] == ASCII.closeBracket,
        let ids = PCIIDDatabase.parseIDPair(Substring(bytes.text(end - 10, end - 1))), let device = ids.device
      {
        record.subsystem = (ids.vendor, device)
      }
    case 0x21:  // '!'
      if bytes.matches("!!! Unknown header type", at: start, end: end) { record.unknownHeaderType = true }
    default:
      break
    }
  }

  /// `SrcValid+ TransBlk- ReqRedir+ ...` → the bits marked `+`.
  static func parseACSBits(_ text: String) -> ACSBits {
    var bits: ACSBits = []
    for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) where token.hasSuffix("+") {
      let name = token.dropLast()
      if let entry = ACSBits.named.first(where: { $0.lspci == name }) { bits.insert(entry.bit) }
    }
    return bits
  }

  enum BusLine {
    case numbers(UInt8, UInt8, UInt8)
    case invalid(String)
  }

  /// `00, secondary=01, subordinate=01, sec-latency=0` (after `Bus: primary=`). Every number
  /// must be two hex digits at most ending at a non-digit: `secondary=100` is not bus 0x10.
  static func parseBusLine(_ bytes: [UInt8], from start: Int, to end: Int) -> BusLine {
    func bus(at index: Int) -> (UInt8, Int)? {
      guard let (value, next) = bytes.hexNumber(at: index, end: end, maxDigits: 16), value <= 0xff else {
        return nil
      }
      return (UInt8(value), next)
    }
    let text = "\"\(bytes.text(start - 13, end))\""
    guard let (primary, afterPrimary) = bus(at: start),
      let secondaryAt = bytes.firstIndex(of: "secondary=", from: afterPrimary, to: end),
      let (secondary, afterSecondary) = bus(at: secondaryAt + 10),
      let subordinateAt = bytes.firstIndex(of: "subordinate=", from: afterSecondary, to: end),
      let (subordinate, _) = bus(at: subordinateAt + 12)
    else { return .invalid("\(text) does not hold three bus numbers 00...ff") }
    return .numbers(primary, secondary, subordinate)
  }

  /// ` Memory at 6000000000 (64-bit, prefetchable) [size=256M]`, ` I/O ports at 4000 [size=64]`,
  /// with optional `[virtual]`, `[disabled]`, `<unassigned>`, `<ignored>`.
  static func parseRegion(_ bytes: [UInt8], from start: Int, to end: Int) -> RegionText? {
    var index = bytes.skipBlanks(from: start, to: end)
    if bytes.matches("[virtual] ", at: index, end: end) { index += 10 }
    if bytes.matches("[enhanced] ", at: index, end: end) { index += 11 }
    let isIO: Bool
    if bytes.matches("Memory at ", at: index, end: end) {
      isIO = false
      index += 10
    } else if bytes.matches("I/O ports at ", at: index, end: end) {
      isIO = true
      index += 13
    } else {
      return nil
    }
    var address: UInt64 = 0
    if let (value, next) = bytes.hexNumber(at: index, end: end) {
      address = value
      index = next
    }
    var region = RegionText(address: address, size: nil, is64Bit: false, isPrefetchable: false, isIO: isIO)
    if !isIO {
      region.is64Bit = bytes.firstIndex(of: "(64-bit", from: index, to: end) != nil
      region.isPrefetchable =
        bytes.firstIndex(of: ", prefetchable)", from: index, to: end) != nil
    }
    if let sizeAt = bytes.firstIndex(of: "[size=", from: index, to: end) {
      guard let (value, next) = bytes.decimalNumber(at: sizeAt + 6, end: end), next < end else {
        region.sizeProblem = "size \"\(bytes.text(sizeAt, end))\" is not a number we accept"
        return region
      }
      // lspci's units (`pciutils` `size_format`): none, K, M, G, T, P, E.
      let shift: UInt64?
      switch bytes[next] {
      case ASCII.closeBracket: shift = 0
      case 0x4b: shift = 10  // K
      case 0x4d: shift = 20  // M
      case 0x47: shift = 30  // G
      case 0x54: shift = 40  // T
      case 0x50: shift = 50  // P
      case 0x45: shift = 60  // E
      default: shift = nil
      }
      guard let shift else {
        region.sizeProblem = "size unit in \"\(bytes.text(sizeAt, end))\" is unknown"
        return region
      }
      let (size, overflow) = UInt64(value).multipliedReportingOverflow(by: 1 << shift)
      if overflow || value <= 0 {
        region.sizeProblem = "size \"\(bytes.text(sizeAt, end))\" does not fit 64 bits"
        return region
      }
      region.size = size
    }
    return region
  }
}

extension StringProtocol {
  /// Trims the given characters from both ends (Foundation-free).
  func trimmed(of set: Character) -> String {
    var lower = startIndex
    var upper = endIndex
    while lower < upper, self[lower] == set { lower = index(after: lower) }
    while upper > lower, self[index(before: upper)] == set { upper = index(before: upper) }
    return String(self[lower..<upper])
  }
}
