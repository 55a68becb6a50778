import P2PDMA
import PCITopology

/// A lesson: its text (the markdown in `assets/lessons/NAME.md`) and the pages of its step script
/// (`NAME.steps.json` next to it), which drive the explorer.
public struct Lesson: Sendable {
  /// File name without extension (`start-here`).
  public var name: String
  public var title: String
  /// Where the script came from, for messages.
  public var source: String
  /// The machine the lesson runs on (nil: the one already loaded).
  public var machine: Topology?
  public var machineName: String?
  public var pages: [LessonPage]

  public init(
    name: String, title: String, source: String, machine: Topology? = nil, machineName: String? = nil,
    pages: [LessonPage]
  ) {
    self.name = name
    self.title = title
    self.source = source
    self.machine = machine
    self.machineName = machineName
    self.pages = pages
  }
}

/// One page of a lesson: narration, and what to set up and play before showing it.
public struct LessonPage: Sendable {
  public var text: String
  /// Highlight this device in the tree.
  public var highlight: BDF?
  /// The share to load (exporter, buffer, importers) and play.
  public var share: LessonShare?
  /// What-ifs set before the share runs (nil: the machine's own).
  public var cpu: CPURule?
  public var iommu: IOMMUMode?
  public var disableACSRedirect: [BDF]
  /// Play the share to the last step whose kernel function contains this text (and that is
  /// about `playToImporter`, when given); without it, to the end.
  public var playTo: String?
  public var playToImporter: BDF?
  /// Until the checkpoint is answered, the playback waits on the step before the first one whose
  /// function is (else contains) this text, so the panes do not give the answer away.
  public var predictBefore: String?
  public var predict: Prediction?
  /// Outcomes the page states; a test checks every one against the engine.
  public var expectations: [LessonExpectation]
  /// Line of the page in the script, for messages.
  public var line: Int

  public init(
    text: String, highlight: BDF? = nil, share: LessonShare? = nil, cpu: CPURule? = nil, iommu: IOMMUMode? = nil,
    disableACSRedirect: [BDF] = [], playTo: String? = nil, playToImporter: BDF? = nil, predict: Prediction? = nil,
    expectations: [LessonExpectation] = [], line: Int = 0
  ) {
    self.text = text
    self.highlight = highlight
    self.share = share
    self.cpu = cpu
    self.iommu = iommu
    self.disableACSRedirect = disableACSRedirect
    self.playTo = playTo
    self.playToImporter = playToImporter
    self.predict = predict
    self.expectations = expectations
    self.line = line
  }
}

/// The share a lesson page loads.
public struct LessonShare: Sendable, Equatable {
  public var exporter: BDF
  public var buffer: String?
  public var importers: [BDF]
}

/// A "predict" checkpoint: a question, the choices, the right one and why.
public struct Prediction: Sendable, Equatable {
  public var question: String
  public var choices: [String]
  /// Index into `choices`.
  public var answer: Int
  public var why: String
}

/// An outcome a lesson states: for a pair, its map type; for an importer of the page's share,
/// its map type, `peer2peer` and where its final mapping points.
public struct LessonExpectation: Sendable, Equatable {
  public var provider: BDF?
  public var client: BDF?
  public var importer: BDF?
  public var mapType: MapType?
  public var peer2peer: Bool?
  /// `VRAM` or `SYSTEM`.
  public var placement: String?
  /// Whether the importer ended with a mapped table (false: the map failed).
  public var mapped: Bool?
  public var line: Int
}

