/// Reads one JSON object of a scenario file, key by key, remembering the field path
/// (`devices[3].bars[0]`) so every complaint names the exact place, and refusing keys nobody
/// asked for, so a typo like `prefetchible` is an error instead of a silently ignored field.
struct ScenarioObject {
  let path: String
  /// Field path of this object, empty for the document root.
  let fieldPath: String
  let line: Int
  private let members: [(key: String, value: JSONValue)]
  /// Every key the reader asked for, present or not: the object's vocabulary.
  private var consumed = Set<String>()

  init(_ value: JSONValue, path: String, fieldPath: String) throws(TopologyError) {
    guard case .object(let members) = value.kind else {
      throw ScenarioObject.failure(
        path: path, field: fieldPath.isEmpty ? "(document)" : fieldPath, line: value.line,
        "expected an object { ... }, got \(value.typeDescription)")
    }
    self.path = path
    self.fieldPath = fieldPath
    self.line = value.line
    self.members = members
  }

  static func failure(path: String, field: String, line: Int?, _ message: String) -> TopologyError {
    let suffix = line.map { " (line \($0))" } ?? ""
    return .invalidScenario(path: path, field: field, message: message + suffix)
  }

  /// The field path of a key inside this object.
  func field(_ key: String) -> String {
    let safeKey = JSONValue.printable(key)
    return fieldPath.isEmpty ? safeKey : "\(fieldPath).\(safeKey)"
  }

  /// A failure about `key`, on the line of its value when the key is present (the line a user
  /// must edit), else on the object's line.
  func failure(_ key: String, _ message: String, line: Int? = nil) -> TopologyError {
    let keyLine = members.first(where: { $0.key == key })?.value.line
    return Self.failure(path: path, field: field(key), line: line ?? keyLine ?? self.line, message)
  }

  mutating func value(_ key: String) -> JSONValue? {
    consumed.insert(key)
    guard let member = members.first(where: { $0.key == key }) else { return nil }
    // An explicit null means "not given": convenient for generated files.
    if case .null = member.value.kind { return nil }
    return member.value
  }

  // MARK: Typed readers

  mutating func string(_ key: String) throws(TopologyError) -> String? {
    guard let value = value(key) else { return nil }
    guard case .string(let text) = value.kind else {
      throw failure(key, "expected a string, got \(value.typeDescription)", line: value.line)
    }
    return text
  }

  mutating func requiredString(_ key: String) throws(TopologyError) -> String {
    guard let text = try string(key) else { throw failure(key, "missing; expected a string") }
    return text
  }

  mutating func bool(_ key: String) throws(TopologyError) -> Bool? {
    guard let value = value(key) else { return nil }
    guard case .bool(let flag) = value.kind else {
      throw failure(key, "expected true or false, got \(value.typeDescription)", line: value.line)
    }
    return flag
  }

  /// An integer given as a JSON number or as a string (`"0x1a"` hex, `"26"` decimal).
  mutating func integer(_ key: String, range: ClosedRange<Int64>, what: String) throws(TopologyError) -> Int64? {
    guard let value = value(key) else { return nil }
    let parsed: Int64?
    switch value.kind {
    case .number(let text): parsed = Int64(text)
    case .string(let text): parsed = ScenarioNumbers.parseInteger(text)
    default:
      throw failure(key, "expected \(what), got \(value.typeDescription)", line: value.line)
    }
    guard let parsed else {
      throw failure(key, "expected \(what), got \(value.typeDescription)", line: value.line)
    }
    guard range.contains(parsed) else {
      throw failure(
        key, "\(parsed) is out of range; expected \(what) between \(range.lowerBound) and \(range.upperBound)",
        line: value.line)
    }
    return parsed
  }

  /// A hexadecimal ID given as a string (`"1002"`, `"0x1002"`) of at most `maxDigits` digits.
  mutating func hexID(_ key: String, maxDigits: Int, what: String) throws(TopologyError) -> UInt32? {
    guard let value = value(key) else { return nil }
    guard case .string(let text) = value.kind, let parsed = ScenarioNumbers.parseHex(text, maxDigits: maxDigits)
    else {
      throw failure(
        key,
        "expected \(what) as a hex string of up to \(maxDigits) digits like \"\(String(repeating: "f", count: maxDigits))\", got \(value.typeDescription)",
        line: value.line)
    }
    return parsed
  }

  /// A byte count: a JSON number, or a string with an optional K/M/G/T suffix (powers of 1024)
  /// or a `0x` hex value. Zero and values above 2^63 are refused unless `allowZero`.
  mutating func size(_ key: String, allowZero: Bool = false) throws(TopologyError) -> UInt64? {
    guard let value = value(key) else { return nil }
    let expected = "a size in bytes like 268435456, \"256M\" or \"16G\""
    let parsed: UInt64?
    switch value.kind {
    case .number(let text): parsed = UInt64(text)
    case .string(let text): parsed = ScenarioNumbers.parseSize(text)
    default: throw failure(key, "expected \(expected), got \(value.typeDescription)", line: value.line)
    }
    guard let parsed else {
      throw failure(key, "expected \(expected), got \(value.typeDescription)", line: value.line)
    }
    if parsed == 0 && !allowZero {
      throw failure(key, "size 0 is not a size; expected at least 1 byte", line: value.line)
    }
    guard parsed <= 1 << 63 else {
      throw failure(key, "\(parsed) bytes is larger than 2^63; no PCI device has that much", line: value.line)
    }
    return parsed
  }

