import Foundation

/// Loads `lspci` output in the "one block per function" layout: hex dumps (`-x`, `-xxx`,
/// `-xxxx`) with or without interleaved `-v`/`-vv`/`-vvv` text, and text without hex (`-vvv`,
/// `-vvvnn`, `-vv`, `-k`, even plain `lspci`). One pass over the bytes collects, per function,
/// the config bytes and the facts the text states; then each function is built from the config
/// when there is one and from the text otherwise, the text filling what the bytes lack (BAR
/// sizes, IOMMU group, driver, ACS when the dump stops at 256 bytes).
///
/// Line rules follow what `lspci -F FILE` accepts (pciutils `dump_init`): a header is
/// `BB:DD.F ` or `DDDD:BB:DD.F ` at the start of a line; a hex row is `OFF: xx xx ...` inside a
/// block; a blank line ends the block; anything else is ignored. Where `dump_init` gives up on a
/// malformed hex row ("dump: Malformed line"), this loader keeps the bytes before the junk and
/// records a one-line `LoadWarning` naming the line: users paste such files (stderr mixed into
/// stdout), and the rest of the dump is still good.
///
/// Over 500 lines: the one-pass reader, the per-block record and the builder that turns a record
/// into a function share private types and must change together; split they would be three
/// files that cannot be read alone.
enum LspciOutputLoader {
  struct Result {
    var functions: [PCIFunction]
    var warnings: [LoadWarning]
    var sawHex: Bool
  }

  /// A BAR as a `Region N:` line describes it.
  struct RegionText {
    var address: UInt64
    var size: UInt64?
    var is64Bit: Bool
    var isPrefetchable: Bool
    var isIO: Bool
    /// Why a `[size=...]` that was there could not be read (too large, unknown unit).
    var sizeProblem: String?
  }

  /// Everything collected for one function block.
  struct Record {
    var bdf: BDF
    var line: Int
    var header = HeaderText()
    var config: [UInt8] = []
    var configLength = 0
    /// Byte ranges below `configLength` that no hex row supplied.
    var configGaps: [Range<Int>] = []
    var sawCapabilities = false
    var sawExtendedCapabilities = false
    /// `Capabilities: [xxx] Access Control Services` seen (with `-v` its registers are not printed).
    var sawACSCapabilityLine = false
    var accessDenied = false
    var unknownHeaderType = false
    var acsCapability: ACSBits?
    var acsControl: ACSBits?
    var portType: PCIePortType?
    var busNumbers: (primary: UInt8, secondary: UInt8, subordinate: UInt8)?
    var regions: [Int: RegionText] = [:]
    var iommuGroup: Int?
    var driver: String?
    var subsystem: (vendor: UInt16, device: UInt16)?
    /// Text lines of this block that were dropped or clamped, for file:line warnings.
    var notes: [(line: Int, message: String)] = []

    init(bdf: BDF, line: Int) {
      self.bdf = bdf
      self.line = line
    }
  }

  /// The parts of a header line after the address.
  struct HeaderText {
    var className: String?
    var classCode: UInt16?
    var name: String?
    var ids: (vendor: UInt16, device: UInt16)?
    var revision: UInt8?
    var progIf: UInt8?

    /// Vendor and device from the `-nn` IDs, else from the name through pci.ids (only when the
    /// name is unambiguous; device 0 when only the vendor resolves); nil when neither gives them.
    func resolvedIDs(database: PCIIDDatabase?) -> (vendor: UInt16, device: UInt16)? {
      if let ids { return ids }
      guard let name, let resolved = database?.resolveIDs(fromName: name) else { return nil }
      return (resolved.vendor, resolved.device ?? 0)
    }
  }

  /// Malformed rows reported one by one; beyond this a junk file would flood stderr, so the rest
  /// are counted in one summary warning.
  static let maximumRowWarnings = 20

