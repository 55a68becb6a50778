import P2PDMA
import PCITopology

/// A lesson script that cannot be used; the message names the file and the line.
public struct LessonError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(file: String, line: Int, _ message: String) {
    description = "\(file):\(line): \(message)"
  }
}

/// Reads lessons: the markdown (title and text) plus the step script `NAME.steps.json`.
///
/// Script shape (every key optional except `pages` and each page's `say`):
///
/// ```json
/// { "machine": "teaching-workstation",
///   "pages": [ { "say": "text", "highlight": "BDF",
///                "share": { "exporter": "BDF", "buffer": "name", "importers": ["BDF"] },
///                "cpu": "intel", "iommu": "on", "disable_acs_redir": ["BDF"],
///                "play_to": "kernel function", "play_to_importer": "BDF",
///                "predict_before": "kernel function",
///                "predict": { "question": "...", "choices": ["..."], "answer": 1, "why": "..." },
///                "expect": [ { "importer": "BDF", "map_type": "BUS_ADDR", "peer2peer": true, "mapped": true,
///                              "placement": "VRAM" },
///                            { "provider": "BDF", "client": "BDF", "map_type": "NOT_SUPPORTED" } ] } ] }
/// ```
/// `predict.answer` is 1-based, as the student presses it.
public enum LessonScript {
  /// The lesson's title: the markdown's first `# ` heading.
  public static func title(ofMarkdown markdown: String) -> String? {
    for line in markdown.split(separator: "\n") where line.hasPrefix("# ") {
      return String(line.dropFirst(2))
    }
    return nil
  }

  /// A lesson from its script; `resolveMachine` turns the machine name into a topology.
  public static func parse(
    _ bytes: [UInt8], name: String, file: String, markdown: String?,
    resolveMachine: (String) throws -> Topology
  ) throws(LessonError) -> Lesson {
    let root: JSONValue
    do {
      root = try JSONParser.parse(bytes)
    } catch {
      throw LessonError(file: file, line: error.line, "\(error.message) (column \(error.column))")
    }
    let fields = try object(root, file: file, what: "the script")
    try rejectUnknown(fields, allowed: ["machine", "title", "pages"], file: file)
    var machine: Topology?
    var machineName: String?
    if let value = fields.first(where: { $0.key == "machine" })?.value {
      let name = try string(value, file: file, what: "machine")
      do {
        machine = try resolveMachine(name)
      } catch {
        throw LessonError(file: file, line: value.line, "machine '\(name)': \(error)")
      }
      machineName = name
    }
    var title = markdown.flatMap(Self.title(ofMarkdown:)) ?? name
    if let value = fields.first(where: { $0.key == "title" })?.value {
      title = try string(value, file: file, what: "title")
    }
    guard let pagesValue = fields.first(where: { $0.key == "pages" })?.value,
      case .array(let pageValues) = pagesValue.kind, !pageValues.isEmpty
    else { throw LessonError(file: file, line: root.line, "'pages' must be a non-empty array") }
    var pages: [LessonPage] = []
    for value in pageValues { pages.append(try page(value, file: file, machine: machine)) }
    return Lesson(name: name, title: title, source: file, machine: machine, machineName: machineName, pages: pages)
  }

