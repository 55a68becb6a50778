/// The one JSON encoder of every `--format json` output (issue 8 item 4).
///
/// It writes an `Encodable` value straight to a sink while `encode(to:)` runs, without building
/// a tree first, so a simulate report with millions of sg entries streams in constant memory.
/// Object members come out in the order `encode(to:)` encodes them (a synthesized conformance
/// encodes properties in declaration order): output types declare their properties in the
/// order the documented schema has, which makes that order explicit and stable.
///
/// Differences from Foundation's `JSONEncoder` that the documented schemas need:
/// - an optional that is nil is written as `null` (`encodeIfPresent` does not drop the key);
///   a type that omits a key when a value is absent says so in its own `encode(to:)`;
/// - three layouts (see `Layout`), matching the texts the commands printed before;
/// - a value conforming to `JSONDirectWritable` writes its own compact text (sg entries).
public struct JSONOutputEncoder: Sendable {
  /// Where whitespace goes.
  public enum Layout: Sendable {
    /// No whitespace at all (`simulate`, the `"kernel"` object of `matrix`).
    case compact
    /// One member or element per line, two spaces of indent per level and `"key" : value`
    /// (`tree`, `explain`, `kernels`, `buffers`, `scenarios`; JSONSerialization's pretty form).
    /// An empty container is written as an opening line, an empty line and the closer.
    case pretty
    /// The top-level object's members one per line (`"key": value`); a top-level member that is
    /// an array of objects has one object per line; everything deeper on one line with `", "`
    /// between items (`matrix`).
    case lines
  }

  public var layout: Layout
  /// Writes `/` as `\/` (the `scenarios` output always did).
  public var escapesSlashes: Bool

  public init(layout: Layout = .compact, escapesSlashes: Bool = false) {
    self.layout = layout
    self.escapesSlashes = escapesSlashes
  }

  /// The whole document as one string (no trailing newline).
  public func encode<T: Encodable>(_ value: T) throws -> String {
    var text = ""
    try encode(value) { text += $0 }
    return text
  }

  /// Streams the document to `sink` in pieces of about 64 KiB (no trailing newline).
  public func encode<T: Encodable>(_ value: T, to sink: (String) -> Void) throws {
    try withoutActuallyEscaping(sink) { sink in
      let writer = JSONStreamWriter(sink: sink, escapesSlashes: escapesSlashes)
      let encoder = StreamingJSONEncoder(
        writer: writer, parent: -1, key: nil, slot: writer.newSlot(), layout: layout, codingPath: [])
      try encoder.encodeValue(value)
      writer.closeFrames(above: -1)
      writer.output.flush()
    }
  }
}

/// A value that writes its own JSON text instead of going through containers: for the sg
/// entries of a simulate report (4,194,304 for 16 GiB of scattered pages), where the generic
/// path would cost several times the time. It must write exactly one compact JSON value, and
/// still implement `encode(to:)` for other encoders.
public protocol JSONDirectWritable: Encodable {
  func writeJSON(to output: inout JSONTextOutput)
}

/// Wraps a value that is written compact whatever the surrounding layout (the `"kernel"`
/// object of `matrix`, which was always one compact line inside the line-per-member document).
public struct CompactJSON<Value: Encodable>: Encodable {
  public var value: Value
  public init(_ value: Value) { self.value = value }

  public func encode(to encoder: any Encoder) throws {
    if var streaming = encoder as? StreamingJSONEncoder {
      streaming.layout = .compact
      try value.encode(to: streaming)
    } else {
      try value.encode(to: encoder)
    }
  }
}

/// Collects UTF-8 bytes and hands them on as text in ~64 KiB pieces; byte-level appends for
/// the hot loops.
public struct JSONTextOutput {
  let sink: (String) -> Void
  var pending: [UInt8] = []
  let escapesSlashes: Bool
  static let chunk = 64 * 1024
  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  init(sink: @escaping (String) -> Void, escapesSlashes: Bool) {
    self.sink = sink
    self.escapesSlashes = escapesSlashes
    pending.reserveCapacity(Self.chunk + 4096)
  }

  /// Appends text as it is (already JSON).
  public mutating func append(_ text: String) {
    pending.append(contentsOf: text.utf8)
    if pending.count >= Self.chunk { flush() }
  }

  /// Appends a literal without going through `String`.
  public mutating func appendASCII(_ text: StaticString) {
    text.withUTF8Buffer { pending.append(contentsOf: $0) }
    if pending.count >= Self.chunk { flush() }
  }

  /// A JSON string literal for `text` (see `jsonStringLiteral`).
  public mutating func appendString(_ text: String) {
    var literal = jsonStringLiteral(text)
    if escapesSlashes, literal.contains("/") { literal = literal.replacingOccurrences(of: "/", with: "\\/") }
    append(literal)
  }

  /// Lower-case hex without leading zeros (at least one digit).
  public mutating func appendHex(_ value: UInt64) {
    var shift = value == 0 ? 0 : (63 - value.leadingZeroBitCount) / 4 * 4
    while shift >= 0 {
      pending.append(Self.hexDigits[Int((value >> UInt64(shift)) & 0xf)])
      shift -= 4
    }
  }