  /// A 64-bit address given as a hex string (`"0xfc00000000"`) or a JSON number.
  mutating func address(_ key: String) throws(TopologyError) -> UInt64? {
    guard let value = value(key) else { return nil }
    let parsed: UInt64?
    switch value.kind {
    case .number(let text): parsed = UInt64(text)
    case .string(let text): parsed = ScenarioNumbers.parseHex64(text)
    default: parsed = nil
    }
    guard let parsed else {
      throw failure(
        key, "expected an address as a hex string like \"0xfc00000000\", got \(value.typeDescription)", line: value.line
      )
    }
    return parsed
  }

  mutating func array(_ key: String) throws(TopologyError) -> [JSONValue]? {
    guard let value = value(key) else { return nil }
    guard case .array(let elements) = value.kind else {
      throw failure(key, "expected a list [ ... ], got \(value.typeDescription)", line: value.line)
    }
    return elements
  }

  mutating func object(_ key: String) throws(TopologyError) -> ScenarioObject? {
    guard let value = value(key) else { return nil }
    return try ScenarioObject(value, path: path, fieldPath: field(key))
  }

  /// One of a fixed set of words.
  mutating func choice(_ key: String, from words: [String]) throws(TopologyError) -> String? {
    guard let value = value(key) else { return nil }
    guard case .string(let text) = value.kind, words.contains(text) else {
      throw failure(
        key, "expected one of \(words.map { "\"\($0)\"" }.joined(separator: ", ")), got \(value.typeDescription)",
        line: value.line)
    }
    return text
  }

  /// Call after reading every known key: any key left over is a typo or an unsupported field.
  func rejectUnknownKeys() throws(TopologyError) {
    for member in members where !consumed.contains(member.key) {
      let known = consumed.sorted()
      var message = "unknown key"
      if let suggestion = ScenarioNumbers.closest(to: member.key, among: Array(consumed)) {
        message += "; did you mean \"\(suggestion)\"?"
      } else if !known.isEmpty {
        message += " (this object understands: \(known.joined(separator: ", ")))"
      }
      throw failure(member.key, message, line: member.value.line)
    }
  }

}

/// Number and size syntax shared by the scenario reader and writer.
public enum ScenarioNumbers {
  /// `"0x1a"`, `"1A"` style hex of at most `maxDigits` digits (prefix optional).
  public static func parseHex(_ text: String, maxDigits: Int) -> UInt32? {
    var digits = Substring(text.trimmingSpaces)
    if digits.lowercased().hasPrefix("0x") { digits = digits.dropFirst(2) }
    guard maxDigits <= 8 else { return nil }
    return UInt32(hexDigits: digits, maxLength: maxDigits)
  }

  static func parseHex64(_ text: String) -> UInt64? {
    var digits = Substring(text.trimmingSpaces)
    guard digits.lowercased().hasPrefix("0x") else { return UInt64(hexDigits: digits, maxLength: 16) }
    digits = digits.dropFirst(2)
    return UInt64(hexDigits: digits, maxLength: 16)
  }

  /// `"0x1a"` as hex, otherwise decimal with an optional minus sign.
  public static func parseInteger(_ text: String) -> Int64? {
    let trimmed = text.trimmingSpaces
    let negative = trimmed.hasPrefix("-")
    let body = negative ? String(trimmed.dropFirst()) : trimmed
    let magnitude: UInt64?
    if body.lowercased().hasPrefix("0x") {
      magnitude = UInt64(hexDigits: body.dropFirst(2), maxLength: 16)
    } else {
      magnitude = UInt64(body)
    }
    guard let magnitude else { return nil }
    if negative {
      guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
      return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
    }
    guard magnitude <= UInt64(Int64.max) else { return nil }
    return Int64(magnitude)
  }

  /// `"256M"`, `"16G"`, `"16GiB"`, `"4096"`, `"0x10000000"`; suffixes are powers of 1024.
  public static func parseSize(_ text: String) -> UInt64? {
    let trimmed = text.trimmingSpaces
    if trimmed.lowercased().hasPrefix("0x") { return UInt64(hexDigits: trimmed.dropFirst(2), maxLength: 16) }
    var number = Substring(trimmed)
    var shift: UInt64 = 0
    for (suffixes, bits) in [
      (["KiB", "K", "KB"], 10), (["MiB", "M", "MB"], 20), (["GiB", "G", "GB"], 30), (["TiB", "T", "TB"], 40),
    ] as [([String], UInt64)] {
      if let suffix = suffixes.first(where: { trimmed.uppercased().hasSuffix($0.uppercased()) }) {
        number = number.dropLast(suffix.count)
        shift = bits
        break
      }
    }
    number = Substring(String(number).trimmingSpaces)
    guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(number) else {
      return nil
    }
    let (scaled, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
    return overflow ? nil : scaled
  }

  /// `256M`-style text for a size when it is an exact multiple, else the byte count.
  public static func formatSize(_ size: UInt64) -> String {
    for (suffix, bits) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] as [(String, UInt64)] {
      let unit: UInt64 = 1 << bits
      if size >= unit, size % unit == 0 { return "\(size / unit)\(suffix)" }
    }
    return "\(size)"
  }

  /// The known word within edit distance 2 of a misspelt key, for "did you mean".
  static func closest(to word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }), best.1 <= 2 else {
      return nil
    }
    return best.0
  }

  static func editDistance(_ left: String, _ right: String) -> Int {
    let a = Array(left.utf8.prefix(64))
    let b = Array(right.utf8.prefix(64))
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var row = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      row[0] = i
      for j in 1...b.count {
        row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      swap(&previous, &row)
    }
    return previous[b.count]
  }
}

extension String {
  var trimmingSpaces: String {
    var scalars = Substring(self)
    while scalars.first == " " || scalars.first == "\t" { scalars = scalars.dropFirst() }
    while scalars.last == " " || scalars.last == "\t" { scalars = scalars.dropLast() }
    return String(scalars)
  }
}
