import P2PDMA
import PCITopology
import Synchronization
import TestSupport
import Testing

@testable import ExplorerUI

@Suite("Tiny terminals, rapid resizes, huge tables")
struct RobustnessTests {
  static let tinySizes: [(Int, Int)] = {
    var sizes: [(Int, Int)] = []
    for width in [1, 2, 3, 5, 8, 13, 20, 40] {
      for height in [1, 2, 3, 4, 6, 10] { sizes.append((width, height)) }
    }
    return sizes + [(0, 0), (79, 23), (80, 24), (81, 25), (119, 39)]
  }()

  @Test(arguments: tinySizes)
  func everyOverlayRendersAtEverySize(width: Int, height: Int) {
    var state = SharePlaybackTests.startedShare()
    state.handle(.resize(width: width, height: height))
    let overlays: [[Key]] = [[], [.character("?")], [.character("/"), .character("x")], [.character("m")]]
    for keys in overlays {
      var copy = state
      for key in keys { copy.press(key) }
      let screen = copy.screen
      #expect(screen.width == max(0, width) && screen.height == max(0, height))
    }
    var exporter = Fixtures.state(width: width, height: height)
    exporter.highlight(Fixtures.gpu)
    exporter.press(.character("e"))
    _ = exporter.screen
  }

  @Test func rapidResizesNeverBreakTheState() {
    var state = SharePlaybackTests.startedShare()
    var generator = SeededGenerator(seed: 0x5eed)  // seeded, so a failing size sequence reproduces
    for _ in 0..<500 {
      let width = Int.random(in: 0...220, using: &generator)
      let height = Int.random(in: 0...70, using: &generator)
      state.handle(.resize(width: width, height: height))
      state.press(.down)
      state.handle(.tick)
      let screen = state.screen
      #expect(screen.width == width && screen.height == height)
    }
  }

  @Test func sgPaneReadsOnlyTheVisibleRowsOfAHugeTable() {
    let counter = ReadCounter()
    let table = CountingRows(count: 4_194_304, reads: counter)
    var state = Fixtures.state(backend: { _, _ in
      FixedRunBackend(
        run: ShareRun(
          steps: [
            ShareStep(
              lane: .dmaAPI, function: "dma_map_sgtable", explanation: "Mapped.", importer: Fixtures.index(Fixtures.nic)
            )
          ],
          attachments: [
            AttachmentSummary(
              importer: Fixtures.index(Fixtures.nic), allowPeer2peer: false, peer2peer: false, mapType: nil,
              distance: nil, placement: "system RAM", sgTable: table)
          ]))
    })
    state.highlight(Fixtures.gpu)
    state.press(.character("e"), .enter)
    state.highlight(Fixtures.nic)
    state.press(.character("i"), .enter)
    state.focus = .sgTable
    state.press(.end)
    counter.value.withLock { $0 = 0 }
    let screen = state.screen
    let reads = counter.value.withLock { $0 }
    #expect(reads > 0 && reads <= state.layout.sgTable.height, "read \(reads) rows for one frame")
    expectOnScreen(screen, "4194303  0x00000003fffff000  4 KiB     pfn 4194303")
    expectOnScreen(screen, "nents 4194304  orig_nents 4194304")
  }

  @Test func frameStatsPercentiles() {
    var stats = FrameStats(capacity: 1000)
    for value in 1...100 { stats.record(milliseconds: Double(value)) }
    #expect(stats.percentile(0.5) == 50)
    #expect(stats.percentile(0.99) == 99)
    #expect(stats.firstFrameMilliseconds == 1)
    #expect(stats.summary.contains("p99 99.0 ms"))
  }
}

/// A virtual table of `count` 4 KiB system pages that counts how many rows are read.
struct CountingRows: SGRowSource {
  var count: Int
  var reads: ReadCounter
  var nents: Int { count }
  var origNents: Int { count }
  func row(_ index: Int) -> SGRow {
    reads.value.withLock { $0 += 1 }
    return SGRow(dmaAddress: UInt64(index) << 12, dmaLength: 4096, page: "pfn \(index)", target: "system RAM")
  }
}