  public mutating func appendDecimal(_ value: UInt64) {
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { buffer in
      repeat {
        buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
        count += 1
      } while rest > 0
      for position in stride(from: count - 1, through: 0, by: -1) { pending.append(buffer[position]) }
    }
  }

  mutating func flush() {
    guard !pending.isEmpty else { return }
    sink(String(decoding: pending, as: UTF8.self))
    pending.removeAll(keepingCapacity: true)
  }
}

/// The state shared by every encoder and container of one document: the open containers.
final class JSONStreamWriter {
  struct Frame {
    var isObject: Bool
    var layout: JSONOutputEncoder.Layout
    /// The encoder slot that opened it (a second `container(keyedBy:)` call on the same encoder
    /// continues the same object).
    var slot: Int
    var count = 0
    /// `.lines` only: this array has its elements one per line.
    var brokeLines = false
  }

  var output: JSONTextOutput
  private(set) var frames: [Frame] = []
  private var slots = 0

  init(sink: @escaping (String) -> Void, escapesSlashes: Bool) {
    output = JSONTextOutput(sink: sink, escapesSlashes: escapesSlashes)
  }

  func newSlot() -> Int {
    slots += 1
    return slots
  }

  /// Closes the containers nested deeper than frame `index` (values encoded into them ended).
  func closeFrames(above index: Int) {
    while frames.count - 1 > index {
      let frame = frames.removeLast()
      let depth = frames.count
      switch frame.layout {
      case .compact:
        output.appendASCII(frame.isObject ? "}" : "]")
      case .pretty:
        output.append("\n" + String(repeating: "  ", count: depth))
        output.appendASCII(frame.isObject ? "}" : "]")
      case .lines:
        if depth == 0 && frame.count > 0 {
          output.appendASCII(frame.isObject ? "\n}" : "\n]")
        } else if frame.brokeLines {
          output.appendASCII(frame.isObject ? "\n  }" : "\n  ]")
        } else {
          output.appendASCII(frame.isObject ? "}" : "]")
        }
      }
    }
  }

  /// Writes what comes before a value inside frame `parent` (-1: the document): the separator,
  /// line break and indent of the parent's layout, and the key.
  func beginValue(parent: Int, key: String?, isContainer: Bool) {
    closeFrames(above: parent)
    guard parent >= 0 else { return }
    let frame = frames[parent]
    let first = frame.count == 0
    frames[parent].count += 1
    switch frame.layout {
    case .compact:
      if !first { output.appendASCII(",") }
      if let key {
        output.appendString(key)
        output.appendASCII(":")
      }
    case .pretty:
      if !first { output.appendASCII(",\n") }
      output.append(String(repeating: "  ", count: parent + 1))
      if let key {
        output.appendString(key)
        output.appendASCII(" : ")
      }
    case .lines:
      if parent == 0 || (parent == 1 && frame.brokeLines) || (parent == 1 && first && isContainer && !frame.isObject) {
        if parent == 1 { frames[parent].brokeLines = true }
        output.appendASCII(first ? "\n" : ",\n")
        output.append(String(repeating: "  ", count: parent + 1))
      } else if !first {
        output.appendASCII(", ")
      }
      if let key {
        output.appendString(key)
        output.appendASCII(": ")
      }
    }
  }

  /// Opens an object or array for the encoder in `slot`, or returns the one it already opened.
  func open(isObject: Bool, parent: Int, key: String?, slot: Int, layout: JSONOutputEncoder.Layout) -> Int {
    if let existing = frames.lastIndex(where: { $0.slot == slot }) {
      closeFrames(above: existing)
      return existing
    }
    beginValue(parent: parent, key: key, isContainer: true)
    output.appendASCII(isObject ? "{" : "[")
    if layout == .pretty { output.appendASCII("\n") }
    frames.append(Frame(isObject: isObject, layout: layout, slot: slot))
    return frames.count - 1
  }
}

/// The `Encoder` for one value slot of the document.
struct StreamingJSONEncoder: Encoder {
  let writer: JSONStreamWriter
  /// Frame of the enclosing container, -1 for the document itself.
  let parent: Int
  let key: String?
  let slot: Int
  var layout: JSONOutputEncoder.Layout
  var codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(
    writer: JSONStreamWriter, parent: Int, key: String?, slot: Int, layout: JSONOutputEncoder.Layout,
    codingPath: [any CodingKey]
  ) {
    self.writer = writer
    self.parent = parent
    self.key = key
    self.slot = slot
    self.layout = layout
    self.codingPath = codingPath
  }

  /// Encodes `value` here and closes whatever containers it opened.
  func encodeValue<T: Encodable>(_ value: T) throws {
    if let direct = value as? any JSONDirectWritable {
      writer.beginValue(parent: parent, key: key, isContainer: true)
      direct.writeJSON(to: &writer.output)
    } else {
      try value.encode(to: self)
    }
    writer.closeFrames(above: parent)
  }

