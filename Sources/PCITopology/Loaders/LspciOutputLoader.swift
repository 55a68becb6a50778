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
/// The reader and the hex rows are here; the text lines in `LspciOutputLoader+TextLines.swift`,
/// the building of functions from a record in `LspciOutputLoader+Functions.swift`.
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
}