/// Shared read count (the table is a value; the count must survive copies).
final class ReadCounter: Sendable {
  let value = Mutex(0)
}

/// Always returns the same run.
struct FixedRunBackend: ShareBackend {
  var run: ShareRun
  func mapTypeAndDistance(provider: Int, client: Int) -> (mapType: MapType, distance: Int)? { nil }
  func explain(provider: Int, client: Int) throws -> PairExplanation { throw ExplorerError("not scripted") }
  func simulate(_ selection: ShareSelection) throws -> ShareRun { run }
}

@Suite("Kernel backend adapter")
struct KernelBackendTests {
  @Test func matrixAnswersComeFromTheP2PEngine() throws {
    let backend = KernelBackend(topology: Fixtures.topology, configuration: Fixtures.configuration)
    let gpu = Fixtures.index(Fixtures.gpu)
    let nic = Fixtures.index(Fixtures.nic)
    let answer = try #require(backend.mapTypeAndDistance(provider: gpu, client: nic))
    // The redirecting switch port forces the host bridge; AMD Zen allows it.
    #expect(answer.mapType == .thruHostBridge)
    #expect(answer.distance == 4)
    let explanation = try backend.explain(provider: gpu, client: nic)
    #expect(explanation.mapType == .thruHostBridge)
    #expect(explanation.fix?.contains("0000:02:01.0") == true)
    #expect(backend.mapTypeAndDistance(provider: -1, client: nic) == nil)
  }

  @Test func detailsNameTheProfileTheSimulatorChose() {
    var state = Fixtures.state(backend: KernelBackend.factory)
    state.highlight(Fixtures.nvme)
    expectOnScreen(state.screen, "Driver  nvme (profile nvme, chosen by the", "        simulator)")
    // A profile the input gave is shown as given.
    state.highlight(Fixtures.gpu)
    expectOnScreen(state.screen, "Driver  amdgpu  (profile amdgpu)")
  }

  @Test func whatIfOverrideChangesTheAnswer() throws {
    var configuration = Fixtures.configuration
    configuration.acsControlOverrides[Fixtures.redirectingSwitchPort] = []
    let backend = KernelBackend(topology: Fixtures.topology, configuration: configuration)
    let answer = try #require(
      backend.mapTypeAndDistance(provider: Fixtures.index(Fixtures.gpu), client: Fixtures.index(Fixtures.nic)))
    #expect(answer.mapType == .busAddress)
  }
}

@Suite("Degenerate topologies")
struct DegenerateTopologyTests {
  @Test(arguments: [0, 1])
  func emptyOrSingleFunctionMachineNeverTraps(functionCount: Int) {
    let functions = (0..<functionCount).map { _ in
      PCIFunction(
        bdf: Fixtures.bdf("0000:00:00.0"), vendorID: 0xffff, deviceID: 0xffff, classCode: 0, isPoweredOff: true)
    }
    let topology = Topology(functions: functions, source: TopologySource(kind: .generated, location: "empty"))
    var state = ExplorerState(
      topology: topology, configuration: Fixtures.configuration, width: 120, height: 40,
      backendFactory: { topology, configuration in KernelBackend(topology: topology, configuration: configuration) })
    let keys: [Key] = [
      .down, .up, .end, .home, .pageDown, .tab, .character("e"), .escape, .character("i"), .enter, .character(" "),
      .character("n"), .character("p"), .character("m"), .right, .enter, .escape, .character("R"), .character("a"),
      .character("I"), .character("c"), .character("/"), .character("x"), .enter, .character("h"), .character("?"),
    ]
    for key in keys {
      state.press(key)
      _ = state.screen
    }
    #expect(state.run == nil)
    #expect(state.overlay == .help)
    state.press(.escape)
    expectOnScreen(state.screen, "PCI tree (\(functionCount) functions)")
  }
}
