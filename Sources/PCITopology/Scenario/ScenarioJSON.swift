/// A parsed JSON value that remembers the line it started on, so scenario errors can point at
/// the line as well as the field path.
///
/// We parse JSON ourselves instead of using `JSONSerialization` because we need three things it
/// does not give: the line of every value, the exact text of every number (so `2^64` is reported
/// as too large instead of being rounded to a `Double`), and booleans kept apart from numbers.
public struct JSONValue: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// Keys in file order; duplicates are rejected by the parser.
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number exactly as written in the file.
    case number(String)
    case bool(Bool)
    case null

    public static func == (lhs: Kind, rhs: Kind) -> Bool {
      switch (lhs, rhs) {
      case (.object(let left), .object(let right)):
        return left.count == right.count
          && zip(left, right).allSatisfy { $0.key == $1.key && $0.value == $1.value }
      case (.array(let left), .array(let right)): return left == right
      case (.string(let left), .string(let right)): return left == right
      case (.number(let left), .number(let right)): return left == right
      case (.bool(let left), .bool(let right)): return left == right
      case (.null, .null): return true
      default: return false
      }
    }
  }

  public var kind: Kind
  /// 1-based line where the value starts.
  public var line: Int

  public init(_ kind: Kind, line: Int) {
    self.kind = kind
    self.line = line
  }

  /// Text from the file made safe for a one-line message: control characters escaped, long
  /// text cut with an ellipsis.
  public static func printable(_ text: String, limit: Int = 60) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
      if count == limit {
        out += "…"
        break
      }
      switch scalar {
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      case _
      where scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value)
        || scalar.value == 0x2028 || scalar.value == 0x2029:
        out += "\\u" + hex(scalar.value, width: 4)
      default: out.unicodeScalars.append(scalar)
      }
      count += 1
    }
    return out
  }

  /// Words for "expected X, got <this>" messages.
  public var typeDescription: String {
    switch kind {
    case .object: return "an object"
    case .array: return "a list"
    case .string(let text): return "the string \"\(JSONValue.printable(text, limit: 40))\""
    case .number(let text): return "the number \(text)"
    case .bool(let value): return value ? "true" : "false"
    case .null: return "null"
    }
  }
}

/// A JSON syntax error with the position where parsing stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable {
  public var line: Int
  public var column: Int
  public var message: String
}

/// A small strict JSON parser (RFC 8259) over UTF-8 bytes. It never traps: nesting depth is
/// bounded so hostile input cannot overflow the stack, and every index is checked.
public struct JSONParser {
  /// Deeper documents are refused; scenario files need five levels.
  public static let maximumDepth = 64

  private let bytes: [UInt8]
  private var position = 0
  private var line = 1
  private var lineStart = 0
  /// Line where the last complete value ended: a missing comma is reported there, where the
  /// person has to type it, rather than on the next line where the parser noticed.
  private var lastValueEndLine = 1

