import DMABufSim
import ExplorerCLI
import ExplorerUI
import Foundation
import P2PDMA
import PCITopology

/// The UI figures of `bench`: what a keypress costs to handle and redraw on a big machine, and
/// whether scrolling a multi-million-entry sg table costs the same per frame as a tiny one.
/// Frames are rendered into the in-memory screen, i.e. everything but the ncurses flush.
enum UIBenchmark {
  typealias Row = BenchCommand.Row

  @MainActor
  static func run(dumpPath: String) throws -> [Row] {
    var rows: [Row] = []
    let launch = monotonicSeconds()
    let topology = try TopologyLoader.load(spec: dumpPath)
    var state = ExplorerState(
      topology: topology, configuration: P2PConfiguration(inferringFrom: topology), width: 120, height: 40,
      backendFactory: KernelBackend.factory)
    _ = ExplorerRenderer.render(state)
    let firstFrame = monotonicSeconds() - launch
    rows.append(
      Row(
        name: "UI first frame, \(topology.count) functions", value: BenchCommand.ms(firstFrame),
        target: "< 1 s (load + state + render)", met: firstFrame < 1))

    // A session of ordinary keys on the big tree, matrix overlay included.
    let keys: [Key] = [
      .down, .down, .pageDown, .character("j"), .character("k"), .end, .home, .tab, .tab, .pageDown, .tab,
    ]
    var samples: [Double] = []
    for round in 0..<40 {
      for key in keys { samples.append(timeFrame(&state, .key(key))) }
      if round % 10 == 0 {
        samples.append(timeFrame(&state, .key(.character("m"))))
        samples.append(timeFrame(&state, .key(.down)))
        samples.append(timeFrame(&state, .key(.right)))
        samples.append(timeFrame(&state, .key(.escape)))
      }
    }
    samples.sort()
    let p50 = percentile(samples, 0.5)
    let p99 = percentile(samples, 0.99)
    rows.append(
      Row(
        name: "keypress → frame p50 (\(samples.count) keys)", value: BenchCommand.ms(p50), target: "< 16 ms",
        met: p50 < 0.016))
    rows.append(Row(name: "keypress → frame p99", value: BenchCommand.ms(p99), target: "< 16 ms", met: p99 < 0.016))

    // Scrolling a huge sg table vs a tiny one.
    let huge = try scrollCost(bufferSize: 16 << 30)
    let tiny = try scrollCost(bufferSize: 40 << 10)  // 10 pages: 10 entries
    rows.append(
      Row(
        name: "sg scroll frame, \(BenchCommand.grouped(huge.entries)) entries", value: BenchCommand.ms(huge.perFrame),
        target: "≈ tiny table", met: nil))
    rows.append(
      Row(
        name: "sg scroll frame, \(tiny.entries) entries", value: BenchCommand.ms(tiny.perFrame),
        target: "", met: nil))
    let ratio = huge.perFrame / max(tiny.perFrame, 1e-9)
    rows.append(
      Row(name: "  ratio huge / tiny", value: String(format: "%.2f", ratio), target: "< 2 (same cost)", met: ratio < 2))
    return rows
  }

  @MainActor
  static func timeFrame(_ state: inout ExplorerState, _ event: ExplorerEvent) -> Double {
    let start = monotonicSeconds()
    state.handle(event)
    _ = ExplorerRenderer.render(state)
    return monotonicSeconds() - start
  }

  /// Shares a system-memory buffer of `bufferSize` (scattered pages) from the teaching GPU to
  /// the NIC with the IOMMU off, plays to the end, focuses the sg table and times page-down frames.
  @MainActor
  static func scrollCost(bufferSize: UInt64) throws -> (entries: Int, perFrame: Double) {
    let (topology, exporter, importer) = try BenchCommand.systemMemoryShareMachine(
      bufferName: "bench", size: bufferSize)
    // Scattered pages: one sg entry per 4 KiB page, 4,194,304 entries for 16 GiB.
    var state = ExplorerState(
      topology: topology, configuration: P2PConfiguration(inferringFrom: topology, iommu: .off), width: 120,
      height: 40, backendFactory: KernelBackend.factory(pageLayout: .scattered))
    // Everything through keys, as a user would: search for each device, mark it, share, play,
    // then Tab to the sg table.
    try select(exporter, in: &state)
    state.handle(.key(.character("e")))
    state.handle(.key(.enter))
    try select(importer, in: &state)
    state.handle(.key(.character("i")))
    state.handle(.key(.enter))
    for _ in 0..<200 where !state.isAtEnd { state.handle(.key(.character("n"))) }
    for _ in Pane.allCases where state.focus != .sgTable { state.handle(.key(.tab)) }
    guard state.focus == .sgTable else { throw CLIFailure("bench: Tab never reached the sg table pane") }
    let entries = state.run?.attachments.first?.sgTable?.count ?? 0
    var total = 0.0
    let frames = 200
    for frame in 0..<frames {
      total += timeFrame(&state, .key(frame % 50 == 49 ? .home : .pageDown))
    }
    return (entries, total / Double(frames))
  }

  /// Moves the tree cursor to `function` with the `/` search, by its full BDF.
  @MainActor
  static func select(_ function: Int, in state: inout ExplorerState) throws {
    let bdf = state.topology[function].bdf.description
    state.handle(.key(.character("/")))
    for character in bdf { state.handle(.key(.character(character))) }
    state.handle(.key(.enter))
    guard state.selectedFunction == function else {
      throw CLIFailure("bench: searching for \(bdf) did not select it")
    }
  }

  static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
  }
}