  static func load(bytes: [UInt8], path: String, database: PCIIDDatabase?) -> Result {
    var records: [Record] = []
    var warnings: [LoadWarning] = []
    var current: Int?  // index into records of the open block
    var sawHex = false
    records.reserveCapacity(256)
    // The open block's config bytes live outside `records` while its hex rows are read, so the
    // hot loop writes into a plain array instead of through `records[current]`.
    var openConfig: [UInt8] = []
    var openLength = 0
    // Rows normally come in order; a row starting past the bytes covered so far leaves a gap
    // (unknown bytes, not zeros). Out-of-order rows are rare; their gaps stay marked unread,
    // which errs towards "unknown", never towards a wrong value.
    var openCovered = 0
    var openGaps: [Range<Int>] = []
    var malformedRows = 0
    var invalidHeaders = 0
    var duplicateBlocks = 0
    var seenAddresses = Set<BDF>()

    func closeBlock() {
      if let current, openLength > 0 {
        records[current].config = openConfig
        records[current].configLength = openLength
        records[current].configGaps = openGaps.compactMap { gap in
          gap.lowerBound < openLength ? gap.lowerBound..<min(gap.upperBound, openLength) : nil
        }
      }
      current = nil
      openConfig = []
      openLength = 0
      openCovered = 0
      openGaps = []
    }

    bytes.withUnsafeBufferPointer { buffer in
      for line in LineSequence(bytes) {
        if line.isEmpty {
          closeBlock()
          continue
        }
        let first = buffer[line.start]
        if first == ASCII.tab || first == ASCII.space {
          if let current { parseTextLine(bytes, line, into: &records[current]) }
          continue
        }
        if current != nil, let row = readHexRow(buffer, line, into: &openConfig, length: &openLength) {
          sawHex = true
          if row.written.lowerBound > openCovered { openGaps.append(openCovered..<row.written.lowerBound) }
          openCovered = max(openCovered, row.written.upperBound)
          if let current, let message = row.message(for: records[current].bdf) {
            malformedRows += 1
            if malformedRows <= maximumRowWarnings {
              warnings.append(LoadWarning(message, file: path, line: line.number))
            }
          }
          continue
        }
        if let (bdf, next) = parseHeaderAddress(bytes, line) {
          closeBlock()
          // A second block for an address already read is skipped here, not kept until the
          // topology drops it: memory stays proportional to the distinct functions (a file of
          // one header repeated millions of times must not cost gigabytes).
          guard seenAddresses.insert(bdf).inserted else {
            duplicateBlocks += 1
            if duplicateBlocks <= maximumRowWarnings {
              warnings.append(
                LoadWarning(
                  "\(bdf) appears again; this block is ignored (the first one is kept)", file: path,
                  line: line.number))
            }
            continue
          }
          var record = Record(bdf: bdf, line: line.number)
          record.header = parseHeaderText(bytes.text(next, line.end))
          records.append(record)
          current = records.count - 1
        } else if let problem = invalidHeaderAddress(bytes, line) {
          // Shaped like a header but out of range: its block must not be read into the previous
          // function, and the user must hear that a function was dropped.
          closeBlock()
          invalidHeaders += 1
          if invalidHeaders <= maximumRowWarnings {
            warnings.append(LoadWarning("\(problem); this block is ignored", file: path, line: line.number))
          }
        }
      }
    }
    closeBlock()
    if duplicateBlocks > maximumRowWarnings {
      warnings.append(
        LoadWarning("\(duplicateBlocks - maximumRowWarnings) more repeated function blocks ignored", file: path))
    }
    if invalidHeaders > maximumRowWarnings {
      warnings.append(
        LoadWarning("\(invalidHeaders - maximumRowWarnings) more invalid function headers not listed", file: path))
    }
    if malformedRows > maximumRowWarnings {
      warnings.append(
        LoadWarning(
          "\(malformedRows - maximumRowWarnings) more malformed hex rows not listed (is this really an lspci dump?)",
          file: path))
    }

    var functions: [PCIFunction] = []
    functions.reserveCapacity(records.count)
    let fileShowsExtendedCapabilities = records.contains { $0.sawExtendedCapabilities }
    // In a `-xxxx` dump lspci prints 4096 bytes for every function that has extended space;
    // a function with 256 bytes there has none (conventional PCI), so no ACS.
    let fileHasExtendedDumps = records.contains { $0.configLength > 256 }
    for record in records {
      for note in record.notes { warnings.append(LoadWarning(note.message, file: path, line: note.line)) }
      functions.append(
        makeFunction(
          record, database: database, fileShowsExtendedCapabilities: fileShowsExtendedCapabilities,
          fileHasExtendedDumps: fileHasExtendedDumps, hexDump: sawHex, path: path, warnings: &warnings))
    }
    if !sawHex {
      inferMultiFunction(&functions)
      if !functions.isEmpty, !records.contains(where: { $0.busNumbers != nil }),
        !records.contains(where: { $0.sawCapabilities })
      {
        // Bus-number inference hook: with bridges listed, rebuild the hierarchy from the bus
        // numbers (BusNumberInference.swift) instead of making every bus a root bus.
        if BusNumberInference.isNeeded(functions) {
          warnings += BusNumberInference.infer(&functions, path: path)
        } else {
          warnings.append(
            LoadWarning(
              "the listing has no bridge bus numbers (plain lspci?): every bus is shown as a root bus; "
                + "load lspci -vvv, a hex dump or lspci -tv for the real hierarchy", file: path))
        }
      }
    }
    return Result(functions: functions, warnings: warnings, sawHex: sawHex)
  }