  public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    // A UTF-8 byte order mark is harmless; editors on some systems add it.
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
      parser.position = 3
      parser.lineStart = 3
    }
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    guard parser.position == bytes.count else {
      throw parser.error("unexpected text after the end of the JSON document")
    }
    return value
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private func error(_ message: String) -> JSONSyntaxError {
    JSONSyntaxError(line: line, column: position - lineStart + 1, message: message)
  }

  /// An error after a complete value, placed on the line where that value ended (column 0) when
  /// the parser noticed it on a later line.
  private func missingCommaError(_ message: String) -> JSONSyntaxError {
    var failure = error(message)
    if failure.line != lastValueEndLine {
      failure.line = lastValueEndLine
      failure.column = 0
    }
    return failure
  }

  private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  private mutating func skipWhitespace() {
    while let byte = current {
      switch byte {
      case 0x20, 0x09, 0x0D: position += 1
      case 0x0A:
        position += 1
        line += 1
        lineStart = position
      default: return
      }
    }
  }

  private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
    let startLine = line
    guard let byte = current else { throw error("unexpected end of file, expected a value") }
    switch byte {
    case UInt8(ascii: "{"): return JSONValue(try parseObject(depth: depth), line: startLine)
    case UInt8(ascii: "["): return JSONValue(try parseArray(depth: depth), line: startLine)
    case UInt8(ascii: "\""): return JSONValue(.string(try parseString()), line: startLine)
    case UInt8(ascii: "t"):
      try expectLiteral("true")
      return JSONValue(.bool(true), line: startLine)
    case UInt8(ascii: "f"):
      try expectLiteral("false")
      return JSONValue(.bool(false), line: startLine)
    case UInt8(ascii: "n"):
      try expectLiteral("null")
      return JSONValue(.null, line: startLine)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return JSONValue(.number(try parseNumber()), line: startLine)
    case UInt8(ascii: "'"):
      throw error("strings must use double quotes")
    default:
      throw error("unexpected character '\(Self.printable(byte))', expected a value")
    }
  }

  private static func printable(_ byte: UInt8) -> String {
    (0x21...0x7e).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + hex(byte, width: 2)
  }

  private mutating func expectLiteral(_ literal: String) throws(JSONSyntaxError) {
    for byte in literal.utf8 {
      guard current == byte else { throw error("unexpected character, expected '\(literal)'") }
      position += 1
    }
  }

  private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue.Kind {
    position += 1  // {
    var members: [(key: String, value: JSONValue)] = []
    var seen = Set<String>()
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      position += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else {
        if current == UInt8(ascii: "}") { throw error("trailing comma before '}'") }
        throw error("expected a key in double quotes")
      }
      let key = try parseString()
      guard seen.insert(key).inserted else {
        throw error("key \"\(JSONValue.printable(key))\" appears twice in one object")
      }
      skipWhitespace()
      guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(JSONValue.printable(key))\"") }
      position += 1
      skipWhitespace()
      let value = try parseValue(depth: depth + 1)
      members.append((key, value))
      lastValueEndLine = line
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "}"):
        position += 1
        return .object(members)
      case nil: throw error("unexpected end of file, expected ',' or '}'")
      default:
        throw missingCommaError(
          "expected ',' or '}' after the value of \"\(JSONValue.printable(key))\" (missing comma?)")
      }
    }
  }

  private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue.Kind {
    position += 1  // [
    var elements: [JSONValue] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      if current == UInt8(ascii: "]") { throw error("trailing comma before ']'") }
      elements.append(try parseValue(depth: depth + 1))
      lastValueEndLine = line
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "]"):
        position += 1
        return .array(elements)
      case nil: throw error("unexpected end of file, expected ',' or ']'")
      default:
        throw missingCommaError("expected ',' or ']' in a list (missing comma?)")
      }
    }
  }

  private mutating func parseString() throws(JSONSyntaxError) -> String {
    position += 1  // opening quote
    var utf8: [UInt8] = []
    while true {
      guard let byte = current else { throw error("unterminated string") }
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return String(decoding: utf8, as: UTF8.self)
      case UInt8(ascii: "\\"):
        position += 1
        guard let escape = current else { throw error("unterminated string") }
        position += 1
        switch escape {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
          var scalarValue = try parseHex4()
          if (0xD800...0xDBFF).contains(scalarValue) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard current == UInt8(ascii: "\\"), position + 1 < bytes.count,
              bytes[position + 1] == UInt8(ascii: "u")
            else { throw error("unpaired UTF-16 surrogate in \\u escape") }
            position += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid \\u escape") }
          utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
        default: throw error("invalid escape '\\\(Self.printable(escape))' in string")
        }
      case 0x0A: throw error("line break inside a string (use \\n)")
      case 0x00..<0x20: throw error("control character inside a string")
      default:
        utf8.append(byte)
        position += 1
      }
    }
  }

  private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
    guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let digit = UnicodeScalar(bytes[position]).hexDigitValue else {
        throw error("invalid hex digit in \\u escape")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  private mutating func parseNumber() throws(JSONSyntaxError) -> String {
    let start = position
    func isDigit(_ byte: UInt8?) -> Bool { byte.map { (0x30...0x39).contains($0) } ?? false }
    if current == UInt8(ascii: "-") { position += 1 }
    guard isDigit(current) else { throw error("expected a digit") }
    if current == UInt8(ascii: "0") {
      position += 1
      if isDigit(current) {
        throw error("numbers cannot have leading zeros (write hex values as strings like \"0x1a\")")
      }
    } else {
      while isDigit(current) { position += 1 }
    }
    if current == UInt8(ascii: ".") {
      position += 1
      guard isDigit(current) else { throw error("expected a digit after '.'") }
      while isDigit(current) { position += 1 }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard isDigit(current) else { throw error("expected a digit in the exponent") }
      while isDigit(current) { position += 1 }
    }
    if let byte = current, (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) {
      throw error("unexpected letter in a number (write hex values as strings like \"0x1a\")")
    }
    return String(decoding: bytes[start..<position], as: UTF8.self)
  }
}
