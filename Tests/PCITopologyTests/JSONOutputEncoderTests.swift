import Foundation
import PCITopology
import Testing

/// The one JSON encoder of the command outputs: layouts, null handling, escaping, and the
/// streaming hooks the outputs rely on (`JSONGoldenTests` pins the documents themselves).
@Suite struct JSONOutputEncoderTests {
  struct Inner: Encodable {
    var name: String
    var size: UInt64?
  }

  struct Document: Encodable {
    var title: String
    var count: Int
    var flag: Bool
    var missing: String?
    var items: [Inner]
    var tags: [String]
    var empty: [Int]
  }

  static let document = Document(
    title: "a/b", count: 3, flag: true, missing: nil,
    items: [Inner(name: "x", size: 1 << 40), Inner(name: "y", size: nil)], tags: ["p", "q"], empty: [])

  @Test func compactKeepsDeclarationOrderAndWritesNilAsNull() throws {
    let text = try JSONOutputEncoder(layout: .compact).encode(Self.document)
    #expect(
      text
        == #"{"title":"a/b","count":3,"flag":true,"missing":null,"items":[{"name":"x","size":1099511627776},{"name":"y","size":null}],"tags":["p","q"],"empty":[]}"#
    )
  }

  @Test func prettyIsJSONSerializationsForm() throws {
    let text = try JSONOutputEncoder(layout: .pretty).encode(Inner(name: "x", size: nil))
    #expect(text == "{\n  \"name\" : \"x\",\n  \"size\" : null\n}")
    // An empty container: opening line, empty line, closer at the container's indent.
    let empty = try JSONOutputEncoder(layout: .pretty).encode(["list": [Int]()])
    #expect(empty == "{\n  \"list\" : [\n\n  ]\n}")
  }

  @Test func linesBreaksTopLevelMembersAndArraysOfObjects() throws {
    let text = try JSONOutputEncoder(layout: .lines).encode(Self.document)
    #expect(
      text == """
        {
          "title": "a/b",
          "count": 3,
          "flag": true,
          "missing": null,
          "items": [
            {"name": "x", "size": 1099511627776},
            {"name": "y", "size": null}
          ],
          "tags": ["p", "q"],
          "empty": []
        }
        """)
  }

  @Test func compactWrapperInsideLines() throws {
    struct Outer: Encodable {
      var kernel: CompactJSON<Inner>
      var after: Int
    }
    let text = try JSONOutputEncoder(layout: .lines).encode(
      Outer(kernel: CompactJSON(Inner(name: "k", size: 1)), after: 2))
    #expect(text == "{\n  \"kernel\": {\"name\":\"k\",\"size\":1},\n  \"after\": 2\n}")
  }

  @Test func escapesLikeTheOtherWriters() throws {
    let text = try JSONOutputEncoder().encode(["s": "q\"b\\n\n\t\u{1}\u{1b}/"])
    #expect(text == #"{"s":"q\"b\\n\n\t\u0001\u001b/"}"#)
    let slashes = try JSONOutputEncoder(escapesSlashes: true).encode(["s": "a/b"])
    #expect(slashes == #"{"s":"a\/b"}"#)
  }

  /// A second `container(keyedBy:)` on the same encoder continues the object (simulate puts the
  /// `"kernel"` member in front of the report's members this way).
  @Test func flatteningContinuesTheSameObject() throws {
    struct Front: Encodable {
      var inner: Inner
      enum CodingKeys: String, CodingKey { case kernel }
      func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("k", forKey: .kernel)
        try inner.encode(to: encoder)
      }
    }
    let text = try JSONOutputEncoder().encode(Front(inner: Inner(name: "x", size: 2)))
    #expect(text == #"{"kernel":"k","name":"x","size":2}"#)
  }

  @Test func nestedContainersCloseInOrder() throws {
    struct Nested: Encodable {
      enum Keys: String, CodingKey { case a, b, c }
      func encode(to encoder: any Encoder) throws {
        var top = encoder.container(keyedBy: Keys.self)
        var inner = top.nestedContainer(keyedBy: Keys.self, forKey: .a)
        try inner.encode(1, forKey: .b)
        var list = top.nestedUnkeyedContainer(forKey: .b)
        try list.encode(2)
        try list.encode(3)
        try top.encode(4, forKey: .c)
      }
    }
    #expect(try JSONOutputEncoder().encode(Nested()) == #"{"a":{"b":1},"b":[2,3],"c":4}"#)
  }

  struct Direct: JSONDirectWritable {
    var values: [UInt64]
    func encode(to encoder: any Encoder) throws {
      var container = encoder.unkeyedContainer()
      for value in values { try container.encode(value) }
    }
    func writeJSON(to output: inout JSONTextOutput) {
      output.appendASCII("[")
      for (position, value) in values.enumerated() {
        if position > 0 { output.appendASCII(",") }
        output.appendDecimal(value)
      }
      output.appendASCII("]")
    }
  }

  /// The direct path writes the same text the container path would (checked through
  /// Foundation's encoder, which never uses it).
  @Test func directWritersMatchTheirEncodableForm() throws {
    let value = ["entries": Direct(values: [0, 7, UInt64.max])]
    let direct = try JSONOutputEncoder().encode(value)
    #expect(direct == #"{"entries":[0,7,18446744073709551615]}"#)
    let foundation = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    #expect(foundation == direct)
  }

  @Test func streamsInBoundedChunks() throws {
    var chunks: [String] = []
    try JSONOutputEncoder().encode(Direct(values: Array(0..<100_000))) { chunks.append($0) }
    #expect(chunks.count > 5)
    #expect(chunks.allSatisfy { $0.utf8.count < 128 * 1024 })
    let numbers = try JSONSerialization.jsonObject(with: Data(chunks.joined().utf8)) as? [Int]
    #expect(numbers?.count == 100_000)
    #expect(numbers?.last == 99_999)
  }

  @Test func nonFiniteNumbersAreAnErrorNotText() throws {
    #expect(throws: EncodingError.self) { try JSONOutputEncoder().encode(["x": Double.nan]) }
    #expect(try JSONOutputEncoder().encode(["x": 2.5]) == #"{"x":2.5}"#)
  }
}
