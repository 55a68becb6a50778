#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Byte-level helpers shared by the text loaders. The loaders work on the raw file bytes rather
/// than `String` lines: a 4,000-function `-xxxx` dump has over a million lines, and avoiding a
/// `String` (and a regex) per line is what keeps loading faster than `lspci -F` itself.

/// One line of the input: byte range without the terminator (and without a trailing `\r`),
/// plus its 1-based line number for messages.
struct TextLine {
  var start: Int
  var end: Int
  var number: Int
  var isEmpty: Bool { start >= end }
  var count: Int { end - start }
}

/// Splits a byte buffer into lines (`\n`, with `\r\n` tolerated), lazily.
struct LineSequence: Sequence, IteratorProtocol {
  let bytes: [UInt8]
  private var position = 0
  private var number = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func next() -> TextLine? {
    guard position < bytes.count else { return nil }
    let start = position
    var end = bytes.count
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress,
        let newline = memchr(base + start, 0x0a, buffer.count - start)
      else { return }
      end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(newline))
    }
    position = end + 1
    number += 1
    var contentEnd = end
    if contentEnd > start, bytes[contentEnd - 1] == 0x0d { contentEnd -= 1 }
    return TextLine(start: start, end: contentEnd, number: number)
  }
}

enum ASCII {
  static let tab: UInt8 = 0x09
  static let space: UInt8 = 0x20
  static let colon: UInt8 = 0x3a
  static let dot: UInt8 = 0x2e
  static let dash: UInt8 = 0x2d
  static let plus: UInt8 = 0x2b
  static let backslash: UInt8 = 0x5c
  static let pipe: UInt8 = 0x7c
  static let openBracket: UInt8 = 0x5b
  static let closeBracket: UInt8 = 0x5d
  static let openBrace: UInt8 = 0x7b

  /// Value of one hex digit, or nil.
  @inline(__always)
  static func hexValue(_ byte: UInt8) -> UInt8? {
    // Wrapping arithmetic instead of range patterns: this runs for every byte of a dump, and
    // range matching is a generic call in debug builds.
    let digit = byte &- 0x30
    if digit < 10 { return digit }
    let letter = (byte | 0x20) &- 0x61  // folds 'A'...'F' onto 'a'...'f'
    if letter < 6 { return letter &+ 10 }
    return nil
  }

  @inline(__always)
  static func isHex(_ byte: UInt8) -> Bool { hexValue(byte) != nil }

  @inline(__always)
  static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

  @inline(__always)
  static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }
}

extension Array where Element == UInt8 {
  /// True when the bytes at `offset` spell `literal` (ASCII).
  func matches(_ literal: StaticString, at offset: Int, end: Int? = nil) -> Bool {
    let limit = end ?? count
    let length = literal.utf8CodeUnitCount
    guard offset >= 0, offset + length <= limit else { return false }
    return literal.withUTF8Buffer { literalBytes in
      for index in 0..<length where self[offset + index] != literalBytes[index] { return false }
      return true
    }
  }

  /// Index of the first occurrence of `literal` in `start..<end`, or nil.
  func firstIndex(of literal: StaticString, from start: Int, to end: Int) -> Int? {
    let length = literal.utf8CodeUnitCount
    guard length > 0, end - start >= length else { return nil }
    return literal.withUTF8Buffer { literalBytes -> Int? in
      let first = literalBytes[0]
      var index = start
      while index + length <= end {
        if self[index] == first {
          var same = true
          for offset in 1..<length where self[index + offset] != literalBytes[offset] {
            same = false
            break
          }
          if same { return index }
        }
        index += 1
      }
      return nil
    }
  }

  /// Parses hex digits starting at `offset` (at most `maxDigits`); returns value and the index
  /// after the last digit, or nil when there is no digit.
  func hexNumber(at offset: Int, end: Int, maxDigits: Int = 16) -> (value: UInt64, next: Int)? {
    var index = offset
    var value: UInt64 = 0
    while index < end, index - offset < maxDigits, let digit = ASCII.hexValue(self[index]) {
      value = value << 4 | UInt64(digit)
      index += 1
    }
    return index == offset ? nil : (value, index)
  }

  /// Parses decimal digits starting at `offset`; nil when there is none or when the number has
  /// more than 18 digits (never a silently wrapped or cut value).
  func decimalNumber(at offset: Int, end: Int) -> (value: Int, next: Int)? {
    var index = offset
    var value = 0
    while index < end, ASCII.isDigit(self[index]) {
      guard index - offset < 18 else { return nil }
      value = value * 10 + Int(self[index] - 0x30)
      index += 1
    }
    return index == offset ? nil : (value, index)
  }