  /// The encoder of a member or element of the container in `frame`.
  func child(frame: Int, key: String?, codingKey: any CodingKey) -> StreamingJSONEncoder {
    StreamingJSONEncoder(
      writer: writer, parent: frame, key: key, slot: writer.newSlot(), layout: writer.frames[frame].layout,
      codingPath: codingPath + [codingKey])
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    let frame = writer.open(isObject: true, parent: parent, key: key, slot: slot, layout: layout)
    return KeyedEncodingContainer(StreamingKeyedContainer<Key>(encoder: self, frame: frame))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    let frame = writer.open(isObject: false, parent: parent, key: key, slot: slot, layout: layout)
    return StreamingUnkeyedContainer(encoder: self, frame: frame)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    StreamingSingleValueContainer(encoder: self)
  }

  /// Writes one scalar (already JSON text) in this slot.
  func writeScalar(_ text: String) {
    writer.beginValue(parent: parent, key: key, isContainer: false)
    writer.output.append(text)
  }

  func writeString(_ text: String) {
    writer.beginValue(parent: parent, key: key, isContainer: false)
    writer.output.appendString(text)
  }
}

/// An index as a coding key, for unkeyed containers' coding paths.
struct JSONIndexKey: CodingKey {
  var stringValue: String { "\(index)" }
  var intValue: Int? { index }
  let index: Int
  init(index: Int) { self.index = index }
  init?(stringValue: String) { nil }
  init?(intValue: Int) { index = intValue }
}

struct StreamingKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let encoder: StreamingJSONEncoder
  let frame: Int
  var codingPath: [any CodingKey] { encoder.codingPath }

  func member(_ key: Key) -> StreamingJSONEncoder { encoder.child(frame: frame, key: key.stringValue, codingKey: key) }

  mutating func encodeNil(forKey key: Key) throws { member(key).writeScalar("null") }
  mutating func encode(_ value: Bool, forKey key: Key) throws { member(key).writeScalar(value ? "true" : "false") }
  mutating func encode(_ value: String, forKey key: Key) throws { member(key).writeString(value) }
  mutating func encode(_ value: Int, forKey key: Key) throws { member(key).writeScalar(String(value)) }
  mutating func encode(_ value: UInt64, forKey key: Key) throws { member(key).writeScalar(String(value)) }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try member(key).encodeValue(value) }

  // A nil optional is `null`, not a missing key (the documented schemas have the key).
  mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
    if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
  }
  mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
    if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
  }
  mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
    if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
  }
  mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
    if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
  }
  mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
    if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    member(key).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    member(key).unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder { member(Key(stringValue: "super")!) }
  mutating func superEncoder(forKey key: Key) -> any Encoder { member(key) }
}

struct StreamingUnkeyedContainer: UnkeyedEncodingContainer {
  let encoder: StreamingJSONEncoder
  let frame: Int
  private(set) var count = 0
  var codingPath: [any CodingKey] { encoder.codingPath }

  init(encoder: StreamingJSONEncoder, frame: Int) {
    self.encoder = encoder
    self.frame = frame
  }

  mutating func element() -> StreamingJSONEncoder {
    defer { count += 1 }
    return encoder.child(frame: frame, key: nil, codingKey: JSONIndexKey(index: count))
  }

  mutating func encodeNil() throws { element().writeScalar("null") }
  mutating func encode(_ value: Bool) throws { element().writeScalar(value ? "true" : "false") }
  mutating func encode(_ value: String) throws { element().writeString(value) }
  mutating func encode(_ value: Int) throws { element().writeScalar(String(value)) }
  mutating func encode(_ value: UInt64) throws { element().writeScalar(String(value)) }
  mutating func encode<T: Encodable>(_ value: T) throws { try element().encodeValue(value) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
    NestedKey
  > {
    element().container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { element().unkeyedContainer() }
  mutating func superEncoder() -> any Encoder { element() }
}

struct StreamingSingleValueContainer: SingleValueEncodingContainer {
  let encoder: StreamingJSONEncoder
  var codingPath: [any CodingKey] { encoder.codingPath }

  mutating func encodeNil() throws { encoder.writeScalar("null") }
  mutating func encode(_ value: Bool) throws { encoder.writeScalar(value ? "true" : "false") }
  mutating func encode(_ value: String) throws { encoder.writeString(value) }
  mutating func encode(_ value: Double) throws { encoder.writeScalar(try Self.number(value, codingPath)) }
  mutating func encode(_ value: Float) throws { encoder.writeScalar(try Self.number(Double(value), codingPath)) }
  mutating func encode(_ value: Int) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: Int8) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: Int16) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: Int32) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: Int64) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: UInt) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: UInt8) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: UInt16) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: UInt32) throws { encoder.writeScalar(String(value)) }
  mutating func encode(_ value: UInt64) throws { encoder.writeScalar(String(value)) }
  mutating func encode<T: Encodable>(_ value: T) throws { try value.encode(to: encoder) }

  /// No output has fractions today; a non-finite value has no JSON form.
  static func number(_ value: Double, _ codingPath: [any CodingKey]) throws -> String {
    guard value.isFinite else {
      throw EncodingError.invalidValue(
        value, EncodingError.Context(codingPath: codingPath, debugDescription: "\(value) has no JSON form"))
    }
    return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
  }
}
