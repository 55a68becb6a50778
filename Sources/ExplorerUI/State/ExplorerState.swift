import P2PDMA
import PCITopology

/// An overlay drawn over the panes; Esc closes it.
public enum Overlay: Equatable, Sendable {
  case help
  case search
  case bufferList
  case matrix
  /// The list of lessons (`L`).
  case lessonList
  /// The live dma-bufs from bufinfo (`b`).
  case liveBuffers
  /// A failure to show in words (a failed share, a view that threw).
  case error(String)
}

/// Where the playback is: which step, and how far its walk is lit.
public struct Playback: Equatable, Sendable {
  /// Current step index.
  public var step: Int = 0
  /// Nodes of the current step's walk lit so far (1...walk.nodes.count).
  public var walkProgress: Int = 0
  public var isPlaying = false
  /// Index into `Playback.intervals`.
  public var speedIndex = 2

  /// Milliseconds between steps, slowest first.
  public static let intervals = [1600, 1000, 600, 350, 200, 100, 40]
  public var interval: Int { Playback.intervals[min(max(0, speedIndex), Playback.intervals.count - 1)] }
}

/// One cell of the P2P matrix: the kernel's answer for a provider/client pair.
public struct MatrixCell: Equatable, Sendable {
  public var mapType: MapType
  public var distance: Int
  public init(mapType: MapType, distance: Int) {
    self.mapType = mapType
    self.distance = distance
  }
}

/// The P2P matrix overlay: a cursor over endpoint pairs, with every cell and the highlighted
/// pair's explanation computed by update (rendering only reads them).
public struct MatrixState: Sendable {
  /// Function indices of the endpoints (rows = providers, columns = clients).
  public var endpoints: [Int] = []
  public var row = 0
  public var column = 0
  /// False: only devices that share buffers (GPUs, NICs, storage, accelerators, capture cards);
  /// true: every non-bridge function, host-bridge and uncore functions included.
  public var showAll = false
  /// Row-major `endpoints.count²` cells; nil where the backend has no answer.
  public var cells: [MatrixCell?] = []
  /// The highlighted pair's explanation (nil on the diagonal).
  public var explanation: PairExplanation?
  /// Set when explaining the highlighted pair failed.
  public var explanationError: String?

  public func cell(row: Int, column: Int) -> MatrixCell? {
    let count = endpoints.count
    guard row >= 0, row < count, column >= 0, column < count, cells.count == count * count else { return nil }
    return cells[row * count + column]
  }
}

/// Requests from update to the terminal loop.
public enum Effect: Hashable, Sendable {
  case quit
  /// Repaint every cell (Ctrl-L, a resize, a click).
  case fullRedraw
}

/// Display settings fixed at launch.
public struct DisplayOptions: Equatable, Sendable {
  public var glyphs: Glyphs
  public init(glyphs: Glyphs = .unicode) { self.glyphs = glyphs }
}