  /// Index of the first byte in `start..<end` that is not a space or tab.
  func skipBlanks(from start: Int, to end: Int) -> Int {
    var index = start
    while index < end, ASCII.isBlank(self[index]) { index += 1 }
    return index
  }

  /// The bytes as a `String` (invalid UTF-8 repaired), trimmed of blanks at both ends.
  func text(_ start: Int, _ end: Int) -> String {
    var lower = Swift.max(start, 0)
    var upper = Swift.min(end, count)
    while lower < upper, ASCII.isBlank(self[lower]) { lower += 1 }
    while upper > lower, ASCII.isBlank(self[upper - 1]) { upper -= 1 }
    guard lower < upper else { return "" }
    return String(decoding: self[lower..<upper], as: UTF8.self)
  }
}

/// What `lspci -F` (pciutils `dump_init`) accepts as a function header: `BB:DD.F ` or
/// `DDDD:BB:DD.F ` / `DDDDD:BB:DD.F ` at the start of the line, followed by a space or the end
/// of the line. Returns the address and the index after it.
func parseHeaderAddress(_ bytes: [UInt8], _ line: TextLine) -> (bdf: BDF, next: Int)? {
  let start = line.start
  let end = line.end
  // Try the domain-less form first (the common case), then 4- and 5-digit domains.
  for domainDigits in [0, 4, 5] {
    let prefix = domainDigits == 0 ? 0 : domainDigits + 1
    let length = prefix + 7
    guard end - start >= length else { continue }
    let base = start + prefix
    if domainDigits > 0 {
      var ok = bytes[start + domainDigits] == ASCII.colon
      for index in start..<(start + domainDigits) where !ASCII.isHex(bytes[index]) { ok = false }
      guard ok else { continue }
    }
    guard let b0 = ASCII.hexValue(bytes[base]), let b1 = ASCII.hexValue(bytes[base + 1]),
      bytes[base + 2] == ASCII.colon,
      let d0 = ASCII.hexValue(bytes[base + 3]), let d1 = ASCII.hexValue(bytes[base + 4]),
      bytes[base + 5] == ASCII.dot,
      let function = ASCII.hexValue(bytes[base + 6]), function < 8
    else { continue }
    let after = base + 7
    guard after == end || bytes[after] == ASCII.space else { continue }
    let device = d0 << 4 | d1
    guard device < 32 else { continue }
    var domain: UInt32 = 0
    if domainDigits > 0 {
      for index in start..<(start + domainDigits) {
        domain = domain << 4 | UInt32(ASCII.hexValue(bytes[index]) ?? 0)
      }
    }
    return (BDF(domain: domain, bus: b0 << 4 | b1, device: device, function: function), after)
  }
  return nil
}

/// For a line that `parseHeaderAddress` refused: when it is shaped like a function header
/// (`[DOMAIN:]BUS:DEV.FN` in hex, then a space or the end) but a number is out of range (bus
/// over ff, device over 1f, function over 7, domain over ffff), says what is wrong; nil for any
/// other line. Such a line must not pass unnoticed: `lspci -F` would reject the whole file.
func invalidHeaderAddress(_ bytes: [UInt8], _ line: TextLine) -> String? {
  var runs: [(value: UInt64, digits: Int)] = []
  var separators: [UInt8] = []
  var index = line.start
  while index < line.end, runs.count < 4 {
    let run = bytes.hexNumber(at: index, end: line.end, maxDigits: 16)
    guard let run else { return nil }
    runs.append((run.value, run.next - index))
    index = run.next
    guard index < line.end, bytes[index] != ASCII.space else { break }
    guard bytes[index] == ASCII.colon || bytes[index] == ASCII.dot else { return nil }
    separators.append(bytes[index])
    index += 1
  }
  guard index == line.end || bytes[index] == ASCII.space else { return nil }
  let parts: (domain: UInt64?, bus: UInt64, device: UInt64, function: UInt64)
  switch (runs.count, separators) {
  case (3, [ASCII.colon, ASCII.dot]): parts = (nil, runs[0].value, runs[1].value, runs[2].value)
  case (4, [ASCII.colon, ASCII.colon, ASCII.dot]): parts = (runs[0].value, runs[1].value, runs[2].value, runs[3].value)
  default: return nil
  }
  let text = bytes.text(line.start, index)
  var problems: [String] = []
  if let domain = parts.domain, domain > 0xffff_ffff { problems.append("domain over ffffffff") }
  if parts.bus > 0xff { problems.append("bus over ff") }
  if parts.device > 0x1f { problems.append("device over 1f") }
  if parts.function > 7 { problems.append("function over 7") }
  if problems.isEmpty { problems.append("not in lspci's BB:DD.F or DDDD:BB:DD.F form") }
  return "\"\(text)\" is not a valid PCI function address (\(problems.joined(separator: ", ")))"
}
