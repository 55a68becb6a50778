import P2PDMA
import PCITopology

/// An overlay drawn over the panes; Esc closes it.
public enum Overlay: Equatable, Sendable {
  case help
  case search
  case bufferList
  case matrix
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

/// The P2P matrix overlay: a cursor over endpoint pairs.
public struct MatrixState: Equatable, Sendable {
  /// Function indices of the endpoints (rows = providers, columns = clients).
  public var endpoints: [Int] = []
  public var row = 0
  public var column = 0
}

/// Display settings fixed at launch.
public struct DisplayOptions: Equatable, Sendable {
  public var glyphs: Glyphs
  public init(glyphs: Glyphs = .unicode) { self.glyphs = glyphs }
}

/// The whole app state. `update(state, event)` is the only way it changes; views only read it.
public struct ExplorerState: Sendable {
  public private(set) var topology: Topology
  public private(set) var configuration: P2PConfiguration
  public var display: DisplayOptions
  public private(set) var layout: Layout
  public var focus: Pane = .tree
  public var tree: TreeModel
  public var detailsScroll = 0
  public var decisionCursor = 0
  public var sgScroll = 0
  public var overlay: Overlay?
  public var searchQuery = ""
  /// The last search that was run (an empty prompt repeats it).
  public var lastSearch = ""
  public var bufferCursor = 0
  public var matrix = MatrixState()
  public private(set) var exporter: Int?
  public private(set) var bufferIndex = 0
  public private(set) var importers: [Int] = []
  public private(set) var run: ShareRun?
  public var playback = Playback()
  /// One-line feedback on the status line (cleared by the next key).
  public var message: String?
  public var shouldQuit = false
  /// Set by Ctrl-L and resizes: the backend repaints every cell.
  public var needsFullRedraw = false
  /// Kernel model label for the status line.
  public var kernelModel: String
  private let makeBackend: ShareBackendFactory
  public private(set) var backend: any ShareBackend

  public init(
    topology: Topology, configuration: P2PConfiguration, width: Int, height: Int,
    display: DisplayOptions = DisplayOptions(), backendFactory: @escaping ShareBackendFactory
  ) {
    self.topology = topology
    self.configuration = configuration
    self.display = display
    self.layout = Layout(width: width, height: height)
    self.tree = TreeModel(topology: topology)
    self.kernelModel = topology.platform.kernel ?? "mainline"
    self.makeBackend = backendFactory
    self.backend = backendFactory(topology, configuration)
    // Start on the first function rather than a root-bus heading.
    if let first = tree.rows.firstIndex(where: { $0.functionIndex != nil }) { tree.cursor = first }
  }

  // MARK: Derived facts views read

  public var selectedFunction: Int? { tree.selectedFunction }

  public var selection: ShareSelection? {
    guard let exporter, !importers.isEmpty else { return nil }
    return ShareSelection(exporter: exporter, bufferIndex: bufferIndex, importers: importers)
  }

  /// ACS Control as the kernel would read it with the what-ifs applied.
  public func effectiveACSControl(of index: Int) -> ACSBits? {
    guard index >= 0, index < topology.count else { return nil }
    let function = topology[index]
    guard var control = configuration.acsControlOverrides[function.bdf] ?? function.acs.control else { return nil }
    if configuration.disableACSRedirect.contains(function.bdf) { control.subtract(.p2pRedirect) }
    return control
  }

  /// True when RR, CR or EC is set (with what-ifs): `pci_bridge_has_acs_redir()`.
  public func hasACSRedirect(_ index: Int) -> Bool {
    guard let control = effectiveACSControl(of: index) else { return false }
    return !control.isDisjoint(with: .p2pRedirect)
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
    if let walk = currentStep?.walk { return playback.walkProgress >= walk.nodes.count }
    return true
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

  /// The attachment whose sg table the sg pane shows.
  public var shownAttachment: AttachmentSummary? {
    guard let run, !run.attachments.isEmpty else { return nil }
    return run.attachments[min(max(0, decisionCursor), run.attachments.count - 1)]
  }

  /// How many entries of an importer's table have been built at the current step.
  public func visibleSGEntries(for attachment: AttachmentSummary) -> Int {
    guard let run, let table = attachment.sgTable else { return 0 }
    if isAtEnd { return table.count }
    var visible = 0
    let last = min(playback.step, run.steps.count - 1)
    if last >= 0 {
      for step in run.steps[0...last] where step.importer == nil || step.importer == attachment.importer {
        if let count = step.sgEntriesVisible { visible = count }
      }
    }
    return min(max(0, visible), table.count)
  }

  /// The buffers of the exporter (name, size, placement) for the buffer list.
  public var exporterBuffers: [BufferSpec] {
    guard let exporter else { return [] }
    return buffers(of: exporter)
  }

  /// What a device can export: the kernel model's list (scenario buffers, else the driver
  /// profile's documented default), or the topology's own list when the backend has none.
  public func buffers(of function: Int) -> [BufferSpec] {
    guard function >= 0, function < topology.count else { return [] }
    return backend.exportableBuffers(of: function) ?? topology[function].extras.buffers
  }

  /// True while the playback timer should run.
  public var isAnimating: Bool { playback.isPlaying && run != nil && !isAtEnd }

  // MARK: Mutations used by update

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
    decisionCursor = 0
    sgScroll = 0
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
    decisionCursor = 0
    sgScroll = 0
    return nil
  }

  /// Applies new knobs: a new backend, and the share (if any) simulated again at once.
  mutating func reconfigure(_ change: (inout P2PConfiguration) -> Void) -> String? {
    change(&configuration)
    backend = makeBackend(topology, configuration)
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