/// The whole app state. `update(state, event)` is the only way it changes; views only read it.
public struct ExplorerState: Sendable {
  public internal(set) var topology: Topology
  public private(set) var configuration: P2PConfiguration
  public internal(set) var display: DisplayOptions
  public private(set) var layout: Layout
  public internal(set) var focus: Pane = .tree
  public internal(set) var tree: TreeModel
  public internal(set) var detailsScroll = 0
  public internal(set) var shownAttachmentIndex = 0
  public internal(set) var sgScroll = 0
  public internal(set) var overlay: Overlay?
  public internal(set) var searchQuery = ""
  /// The last search that was run (an empty prompt repeats it).
  public internal(set) var lastSearch = ""
  public internal(set) var bufferCursor = 0
  public internal(set) var matrix = MatrixState()
  public private(set) var exporter: Int?
  public private(set) var bufferIndex = 0
  public private(set) var importers: [Int] = []
  public private(set) var run: ShareRun?
  public internal(set) var playback = Playback()
  /// One-line feedback on the status line (cleared by the next key).
  public internal(set) var message: String?
  /// What update asks of the terminal loop (quit, repaint every cell); the loop clears them.
  public internal(set) var effects: Set<Effect> = []
  public var shouldQuit: Bool { effects.contains(.quit) }
  /// Set by Ctrl-L, resizes and clicks: the backend repaints every cell.
  public var needsFullRedraw: Bool {
    get { effects.contains(.fullRedraw) }
    set { if newValue { effects.insert(.fullRedraw) } else { effects.remove(.fullRedraw) } }
  }
  /// First line of the help overlay shown (it scrolls on small terminals).
  public internal(set) var helpScroll = 0
  /// First line of the Decision pane's text below the importer rows.
  public internal(set) var decisionScroll = 0
  /// `S`: the Sequence pane prints the kernel source of the current step under its explanation.
  public internal(set) var showsSources = false
  /// First line of the current step's explanation in the Sequence pane (reset on every step).
  public internal(set) var explanationScroll = 0
  /// True right after a search found something: `n` then repeats it instead of stepping.
  public internal(set) var searchRepeatArmed = false
  /// The dma-bufs the Buffers view (`b`) lists: set at launch from `--bufinfo` or debugfs.
  public var liveBuffers: LiveBuffers = .notGiven
  /// The highlighted row of the Buffers view.
  public internal(set) var liveBufferCursor = 0
  /// Lessons the `L` list offers, and the one being followed.
  public private(set) var lessons: [Lesson]
  public internal(set) var lessonCursor = 0
  public internal(set) var lessonRun: LessonRun?
  /// The kernel release the decision and the share follow, for the status line.
  public var kernelModel: String { configuration.kernel.release.description }
  private let makeBackend: ShareBackendFactory
  public private(set) var backend: any ShareBackend
  /// Per function, ACS Control in force (see `acsControlInForce(of:)`); recomputed with the knobs.
  public private(set) var acsInForce: [ACSBits?]
  /// Per function, what the kernel model says about it for the views (asked once, so views never
  /// call the backend).
  public private(set) var deviceFacts: [DeviceFacts]

  /// What the views show about a device that comes from the kernel model.
  public struct DeviceFacts: Sendable {
    /// Exportable buffers, first = default.
    public var buffers: [BufferSpec]
    /// The driver profile the simulator picks when the input names none.
    public var simulatorProfile: String?
  }

  static func facts(_ topology: Topology, _ backend: any ShareBackend) -> [DeviceFacts] {
    topology.functions.indices.map { index in
      let function = topology[index]
      guard !function.isBridge, !function.isHostBridgeClass else {
        return DeviceFacts(buffers: [], simulatorProfile: backend.driverProfile(of: index))
      }
      return DeviceFacts(
        buffers: backend.exportableBuffers(of: index) ?? function.extras.buffers,
        simulatorProfile: backend.driverProfile(of: index))
    }
  }

  public init(
    topology: Topology, configuration: P2PConfiguration, width: Int, height: Int,
    display: DisplayOptions = DisplayOptions(), lessons: [Lesson] = [],
    backendFactory: @escaping ShareBackendFactory
  ) {
    self.topology = topology
    self.lessons = lessons
    self.configuration = configuration
    self.display = display
    self.layout = Layout(width: width, height: height)
    self.tree = TreeModel(topology: topology)
    self.makeBackend = backendFactory
    self.backend = backendFactory(topology, configuration)
    self.acsInForce = Self.acsTable(topology, configuration)
    self.deviceFacts = Self.facts(topology, backend)
    // Start on the first function rather than a root-bus heading.
    if let first = tree.rows.firstIndex(where: { $0.functionIndex != nil }) { tree.cursor = first }
  }

  // MARK: Derived facts views read

  public var selectedFunction: Int? { tree.selectedFunction }

  public var selection: ShareSelection? {
    guard let exporter, !importers.isEmpty else { return nil }
    return ShareSelection(exporter: exporter, bufferIndex: bufferIndex, importers: importers)
  }

  /// ACS Control in force (the kernel's ACS enable and the what-ifs applied) of a function,
  /// nil without a readable ACS capability. From `P2PEngine.effectiveACS`, the one copy of the rule.
  public func acsControlInForce(of index: Int) -> ACSBits? {
    acsInForce.indices.contains(index) ? acsInForce[index] : nil
  }

  /// True when RR, CR or EC is in force: `pci_bridge_has_acs_redir()`.
  public func hasACSRedirect(_ index: Int) -> Bool {
    guard let control = acsControlInForce(of: index) else { return false }
    return !control.isDisjoint(with: .p2pRedirect)
  }

  static func acsTable(_ topology: Topology, _ configuration: P2PConfiguration) -> [ACSBits?] {
    topology.functions.map { configuration.effectiveACS(of: $0).control }
  }