  // MARK: Hex rows

  /// What reading one hex row gave: nil problem when the whole row was good.
  struct HexRow {
    enum Problem {
      /// Junk after `kept` good bytes (stderr written into the row, a paste accident...).
      case junk(kept: Int, text: String)
      case pastEndOfConfigSpace
    }
    var problem: Problem?
    /// Config offsets this row filled.
    var written: Range<Int>

    func message(for bdf: BDF) -> String? {
      switch problem {
      case nil: return nil
      case .junk(let kept, let text):
        let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
        return "malformed hex row for \(bdf) (kept \(kept) bytes, ignored \"\(shown)\")"
      case .pastEndOfConfigSpace:
        return "hex row for \(bdf) goes past 4096 bytes of config space; the rest of the row is ignored"
      }
    }
  }

  /// Reads `OFF: xx xx ...` (offset of 2 to 8 hex digits, then byte pairs separated by single
  /// spaces) into `config`, as pciutils `dump_init` does; unknown bytes stay all ones (its
  /// `dump_alloc_data`). Returns nil when the line is not a hex row. Bytes before junk are kept.
  static func readHexRow(
    _ buffer: UnsafeBufferPointer<UInt8>, _ line: TextLine, into config: inout [UInt8], length: inout Int
  ) -> HexRow? {
    let end = line.end
    var index = line.start
    var offset = 0
    while index < end, index - line.start < 8, let digit = ASCII.hexValue(buffer[index]) {
      offset = offset << 4 | Int(digit)
      index += 1
    }
    guard index - line.start >= 2, index + 1 < end, buffer[index] == ASCII.colon, buffer[index + 1] == ASCII.space
    else { return nil }
    index += 2
    // Room for every pair the row can hold: 256 bytes, or the whole 4 KiB extended space.
    let mostPairs = (end - index + 1) / 3
    let needed = offset + mostPairs > 256 ? 4096 : 256
    if config.count < needed {
      // Copied by hand: a generic `append(contentsOf:)` costs 20x more in debug builds.
      var grown = [UInt8](repeating: 0xff, count: needed)
      grown.withUnsafeMutableBufferPointer { target in
        config.withUnsafeBufferPointer { source in
          guard let from = source.baseAddress, let to = target.baseAddress else { return }
          to.update(from: from, count: source.count)
        }
      }
      config = grown
    }
    var position = offset
    config.withUnsafeMutableBufferPointer { storage in
      while index + 1 < end, position < storage.count, let high = ASCII.hexValue(buffer[index]),
        let low = ASCII.hexValue(buffer[index + 1]), index + 2 == end || buffer[index + 2] == ASCII.space
      {
        storage[position] = high << 4 | low
        position += 1
        index += index + 2 == end ? 2 : 3
      }
    }
    if position > length { length = position }
    let written = min(offset, position)..<position
    var rest = index
    while rest < end, ASCII.isBlank(buffer[rest]) { rest += 1 }
    guard rest < end else { return HexRow(problem: nil, written: written) }
    if position >= 4096 { return HexRow(problem: .pastEndOfConfigSpace, written: written) }
    let junk = String(decoding: buffer[rest..<end], as: UTF8.self)
    return HexRow(problem: .junk(kept: max(position - offset, 0), text: junk), written: written)
  }

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

  // MARK: Building functions

