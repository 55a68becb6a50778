import Foundation

/// Finds the `lspci` sections in a file that holds several (an `nvidia-bug-report.log` carries
/// `lspci -nn`, `lspci -d VENDOR -v -xxx` and `lspci -t` one after the other, between other
/// text; a report pastes `lspci -tv` and `lspci -vvv -s ...` into markdown).
///
/// A section is a run of lines of one layout: *blocks* (function headers `BB:DD.F ...` with their
/// indented text and hex rows, blank lines between blocks) or a *tree* (`lspci -t` lines). Any
/// other line at column 0 ends the section it is in (a section title such as
/// `/usr/bin/lspci -t`, a `____` separator, prose).
struct LspciSection {
  enum Layout { case blocks, tree }
  var layout: Layout
  /// Byte range of the section's lines in the file.
  var start: Int
  var end: Int
  /// Function addresses of the block headers (blocks only).
  var headers: [BDF] = []
  /// Blocks without hex rows, `Bus:` lines or capabilities: a plain `lspci`/`-nn`/`-k` listing,
  /// whose hierarchy is only inferred from bus numbers.
  var isPlainListing = true

  /// The file with every byte outside this section blanked (newlines kept), so that a loader run
  /// on it reports the file's own line numbers.
  func isolated(from bytes: [UInt8]) -> [UInt8] {
    var copy = bytes
    for index in copy.indices where (index < start || index >= end) && copy[index] != 0x0a {
      copy[index] = ASCII.space
    }
    return copy
  }
}

enum LspciSections {
  /// The sections of a file, in file order.
  static func split(_ bytes: [UInt8]) -> [LspciSection] {
    var sections: [LspciSection] = []
    var open: LspciSection?
    func close(at position: Int) {
      if var section = open {
        section.end = position
        sections.append(section)
      }
      open = nil
    }
    for line in LineSequence(bytes) {
      if line.isEmpty {
        // Blank lines separate blocks; they end a tree (as in the tree loader).
        if open?.layout == .tree { close(at: line.start) }
        continue
      }
      let first = bytes[line.start]
      if LspciTreeLoader.looksLikeTreeLine(bytes, line) {
        if open?.layout != .tree {
          close(at: line.start)
          open = LspciSection(layout: .tree, start: line.start, end: line.end)
        }
        continue
      }
      if open?.layout == .tree, first == ASCII.space || first == ASCII.pipe,
        LspciTreeLoader.hasSlotToken(bytes, line)
      {
        continue
      }
      if ASCII.isHex(first), let (bdf, _) = parseHeaderAddress(bytes, line) {
        if open?.layout != .blocks {
          close(at: line.start)
          open = LspciSection(layout: .blocks, start: line.start, end: line.end)
        }
        open?.headers.append(bdf)
        continue
      }
      if open?.layout == .blocks {
        if first == ASCII.tab || first == ASCII.space {
          if bytes.firstIndex(of: "Bus: primary=", from: line.start, to: line.end) != nil
            || bytes.firstIndex(of: "Capabilities:", from: line.start, to: line.end) != nil
          {
            open?.isPlainListing = false
          }
          continue
        }
        if isHexRow(bytes, line) {
          open?.isPlainListing = false
          continue
        }
      }
      close(at: line.start)
    }
    close(at: bytes.count)
    return sections
  }

  /// Cheap gate before `split`: a tree's bus label `-[DDDD:BB]` somewhere in the file. Hex dumps
  /// and `-v` text almost never hold `[`, so this costs a `memchr` pass on them.
  static func containsTreeLabel(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return false }
      var position = 0
      while position < buffer.count {
        guard let found = memchr(base + position, Int32(ASCII.openBracket), buffer.count - position) else {
          return false
        }
        let index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        position = index + 1
        guard index > 0, buffer[index - 1] == ASCII.dash else { continue }
        var digits = 0
        var cursor = index + 1
        while cursor < buffer.count, ASCII.isHex(buffer[cursor]) {
          digits += 1
          cursor += 1
        }
        if digits >= 4, cursor + 3 < buffer.count, buffer[cursor] == ASCII.colon, ASCII.isHex(buffer[cursor + 1]),
          ASCII.isHex(buffer[cursor + 2]), buffer[cursor + 3] == ASCII.closeBracket
        {
          return true
        }
      }
      return false
    }
  }

  /// True when a loader read the same address twice (sections of one machine in one file).
  static func hasRepeatedAddress(_ functions: [PCIFunction]) -> Bool {
    var seen = Set<BDF>()
    seen.reserveCapacity(functions.count)
    return functions.contains { !seen.insert($0.bdf).inserted }
  }

  /// `OFF: xx ...`: 2 to 8 hex digits, a colon and a space.
  static func isHexRow(_ bytes: [UInt8], _ line: TextLine) -> Bool {
    var index = line.start
    while index < line.end, index - line.start < 8, ASCII.isHex(bytes[index]) { index += 1 }
    return index - line.start >= 2 && index + 1 < line.end && bytes[index] == ASCII.colon
      && bytes[index + 1] == ASCII.space
  }

  /// True when the file must be read section by section: it mixes a tree with blocks, holds
  /// several trees, or lists one function in two block sections (e.g. `lspci -nn` and
  /// `lspci -d 10de:* -v -xxx`). Otherwise the whole-file loaders read it as before.
  static func needsMerging(_ sections: [LspciSection]) -> Bool {
    let trees = sections.filter { $0.layout == .tree }.count
    let blocks = sections.filter { $0.layout == .blocks }
    if trees > 1 || (trees == 1 && !blocks.isEmpty) { return true }
    var seen = Set<BDF>()
    for section in blocks {
      for bdf in Set(section.headers) where !seen.insert(bdf).inserted { return true }
    }
    return false
  }
}