/// The lesson being followed: which page, and the student's pick on its checkpoint.
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
  /// The lesson being followed and its current page.
  public var currentLesson: (lesson: Lesson, page: LessonPage, run: LessonRun)? {
    guard let lessonRun, lessons.indices.contains(lessonRun.lesson) else { return nil }
    let lesson = lessons[lessonRun.lesson]
    guard lesson.pages.indices.contains(lessonRun.page) else { return nil }
    return (lesson, lesson.pages[lessonRun.page], lessonRun)
  }

  mutating func openLessons() {
    guard !lessons.isEmpty else {
      message = "no lessons loaded"
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
    case .home: lessonCursor = 0
    case .end: lessonCursor = max(0, lessons.count - 1)
    case .enter:
      overlay = nil
      startLesson(lessonCursor)
    default: break
    }
  }

  /// Starts a lesson at its first page: loads its machine and drives the explorer.
  public mutating func startLesson(_ index: Int) {
    guard lessons.indices.contains(index) else { return }
    if let machine = lessons[index].machine { replaceTopology(machine) }
    lessonRun = LessonRun(lesson: index)
    showLessonPage()
    message = "lesson \(lessons[index].name): ] next page, [ previous"
  }

  /// `]` and `[`: next or previous page; past the last page the lesson ends.
  mutating func turnLessonPage(by delta: Int) {
    guard var run = lessonRun, lessons.indices.contains(run.lesson) else {
      message = "no lesson running: L lists them"
      return
    }
    let count = lessons[run.lesson].pages.count
    let target = run.page + delta
    if target >= count {
      lessonRun = nil
      message = "lesson finished: L for another one"
      return
    }
    run.page = max(0, target)
    run.picked = nil
    lessonRun = run
    showLessonPage()
  }

  /// A digit on a checkpoint page: the student's prediction; the answer is then revealed.
  mutating func answerPrediction(_ choice: Int) {
    guard let current = currentLesson, let predict = current.page.predict else {
      message = "nothing to answer on this page"
      return
    }
    guard predict.choices.indices.contains(choice) else {
      message = "pick 1-\(predict.choices.count)"
      return
    }
    lessonRun?.picked = choice
    showLessonPage()
  }

  /// Applies the page: what-ifs, the share and the playback position. A checkpoint not yet
  /// answered stops one step short of the step that would give the answer away.
  mutating func showLessonPage() {
    guard let (_, page, run) = currentLesson else { return }
    detailsScroll = 0
    if page.cpu != nil || page.iommu != nil || page.share != nil || !page.disableACSRedirect.isEmpty {
      _ = reconfigure { configuration in
        if let cpu = page.cpu {
          configuration.cpu = cpu
          configuration.cpuWasInferred = false
          configuration.cpuSource = "lesson"
        }
        if let iommu = page.iommu { configuration.iommu = iommu }
        configuration.disableACSRedirect = page.disableACSRedirect
      }
    }
    if let bdf = page.highlight, let index = topology.index(of: bdf) {
      tree.reveal(index, topology: topology)
      focus = .tree
    }
    guard let share = page.share, let exporterIndex = topology.index(of: share.exporter) else { return }
    let importerIndices = share.importers.compactMap { topology.index(of: $0) }
    let bufferNumber = share.buffer.flatMap { name in buffers(of: exporterIndex).firstIndex { $0.name == name } } ?? 0
    if exporter != exporterIndex || importers != importerIndices || bufferIndex != bufferNumber || self.run == nil {
      clearShare()
      setExporter(exporterIndex)
      setBufferIndex(bufferNumber)
      for importer in importerIndices { _ = toggleImporter(importer) }
      if let problem = startShare() {
        message = problem
        return
      }
    }
    playback.isPlaying = false
    guard let steps = self.run?.steps else { return }
    var target = steps.count - 1
    if let function = page.playTo {
      let importerIndex = page.playToImporter.flatMap { topology.index(of: $0) }
      if let found = steps.lastIndex(where: {
        $0.function.contains(function) && (importerIndex == nil || $0.importer == importerIndex)
      }) {
        target = found
      }
    }
    if page.predict != nil, run.picked == nil {
      // An exact function name wins over a partial one (`dma_buf_attach` is also part of
      // `amdgpu_dma_buf_attach`).
      if let before = page.predictBefore,
        let found = steps.firstIndex(where: { $0.function == before })
          ?? steps.firstIndex(where: { $0.function.contains(before) })
      {
        target = max(0, found - 1)
      } else {
        target = max(0, target - 1)
      }
    }
    goToStep(target)
  }

  /// Loads another machine (a lesson's): selection, share and what-ifs start afresh.
  mutating func replaceTopology(_ newTopology: Topology) {
    clearShare()
    topology = newTopology
    tree = TreeModel(topology: newTopology)
    if let first = tree.rows.firstIndex(where: { $0.functionIndex != nil }) { tree.cursor = first }
    matrix = MatrixState()
    _ = reconfigure { configuration in
      configuration = P2PConfiguration(inferringFrom: newTopology)
      // A lesson machine that names its kernel (platform.kernel) is shown on that release.
      if let named = newTopology.platform.kernel, let release = try? KernelRelease(parsing: named) {
        configuration.kernel = KernelContext(release: release, source: .given)
      }
    }
    refreshDeviceFacts()
  }
}