  static func makeFunction(
    _ record: Record, database: PCIIDDatabase?, fileShowsExtendedCapabilities: Bool,
    fileHasExtendedDumps: Bool, hexDump: Bool, path: String, warnings: inout [LoadWarning]
  ) -> PCIFunction {
    let header = record.header
    var function = PCIFunction(bdf: record.bdf, vendorID: 0, deviceID: 0, classCode: 0)
    function.name = header.name
    function.iommuGroup = record.iommuGroup
    function.driver = record.driver
    var configBytes = record.config
    if record.configLength < configBytes.count { configBytes.removeSubrange(record.configLength...) }
    let config =
      record.configLength > 0 ? ConfigSpace(bytes: configBytes, unreadRanges: record.configGaps) : nil

    if let config, config.count >= 0x10 {
      function.config = config
      if config.count < 64 {
        warnings.append(
          LoadWarning(
            "\(record.bdf) has only \(config.count) bytes of config space (truncated dump?)", file: path,
            line: record.line))
      }
      function.isPoweredOff = config.readsAllOnes
      function.vendorID = config.vendorID ?? 0
      function.deviceID = config.deviceID ?? 0
      function.revision = config.revision ?? 0
      function.classCode = config.classCode24 ?? 0
      if let (type, multiFunction) = config.headerTypeAndMultiFunction {
        function.headerType = type
        function.isMultiFunction = multiFunction
      }
      if function.isPoweredOff {
        // All ones: who it is comes from the header text (lspci took it from sysfs, which
        // cached the IDs before the device powered down): `-nn` IDs, else the name via pci.ids.
        if let ids = header.resolvedIDs(database: database) {
          function.vendorID = ids.vendor
          function.deviceID = ids.device
        }
        let textClass = header.classCode ?? header.className.flatMap { database?.classCode(named: $0) }
        function.classCode = textClass.map { UInt32($0) << 8 } ?? 0xff_ffff
        function.headerType = 0
        function.isMultiFunction = false
        function.acs = .unknown(reason: "config space reads all ones: the function is powered off (D3cold) or gone")
        return finishNames(function, database: database)
      }
      if function.isBridge, let buses = config.bridgeBusNumbers {
        function.primaryBus = buses.primary
        function.secondaryBus = buses.secondary
        function.subordinateBus = buses.subordinate
      } else if function.isBridge, let buses = record.busNumbers {
        // The dump stops before 0x18 but the `-v` text gave the bus numbers.
        function.primaryBus = buses.primary
        function.secondaryBus = buses.secondary
        function.subordinateBus = buses.subordinate
      } else if function.isBridge {
        warnings.append(
          LoadWarning(
            "\(record.bdf) is a bridge but its bus numbers (config 0x18...0x1a) are not in the dump: "
              + "functions below it show as a separate root bus", file: path, line: record.line))
      }
      if function.headerType == 0, let subsystem = config.subsystemIDs, config.count >= 0x30 {
        function.subsystemVendorID = subsystem.vendor
        function.subsystemDeviceID = subsystem.device
      }
      function.bars = config.decodeBARs(headerType: function.headerType).map { bar in
        var bar = bar
        guard let region = record.regions[bar.index] else { return bar }
        bar.size = region.size
        // The register holds the PCI bus address; `Region N:` prints the CPU address
        // (`pci_resource_start`, from sysfs). Where they differ (POWER9 PHBs, some Arm host
        // bridges) the text is the CPU address and the difference is the window offset.
        if region.address != 0, bar.address != 0, region.address != bar.address, region.isIO == bar.isIO {
          bar.busOffset = Int64(bitPattern: bar.address &- region.address)
          bar.address = region.address
        }
        return bar
      }
      function.portType = (config.hasCapabilityArea ? config.pcieType : nil) ?? record.portType
      // In a `-xxxx` file lspci prints exactly 256 bytes for a function without extended space.
      // Any other short length is a cut dump and decides nothing.
      if config.count == 256, config.unreadRanges.isEmpty, fileHasExtendedDumps, record.acsCapability == nil,
        record.acsControl == nil
      {
        function.acs = .absent
        return finishNames(function, database: database)
      }
      let fromBytes = config.acsFromExtendedSpace
      if let fromBytes, !fromBytes.isUnknown {
        function.acs = fromBytes
      } else {
        // The bytes do not decide: the `-vv` text may (ACSCap/ACSCtl lines), else stay unknown.
        var missing =
          "the dump has \(config.count) bytes of config space per function; ACS lives in the extended space (lspci -xxxx as root)"
        if case .unknown(let reason) = fromBytes { missing = reason }
        function.acs = acsFromText(
          record, fileShowsExtendedCapabilities: fileShowsExtendedCapabilities, missing: missing)
        if config.count > 256, function.acs.isUnknown {
          warnings.append(
            LoadWarning("\(record.bdf): ACS unknown: \(missing)", file: path, line: record.line))
        }
      }
      return finishNames(function, database: database)
    }

    if hexDump {
      warnings.append(LoadWarning("\(record.bdf) has no hex rows; built from its text", file: path, line: record.line))
    }
    // Text only.
    // Names resolved back to IDs only when unambiguous; otherwise 0 and the name is kept.
    if let ids = header.resolvedIDs(database: database) {
      function.vendorID = ids.vendor
      function.deviceID = ids.device
    }
    if let subsystem = record.subsystem {
      function.subsystemVendorID = subsystem.vendor
      function.subsystemDeviceID = subsystem.device
    }
    let classCode16 =
      header.classCode ?? header.className.flatMap { name in
        database?.classCode(named: name) ?? PCIClassNames.builtin[name]
      } ?? 0
    function.classCode = UInt32(classCode16) << 8 | UInt32(header.progIf ?? 0)
    function.revision = header.revision ?? 0
    if record.unknownHeaderType {
      function.isPoweredOff = true
      function.acs = .unknown(reason: "config space reads all ones: the function is powered off (D3cold) or gone")
      return finishNames(function, database: database)
    }
    if let buses = record.busNumbers {
      function.headerType = classCode16 == 0x0607 ? 2 : 1
      function.primaryBus = buses.primary
      function.secondaryBus = buses.secondary
      function.subordinateBus = buses.subordinate
    } else if classCode16 == 0x0604 || classCode16 == 0x0609 {
      function.headerType = 1
    } else if classCode16 == 0x0607 {
      function.headerType = 2
    }
    function.portType = record.portType
    function.bars = record.regions.keys.sorted().compactMap { index in
      guard let region = record.regions[index] else { return nil }
      return BAR(
        index: index, address: region.address, size: region.size, is64Bit: region.is64Bit,
        isPrefetchable: region.isPrefetchable, isIO: region.isIO)
    }
    function.acs = acsFromText(
      record, fileShowsExtendedCapabilities: fileShowsExtendedCapabilities,
      missing: record.sawCapabilities || record.accessDenied
        ? "lspci ran without root: extended capabilities not shown"
        : "the listing shows no capabilities (lspci -vvv as root shows ACS)")
    return finishNames(function, database: database)
  }

