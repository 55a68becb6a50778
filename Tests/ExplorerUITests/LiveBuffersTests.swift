import ExplorerUI
import Foundation
import PCITopology
import Testing

/// The Buffers view (`b`): the live dma-bufs from bufinfo, mapped onto the tree; Enter sets up
/// the share of the highlighted one. Fixture bufinfo text is written here, no terminal needed.
@Suite("Buffers view")
struct LiveBuffersTests {
  /// Two buffers over the fixture machine: a 256 MiB amdgpu buffer (the GPU is the one function
  /// bound to amdgpu) attached to the NIC, the NVMe and a platform device; a page exported by the
  /// generic `drm` name, attached to the NIC.
  static let bufinfoText = """
    Dma-buf Objects:
    size    \tflags   \tmode    \tcount   \texp_name\tino     \tname
    268435456\t00000002\t00080007\t00000004\tamdgpu\t00012345\tframe
    \tAttached Devices:
    \t0000:04:00.0
    \t0000:05:00.0
    \tgpu-subsystem
    Total 3 devices attached

    00004096\t00000000\t00080005\t00000001\tdrm\t00012346\t
    \tAttached Devices:
    \t0000:04:00.0
    Total 1 devices attached

    Total 2 objects, 268439552 bytes

    """

  static func liveBuffers() throws -> LiveBuffers {
    LiveBuffers(bufinfo: try BufinfoParser.parse(bufinfoText, path: "fixture-bufinfo"), source: "fixture-bufinfo")
  }

  static func state(width: Int = 120, height: Int = 40) throws -> ExplorerState {
    var state = Fixtures.state(width: width, height: height)
    state.liveBuffers = try liveBuffers()
    return state
  }

  @Test func rowsMapTheExporterAndAttachedDevicesToFunctions() throws {
    let rows = try Self.liveBuffers().rows(in: Fixtures.topology)
    #expect(rows.count == 2)
    #expect(rows[0].exporter == Fixtures.index(Fixtures.gpu))
    #expect(rows[0].attachments.map(\.device) == ["0000:04:00.0", "0000:05:00.0", "gpu-subsystem"])
    #expect(rows[0].attachments.map(\.function) == [Fixtures.index(Fixtures.nic), Fixtures.index(Fixtures.nvme), nil])
    #expect(rows[0].importers == [Fixtures.index(Fixtures.nic), Fixtures.index(Fixtures.nvme)])
    // `drm` is the generic name every PRIME export carries: no function is guessed for it.
    #expect(rows[1].exporter == nil)
  }

  @Test func theViewListsSizeExporterAndAttachedDevices() throws {
    var state = try Self.state()
    state.press(.character("b"))
    #expect(state.overlay == .liveBuffers)
    let screen = state.screen
    expectOnScreen(
      screen, "2 buffers, with-inode layout, from fixture-bufinfo", "#1  256 MiB   exporter amdgpu → 0000:03:00.0",
      "name frame", "attached: 0000:04:00.0  15b3:1021 ConnectX-7 NIC",
      "attached: gpu-subsystem  (not a PCI function here)",
      "The tree is a built-in scenario, not a captured machine: devices are matched by PCI address only.",
      "#2  4 KiB     exporter drm (no single function: pick it with e)")
    SnapshotTests.assertSnapshot(screen.text + "\n", named: "live-buffers-120x40")
  }

  @Test func pickingABufferStartsTheShareWithItsRealImporters() throws {
    var state = try Self.state()
    state.press(.character("b"), .enter)
    #expect(state.overlay == nil)
    #expect(state.exporter == Fixtures.index(Fixtures.gpu))
    #expect(state.importers == [Fixtures.index(Fixtures.nic), Fixtures.index(Fixtures.nvme)])
    // The GPU's 256 MiB buffer 'frame' has bufinfo's size: it is the one simulated.
    #expect(state.bufferIndex == 0)
    #expect(state.run?.attachments.map(\.importer) == state.importers)
    let message = try #require(state.message)
    #expect(message.contains("buffer #1 (amdgpu): share with 2 importer(s) started, simulating 'frame'"), "\(message)")
    #expect(message.contains("not PCI functions here: gpu-subsystem"), "\(message)")
  }

  @Test func anExporterNameThatIsNoOneDriverIsNotGuessed() throws {
    var state = try Self.state()
    state.press(.character("b"), .down, .enter)
    #expect(state.exporter == nil)
    #expect(state.importers == [Fixtures.index(Fixtures.nic)])
    #expect(state.run == nil)
    #expect(state.message?.contains("no single function here is bound to 'drm'") == true, "\(state.message ?? "")")
  }

  @Test func withoutBufinfoTheViewSaysHowToGetOne() {
    var state = Fixtures.state(width: 80, height: 24)
    state.press(.character("b"))
    // Wrapped to the box at 80 columns: nothing of the advice is cut.
    SnapshotTests.assertSnapshot(state.screen.text + "\n", named: "live-buffers-none-80x24")
    state.press(.enter)  // nothing to pick: stays open, changes nothing
    #expect(state.overlay == .liveBuffers)
    #expect(state.exporter == nil)
    state.press(.escape)
    #expect(state.overlay == nil)
  }

  @Test func aFileIsReadAndAMalformedOneNamesFileAndLine() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ui-bufinfo-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let good = directory.appendingPathComponent("bufinfo").path
    try Data(Self.bufinfoText.utf8).write(to: URL(fileURLWithPath: good))
    let loaded = try LiveBuffers.load(file: good, topology: Fixtures.topology)
    #expect(loaded.bufinfo?.buffers.count == 2)
    #expect(loaded.source == good)
    let bad = directory.appendingPathComponent("bad").path
    try Data("Dma-buf Objects:\nsize flags mode count exp_name\nthis is not a row\n".utf8).write(
      to: URL(fileURLWithPath: bad))
    #expect(
      throws: TopologyError.malformed(path: bad, line: 3, message: "bufinfo: not a bufinfo line: 'this is not a row'")
    ) {
      _ = try LiveBuffers.load(file: bad, topology: Fixtures.topology)
    }
  }

  @Test func theLiveFileIsReadOnlyForThisMachineAndUnreadableIsSaid() throws {
    // A scenario's devices are not this machine's: no live listing is mapped onto them.
    let scenario = try LiveBuffers.load(file: nil, topology: Fixtures.topology, livePath: "/nonexistent/bufinfo")
    #expect(scenario.bufinfo == nil)
    #expect(scenario.unavailable?.contains("--bufinfo FILE") == true)
    var machine = Fixtures.topology
    machine.source = TopologySource(kind: .sysfs, location: "/sys", title: "this machine")
    let live = try LiveBuffers.load(file: nil, topology: machine, livePath: "/nonexistent/bufinfo")
    #expect(live.bufinfo == nil)
    #expect(
      live.unavailable
        == "/nonexistent/bufinfo: cannot read: no such file. debugfs is readable by root only: run as root, or give --bufinfo FILE."
    )
  }
}