  /// A lesson without a script: its markdown paragraphs as pages (text only).
  public static func textOnly(markdown: String, name: String, file: String) -> Lesson {
    var pages: [LessonPage] = []
    var paragraph: [String] = []
    func flush() {
      let text = paragraph.joined(separator: "\n").trimmingWhitespace()
      if !text.isEmpty { pages.append(LessonPage(text: text)) }
      paragraph = []
    }
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("# ") { continue }
      if String(line).trimmingWhitespace().isEmpty { flush() } else { paragraph.append(String(line)) }
    }
    flush()
    if pages.isEmpty { pages = [LessonPage(text: "(empty lesson)")] }
    return Lesson(name: name, title: title(ofMarkdown: markdown) ?? name, source: file, pages: pages)
  }

  // MARK: Pages

  private static func page(_ value: JSONValue, file: String, machine: Topology?) throws(LessonError) -> LessonPage {
    let fields = try object(value, file: file, what: "a page")
    try rejectUnknown(
      fields,
      allowed: [
        "say", "highlight", "share", "cpu", "iommu", "disable_acs_redir", "play_to", "play_to_importer",
        "predict_before", "predict",
        "expect",
      ], file: file)
    func field(_ key: String) -> JSONValue? { fields.first { $0.key == key }?.value }
    guard let say = field("say") else { throw LessonError(file: file, line: value.line, "a page needs 'say'") }
    var page = LessonPage(text: try string(say, file: file, what: "say"), line: value.line)
    if let highlight = field("highlight") { page.highlight = try bdf(highlight, file: file, machine: machine) }
    if let share = field("share") {
      let shareFields = try object(share, file: file, what: "share")
      try rejectUnknown(shareFields, allowed: ["exporter", "buffer", "importers"], file: file)
      guard let exporter = shareFields.first(where: { $0.key == "exporter" })?.value,
        let importers = shareFields.first(where: { $0.key == "importers" })?.value,
        case .array(let importerValues) = importers.kind, !importerValues.isEmpty
      else { throw LessonError(file: file, line: share.line, "'share' needs 'exporter' and a non-empty 'importers'") }
      var importerBDFs: [BDF] = []
      for importer in importerValues { importerBDFs.append(try bdf(importer, file: file, machine: machine)) }
      var buffer: String?
      if let value = shareFields.first(where: { $0.key == "buffer" })?.value {
        buffer = try string(value, file: file, what: "buffer")
      }
      page.share = LessonShare(
        exporter: try bdf(exporter, file: file, machine: machine), buffer: buffer, importers: importerBDFs)
    }
    if let cpu = field("cpu") {
      let text = try string(cpu, file: file, what: "cpu")
      guard let rule = CPURule(rawValue: text) else {
        throw LessonError(
          file: file, line: cpu.line,
          "cpu '\(text)' is not one of \(CPURule.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      page.cpu = rule
    }
    if let iommu = field("iommu") {
      let text = try string(iommu, file: file, what: "iommu")
      guard let mode = IOMMUMode(rawValue: text) else {
        throw LessonError(file: file, line: iommu.line, "iommu '\(text)' is not one of on, off, pt")
      }
      page.iommu = mode
    }
    if let list = field("disable_acs_redir") {
      guard case .array(let values) = list.kind else {
        throw LessonError(file: file, line: list.line, "'disable_acs_redir' must be an array of BDFs")
      }
      for value in values { page.disableACSRedirect.append(try bdf(value, file: file, machine: machine)) }
    }
    if let playTo = field("play_to") { page.playTo = try string(playTo, file: file, what: "play_to") }
    if let importer = field("play_to_importer") {
      page.playToImporter = try bdf(importer, file: file, machine: machine)
    }
    if let before = field("predict_before") {
      page.predictBefore = try string(before, file: file, what: "predict_before")
    }
    if let predict = field("predict") { page.predict = try prediction(predict, file: file) }
    if let expect = field("expect") {
      guard case .array(let values) = expect.kind else {
        throw LessonError(file: file, line: expect.line, "'expect' must be an array")
      }
      for value in values { page.expectations.append(try expectation(value, file: file, machine: machine)) }
    }
    return page
  }

  private static func prediction(_ value: JSONValue, file: String) throws(LessonError) -> Prediction {
    let fields = try object(value, file: file, what: "predict")
    try rejectUnknown(fields, allowed: ["question", "choices", "answer", "why"], file: file)
    func field(_ key: String) throws(LessonError) -> JSONValue {
      guard let found = fields.first(where: { $0.key == key })?.value else {
        throw LessonError(file: file, line: value.line, "'predict' needs '\(key)'")
      }
      return found
    }
    let choicesValue = try field("choices")
    guard case .array(let choiceValues) = choicesValue.kind, (2...4).contains(choiceValues.count) else {
      throw LessonError(file: file, line: choicesValue.line, "'choices' must list 2 to 4 answers")
    }
    var choices: [String] = []
    for choice in choiceValues { choices.append(try string(choice, file: file, what: "a choice")) }
    let answerValue = try field("answer")
    guard case .number(let text) = answerValue.kind, let answer = Int(text), (1...choices.count).contains(answer) else {
      throw LessonError(
        file: file, line: answerValue.line, "'answer' must be the number of a choice, 1 to \(choices.count)")
    }
    return Prediction(
      question: try string(try field("question"), file: file, what: "question"), choices: choices, answer: answer - 1,
      why: try string(try field("why"), file: file, what: "why"))
  }

  private static func expectation(_ value: JSONValue, file: String, machine: Topology?) throws(LessonError)
    -> LessonExpectation
  {
    let fields = try object(value, file: file, what: "an expectation")
    try rejectUnknown(
      fields, allowed: ["provider", "client", "importer", "map_type", "peer2peer", "placement", "mapped"], file: file)
    func field(_ key: String) -> JSONValue? { fields.first { $0.key == key }?.value }
    var result = LessonExpectation(line: value.line)
    if let provider = field("provider") { result.provider = try bdf(provider, file: file, machine: machine) }
    if let client = field("client") { result.client = try bdf(client, file: file, machine: machine) }
    if let importer = field("importer") { result.importer = try bdf(importer, file: file, machine: machine) }
    guard (result.provider != nil && result.client != nil) || result.importer != nil else {
      throw LessonError(file: file, line: value.line, "an expectation names 'provider' and 'client', or 'importer'")
    }
    if let mapType = field("map_type") {
      let text = try string(mapType, file: file, what: "map_type")
      guard let parsed = MapType.allCases.first(where: { $0.shortName == text }) else {
        throw LessonError(
          file: file, line: mapType.line, "map_type '\(text)': use BUS_ADDR, THRU_HOST_BRIDGE or NOT_SUPPORTED")
      }
      result.mapType = parsed
    }
    if let peer = field("peer2peer") {
      guard case .bool(let flag) = peer.kind else {
        throw LessonError(file: file, line: peer.line, "'peer2peer' must be true or false")
      }
      result.peer2peer = flag
    }
    if let mapped = field("mapped") {
      guard case .bool(let flag) = mapped.kind else {
        throw LessonError(file: file, line: mapped.line, "'mapped' must be true or false")
      }
      result.mapped = flag
    }
    if let placement = field("placement") {
      let text = try string(placement, file: file, what: "placement")
      // The simulator's placements (DMABufSim.Placement): GTT is a GPU driver's system-memory
      // placement (amdgpu GTT, xe TT), SYSTEM the pages of a page-backed exporter.
      guard ["VRAM", "GTT", "SYSTEM"].contains(text) else {
        throw LessonError(file: file, line: placement.line, "placement '\(text)': use VRAM, GTT or SYSTEM")
      }
      result.placement = text
    }
    return result
  }

  // MARK: Field helpers

  private static func object(_ value: JSONValue, file: String, what: String) throws(LessonError) -> [(
    key: String, value: JSONValue
  )] {
    guard case .object(let fields) = value.kind else {
      throw LessonError(file: file, line: value.line, "\(what) must be a JSON object")
    }
    return fields
  }

  private static func string(_ value: JSONValue, file: String, what: String) throws(LessonError) -> String {
    guard case .string(let text) = value.kind else {
      throw LessonError(file: file, line: value.line, "'\(what)' must be a string")
    }
    return text
  }

  private static func bdf(_ value: JSONValue, file: String, machine: Topology?) throws(LessonError) -> BDF {
    let text = try string(value, file: file, what: "a BDF")
    guard let address = BDF(text) else {
      throw LessonError(file: file, line: value.line, "'\(text)' is not a PCI address (DDDD:BB:DD.F)")
    }
    if let machine, machine.index(of: address) == nil {
      throw LessonError(file: file, line: value.line, "\(address) is not on the lesson's machine")
    }
    return address
  }

  private static func rejectUnknown(_ fields: [(key: String, value: JSONValue)], allowed: Set<String>, file: String)
    throws(LessonError)
  {
    if let unknown = fields.first(where: { !allowed.contains($0.key) }) {
      throw LessonError(
        file: file, line: unknown.value.line,
        "unknown key '\(unknown.key)' (known: \(allowed.sorted().joined(separator: ", ")))")
    }
  }
}