  /// ACS from `ACSCap:`/`ACSCtl:` lines; absent when lspci showed the extended capability list
  /// (it runs as root then) without ACS; unknown otherwise.
  static func acsFromText(_ record: Record, fileShowsExtendedCapabilities: Bool, missing: String) -> ACSState {
    if record.acsCapability != nil || record.acsControl != nil {
      return .present(capability: record.acsCapability ?? [], control: record.acsControl ?? [])
    }
    if record.sawACSCapabilityLine {
      return .unknown(
        reason: "lspci lists the ACS capability but not its registers (-v); lspci -vv prints ACSCap/ACSCtl")
    }
    if record.sawExtendedCapabilities { return .absent }
    // A root run shows extended capabilities for some function; a function without any
    // (conventional PCI, or PCIe with an empty list) then has no ACS either.
    if fileShowsExtendedCapabilities && !record.accessDenied && record.sawCapabilities { return .absent }
    return .unknown(reason: missing)
  }

  /// Fills `name`/`vendorName` from pci.ids where the input had none.
  static func finishNames(_ function: PCIFunction, database: PCIIDDatabase?) -> PCIFunction {
    var function = function
    function.name = NameWithIDs.keepingDeviceID(
      function.name, vendor: function.vendorID, device: function.deviceID,
      vendorName: database?.vendorName(function.vendorID))
    guard let database else { return function }
    if function.vendorName == nil, function.vendorID != 0, !function.isPoweredOff || function.vendorID != 0xffff {
      function.vendorName = database.vendorName(function.vendorID)
    }
    if function.name == nil, function.vendorID != 0, function.vendorID != 0xffff {
      function.name = database.displayName(vendor: function.vendorID, device: function.deviceID)
    } else if let name = function.name, function.vendorID != 0,
      name.hasSuffix(" Device \(hex(function.deviceID, width: 4))"),
      database.deviceName(vendor: function.vendorID, device: function.deviceID) != nil
    {
      // The capturing machine's pci.ids did not know the device; ours does.
      function.name = database.displayName(vendor: function.vendorID, device: function.deviceID)
    }
    return function
  }

  /// Text listings do not show the multi-function bit: a device with a function other than 0
  /// present is multi-function.
  static func inferMultiFunction(_ functions: inout [PCIFunction]) {
    var slotsWithMore = Set<UInt32>()
    for function in functions where function.bdf.function != 0 {
      slotsWithMore.insert(slotKey(function.bdf))
    }
    for index in functions.indices where slotsWithMore.contains(slotKey(functions[index].bdf)) {
      functions[index].isMultiFunction = true
    }
  }

  private static func slotKey(_ bdf: BDF) -> UInt32 {
    bdf.domain &* 0x2000 &+ UInt32(bdf.bus) << 5 | UInt32(bdf.device)
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