  /// The current step, when a share is loaded.
  public var currentStep: ShareStep? {
    guard let run, playback.step >= 0, playback.step < run.steps.count else { return nil }
    return run.steps[playback.step]
  }

  /// True when the playback sits on the last step with its walk fully lit.
  public var isAtEnd: Bool {
    guard let run else { return false }
    guard playback.step >= run.steps.count - 1 else { return false }
    return !isLightingWalk
  }

  /// True while the current step's walk is still being lit hop by hop (only the timer does
  /// that; the step keys always land on a fully lit walk).
  public var isLightingWalk: Bool {
    guard let walk = currentStep?.walk else { return false }
    return playback.walkProgress < walk.nodes.count
  }

  /// The part of a walk lit now: the current step's walk up to its progress, else the last
  /// completed walk before it (so the path stays visible while later steps play).
  public var litWalk: (walk: WalkPath, lit: Int)? {
    guard let run else { return nil }
    let last = min(playback.step, run.steps.count - 1)
    guard last >= 0 else { return nil }
    for index in stride(from: last, through: 0, by: -1) {
      if let walk = run.steps[index].walk {
        return (walk, index == playback.step ? min(playback.walkProgress, walk.nodes.count) : walk.nodes.count)
      }
    }
    return nil
  }

  /// The share as the panes draw it now: the state right after the current step, or before it
  /// while its walk is still being lit (the verdict is not known until the walk ends).
  public var shareNow: ShareMoment? {
    guard let run, !run.steps.isEmpty else { return nil }
    let step = min(max(0, playback.step), run.steps.count - 1)
    return share(asOfStep: isLightingWalk ? step - 1 : step)
  }

  /// The share right after step `index` (-1: before the first step). Every pane reads the
  /// playback through this one function.
  public func share(asOfStep index: Int) -> ShareMoment? {
    guard let run, !run.steps.isEmpty else { return nil }
    let last = min(index, run.steps.count - 1)
    guard run.steps.contains(where: { $0.moment != nil }) else { return legacyShare(asOfStep: last) }
    var moment: ShareMoment?
    if last >= 0 {
      for position in stride(from: last, through: 0, by: -1) {
        if let found = run.steps[position].moment {
          moment = found
          break
        }
      }
    }
    var result =
      moment
      ?? ShareMoment(
        placement: run.steps.lazy.compactMap(\.moment).first?.placement ?? "-", pinCount: 0,
        attachments: run.attachments.map { AttachmentMoment(importer: $0.importer) })
    // On a step that builds a table, only the entries built so far show; the table being
    // built may be recorded on a later step (the map returns it).
    if last >= 0, let importer = run.steps[last].importer, let built = run.steps[last].sgEntriesVisible, built > 0,
      let position = result.attachments.firstIndex(where: { $0.importer == importer })
    {
      if result.attachments[position].sgTable == nil {
        let later = run.steps[(last + 1)...].lazy.compactMap { $0.moment?.attachments[position] }
          .first { $0.sgTable != nil && !$0.invalidated }
        if let later {
          result.attachments[position].sgTable = later.sgTable
          result.attachments[position].invalidated = false
        }
      }
      result.attachments[position].entriesBuilt = built
    }
    return result
  }

  /// For backends that give no per-step moments: the final results, each importer's shown once
  /// the playback reached its decision, tables growing as the steps build them.
  private func legacyShare(asOfStep last: Int) -> ShareMoment? {
    guard let run else { return nil }
    var reached = Set<Int>()
    var built: [Int: Int] = [:]
    if last >= 0 {
      for step in run.steps[0...last] {
        if let importer = step.importer, step.lane == .exporterDriver || step.lane == .p2pdma || step.lane == .dmaAPI {
          reached.insert(importer)
        }
        if let count = step.sgEntriesVisible {
          for attachment in run.attachments where step.importer == nil || step.importer == attachment.importer {
            built[attachment.importer] = count
          }
        }
      }
    }
    let atEnd = last >= run.steps.count - 1
    let attachments = run.attachments.map { summary -> AttachmentMoment in
      guard atEnd || reached.contains(summary.importer) else { return AttachmentMoment(importer: summary.importer) }
      var moment = AttachmentMoment(
        importer: summary.importer, attached: true, peer2peer: summary.peer2peer, mapType: summary.mapType,
        distance: summary.distance, mapped: summary.sgTable != nil, placement: summary.placement,
        sgTable: summary.sgTable, error: summary.error)
      moment.entriesBuilt = atEnd ? nil : (built[summary.importer] ?? 0)
      return moment
    }
    return ShareMoment(placement: run.attachments.first?.placement ?? "-", pinCount: 0, attachments: attachments)
  }

