/// The `"kernel"` object of the `matrix`, `explain` and `simulate` JSON: release,
/// CONFIG_DMABUF_MOVE_NOTIFY, where the release came from, notes, and the UNCONFIRMED changes
/// the answers may depend on.
struct KernelJSON: Encodable {
  var dmabuf_move_notify: Bool
  var notes: [String]
  var release: String
  var source: String
  var unconfirmed: [String]
}

/// The `kernels --format json` document (README: Kernel releases), keys alphabetical as they
/// always were. `kernel` and `p2pdma_dmesg` (and each change's `in_release`) only with
/// `--kernel`.
struct KernelsJSON: Encodable {
  struct Change: Encodable {
    var area: String
    var change: String
    var confirmed: Bool
    var id: String
    var in_release: String?
    var note: String?
    var release: String
    var source: String

    enum CodingKeys: String, CodingKey { case area, change, confirmed, id, in_release, note, release, source }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(area, forKey: .area)
      try container.encode(change, forKey: .change)
      try container.encode(confirmed, forKey: .confirmed)
      try container.encode(id, forKey: .id)
      if let in_release { try container.encode(in_release, forKey: .in_release) }
      try container.encodeIfPresent(note, forKey: .note)
      try container.encode(release, forKey: .release)
      try container.encode(source, forKey: .source)
    }
  }

  var changes: [Change]
  var kernel: String?
  var p2pdma_dmesg: [String]?

  enum CodingKeys: String, CodingKey { case changes, kernel, p2pdma_dmesg }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(changes, forKey: .changes)
    if let kernel { try container.encode(kernel, forKey: .kernel) }
    if let p2pdma_dmesg { try container.encode(p2pdma_dmesg, forKey: .p2pdma_dmesg) }
  }
}
