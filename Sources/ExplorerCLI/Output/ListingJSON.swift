// The small documents: `scenarios` and `buffers`.

/// `scenarios NAME --format json` (keys alphabetical, as they always were).
struct ScenarioDetailsJSON: Encodable {
  var description: String
  var functions: Int
  var name: String
  var platform: String
  var title: String
}

/// `scenarios --format json`.
struct ScenarioListJSON: Encodable {
  struct Entry: Encodable {
    var `default`: Bool
    var functions: Int
    var name: String
    var title: String
  }
  var scenarios: [Entry]
}

/// The `buffers --format json` document (README: Buffers), keys alphabetical as they always were.
struct BuffersJSON: Encodable {
  struct Attachment: Encodable {
    var device: String
    var function: String?
  }

  struct Buffer: Encodable {
    var attachments: [Attachment]
    var count: Int
    var exporter: String
    var exporter_function: String?
    var fences: [String]
    var flags: String
    var inode: UInt64?
    var mode: String
    var name: String?
    var size: UInt64
  }

  var buffers: [Buffer]
  var layout: String
  var source: String
  var topology: String?
}