  /// The attachment whose sg table the sg pane shows.
  public var shownAttachment: AttachmentSummary? {
    guard let run, !run.attachments.isEmpty else { return nil }
    return run.attachments[min(max(0, shownAttachmentIndex), run.attachments.count - 1)]
  }

  /// The shown attachment as it stands now.
  public var shownAttachmentNow: AttachmentMoment? {
    guard let moment = shareNow, !moment.attachments.isEmpty else { return nil }
    return moment.attachments[min(max(0, shownAttachmentIndex), moment.attachments.count - 1)]
  }

  /// The buffers of the exporter (name, size, placement) for the buffer list.
  public var exporterBuffers: [BufferSpec] {
    guard let exporter else { return [] }
    return buffers(of: exporter)
  }

  /// What a device can export: the kernel model's list (scenario buffers, else the driver
  /// profile's documented default), or the topology's own list when the backend has none.
  public func buffers(of function: Int) -> [BufferSpec] {
    guard deviceFacts.indices.contains(function) else { return [] }
    return deviceFacts[function].buffers
  }

  /// True while the playback timer should run.
  public var isAnimating: Bool { playback.isPlaying && run != nil && !isAtEnd }

  // MARK: Mutations used by update

  mutating func refreshDeviceFacts() { deviceFacts = Self.facts(topology, backend) }

  mutating func setLayout(width: Int, height: Int) {
    layout = Layout(width: width, height: height)
  }

  mutating func setExporter(_ index: Int?) {
    exporter = index
    bufferIndex = 0
    if let index { importers.removeAll { $0 == index } }
    discardRun()
  }

  mutating func setBufferIndex(_ index: Int) {
    if bufferIndex != max(0, index) { discardRun() }
    bufferIndex = max(0, index)
  }

  /// A share played for another selection would mislead: changing the selection drops it
  /// (Enter plays the new one).
  private mutating func discardRun() {
    run = nil
    playback = Playback(speedIndex: playback.speedIndex)
    shownAttachmentIndex = 0
    decisionScroll = 0
    sgScroll = 0
  }

  /// Exporter, buffer and importers at once (the Buffers view's pick); a loaded share is dropped.
  mutating func setShare(exporter: Int?, bufferIndex: Int, importers: [Int]) {
    self.exporter = exporter
    self.bufferIndex = max(0, bufferIndex)
    self.importers = importers.filter { $0 != exporter }
    discardRun()
  }

  mutating func toggleImporter(_ index: Int) -> Bool {
    discardRun()
    if let position = importers.firstIndex(of: index) {
      importers.remove(at: position)
      return false
    }
    importers.append(index)
    return true
  }

  mutating func clearShare() {
    exporter = nil
    importers = []
    bufferIndex = 0
    run = nil
    playback = Playback(speedIndex: playback.speedIndex)
  }

  /// Simulates the current selection. Returns the error text on failure.
  mutating func startShare() -> String? {
    guard let selection else { return "pick an exporter (e) and at least one importer (i) first" }
    do {
      run = try backend.simulate(selection)
    } catch {
      run = nil
      return "\(error)"
    }
    playback.step = 0
    playback.walkProgress = currentStep?.walk == nil ? 0 : 1
    playback.isPlaying = true
    shownAttachmentIndex = 0
    sgScroll = 0
    return nil
  }

  /// Applies new knobs: a new backend, and the share (if any) simulated again at once.
  mutating func reconfigure(_ change: (inout P2PConfiguration) -> Void) -> String? {
    change(&configuration)
    backend = makeBackend(topology, configuration)
    acsInForce = Self.acsTable(topology, configuration)
    guard run != nil, let selection else { return nil }
    let position = playback
    do {
      run = try backend.simulate(selection)
    } catch {
      run = nil
      return "\(error)"
    }
    let stepCount = run?.steps.count ?? 0
    playback.step = min(position.step, max(0, stepCount - 1))
    if let walk = currentStep?.walk {
      playback.walkProgress = min(max(1, position.walkProgress), walk.nodes.count)
    } else {
      playback.walkProgress = 0
    }
    return nil
  }
}
