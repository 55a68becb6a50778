import P2PDMA
import PCITopology

/// A lesson: its text and a script of steps that drive the explorer.
public struct Lesson: Sendable {
  /// File name without extension (`start-here`).
  public var name: String
  public var title: String
  /// Where it came from, for messages.
  public var source: String
  public var steps: [LessonStep]

  public init(name: String, title: String, source: String, steps: [LessonStep]) {
    self.name = name
    self.title = title
    self.source = source
    self.steps = steps
  }
}

/// One page of a lesson: narration, and what to set up and play before showing it.
public struct LessonStep: Sendable {
  public var text: String
  public var setup: LessonSetup?
  /// Play the share to the first step whose kernel function contains this text.
  public var playTo: String?
  public var predict: Prediction?

  public init(text: String, setup: LessonSetup? = nil, playTo: String? = nil, predict: Prediction? = nil) {
    self.text = text
    self.setup = setup
    self.playTo = playTo
    self.predict = predict
  }
}

/// The share a lesson step loads: devices by BDF, what-ifs, then Enter.
public struct LessonSetup: Sendable {
  public var exporter: BDF
  public var buffer: String?
  public var importers: [BDF]
  public var cpu: CPURule?
  public var iommu: IOMMUMode?
  /// Devices whose RR/CR/EC the step clears (as `pci=disable_acs_redir`).
  public var disableACSRedirect: [BDF]

  public init(
    exporter: BDF, buffer: String? = nil, importers: [BDF], cpu: CPURule? = nil, iommu: IOMMUMode? = nil,
    disableACSRedirect: [BDF] = []
  ) {
    self.exporter = exporter
    self.buffer = buffer
    self.importers = importers
    self.cpu = cpu
    self.iommu = iommu
    self.disableACSRedirect = disableACSRedirect
  }
}

/// A "predict" checkpoint: a question, the choices, the right one and why.
public struct Prediction: Sendable {
  public var question: String
  public var choices: [String]
  /// Index into `choices`.
  public var answer: Int
  public var why: String

  public init(question: String, choices: [String], answer: Int, why: String) {
    self.question = question
    self.choices = choices
    self.answer = answer
    self.why = why
  }
}

/// The lesson being followed: which page, and the student's pick on a checkpoint.
public struct LessonRun: Sendable, Equatable {
  public var lesson: Int
  public var page: Int
  /// The choice picked on this page's checkpoint (nil until answered).
  public var picked: Int?

  public init(lesson: Int, page: Int = 0, picked: Int? = nil) {
    self.lesson = lesson
    self.page = page
    self.picked = picked
  }
}

extension ExplorerState {
  mutating func openLessons() {
    guard !lessons.isEmpty else {
      message = "no lessons loaded (they ship in assets/lessons; --lesson FILE opens one)"
      return
    }
    lessonCursor = min(lessonCursor, lessons.count - 1)
    overlay = .lessonList
  }

  mutating func handleLessonListKey(_ key: Key) {
    switch key {
    case .escape, .character("L"): overlay = nil
    case .up, .character("k"): lessonCursor = max(0, lessonCursor - 1)
    case .down, .character("j"): lessonCursor = min(max(0, lessons.count - 1), lessonCursor + 1)
    case .enter:
      overlay = nil
      startLesson(lessonCursor)
    default: break
    }
  }

  mutating func startLesson(_ index: Int) {
    guard lessons.indices.contains(index) else { return }
    lessonRun = LessonRun(lesson: index)
  }
}
