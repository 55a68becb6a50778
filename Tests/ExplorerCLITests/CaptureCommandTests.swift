import Foundation
import PCITopology
import TestSupport
import Testing

/// `capture` on a fake root, then `--topology CAPTURE`: the same `matrix --format json` byte for
/// byte as the live (fake) sysfs run.
@Suite("CLI capture") struct CaptureCommandTests {
  /// A fake machine with switches, mixed ACS, an AMD CPU, IOMMU groups of type DMA-FQ and a bufinfo.
  static func fakeMachine(configReadLength: Int) throws -> FakeSysfs {
    let machine = TopologyBuilder.synthetic(seed: 7, rootBusCount: 2, rootPortsPerBus: 3, maxSwitchDepth: 2)
    let functions = machine.functions.enumerated().map { offset, function -> PCIFunction in
      var function = function
      function.iommuGroup = offset % 5
      return function
    }
    let fake = try FakeSysfs(functions: functions, configReadLength: configReadLength)
    let root = fake.root
    let proc = root.appendingPathComponent("proc")
    try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: true)
    try Data(
      "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 97\nmodel name\t: AMD Ryzen 9 7950X\n\n"
        .utf8
    ).write(to: proc.appendingPathComponent("cpuinfo"))
    try Data("root=/dev/sda1 iommu=pt pci=disable_acs_redir=0000:00:01.0\n".utf8).write(
      to: proc.appendingPathComponent("cmdline"))
    let groups = root.appendingPathComponent("sys/kernel/iommu_groups")
    for group in 0..<5 {
      let directory = groups.appendingPathComponent(String(group))
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      try Data("DMA-FQ\n".utf8).write(to: directory.appendingPathComponent("type"))
    }
    let debug = root.appendingPathComponent("sys/kernel/debug/dma_buf")
    try FileManager.default.createDirectory(at: debug, withIntermediateDirectories: true)
    try Data("\nDma-buf Objects:\nsize\tflags\tmode\tcount\texp_name\tino\tname\n".utf8).write(
      to: debug.appendingPathComponent("bufinfo"))
    return fake
  }

  @Test(arguments: [4096, 64])
  func captureReplaysTheSameMatrix(configReadLength: Int) throws {
    let fake = try Self.fakeMachine(configReadLength: configReadLength)
    defer { fake.remove() }
    let file = fake.root.appendingPathComponent("capture.txt")
    let capture = try runCLI(["capture", "--root", fake.root.path, "--output", file.path])
    #expect(capture.status == 0, "\(capture)")
    let live = try runCLI(["matrix", "--topology", "sysfs:\(fake.root.path)", "--format", "json"])
    let replay = try runCLI(["matrix", "--topology", file.path, "--format", "json"])
    #expect(live.status == 0 && replay.status == 0, "\(live)\n\(replay)")
    #expect(live.stdout.count > 1000)
    #expect(live.stdout == replay.stdout, "replay differs from the live run")
    let text = try String(contentsOf: file, encoding: .utf8)
    #expect(text.hasPrefix("# dmabuf-explorer capture 1\n"))
    #expect(text.contains("# platform.cpu.vendor: amd\n# platform.cpu.family: 25\n"))
    #expect(text.contains("# platform.iommu: on\n"))
    #expect(text.contains("# kernel.cmdline: root=/dev/sda1 iommu=pt pci=disable_acs_redir=0000:00:01.0\n"))
    #expect(text.contains("# cpu.model: 97\n"))
    #expect(text.contains("# iommu.group: 0 DMA-FQ\n"))
    #expect(text.contains("# bufinfo| Dma-buf Objects:\n"))
    #expect(text.contains("\tIOMMU group: 1\n"))
    #expect(!text.split(separator: "\n").contains { $0.utf8.count >= 256 }, "lspci -F refuses lines of 256 bytes")
    // What could not be read is said: no kernel config, and 64-byte config for a non-root reader.
    #expect(capture.stderr.contains("note: could not read \(fake.root.path)/boot/config-unknown") == false)
    #expect(capture.stderr.contains("proc/sys/kernel/osrelease: not present"), "\(capture.stderr)")
    #expect(
      capture.stderr.contains("only the first 64 bytes (non-root reader") == (configReadLength == 64),
      "\(capture.stderr)")
  }

  /// The kernel the captured machine ran is the replay's default `--kernel`, even where the
  /// replaying machine runs another one (here: the fake root's osrelease is gone at replay).
  @Test func replayModelsTheRecordedKernel() throws {
    let fake = try Self.fakeMachine(configReadLength: 4096)
    defer { fake.remove() }
    let osrelease = fake.root.appendingPathComponent("proc/sys/kernel/osrelease")
    try FileManager.default.createDirectory(
      at: osrelease.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data("6.8.0-49-generic\n".utf8).write(to: osrelease)
    let boot = fake.root.appendingPathComponent("boot")
    try FileManager.default.createDirectory(at: boot, withIntermediateDirectories: true)
    try Data("CONFIG_PCI_P2PDMA=y\nCONFIG_DMABUF_MOVE_NOTIFY=y\n".utf8).write(
      to: boot.appendingPathComponent("config-6.8.0-49-generic"))
    let file = fake.root.appendingPathComponent("capture.txt")
    let capture = try runCLI(["capture", "--root", fake.root.path, "--output", file.path])
    #expect(capture.status == 0, "\(capture)")
    let live = try runCLI(["matrix", "--topology", "sysfs:\(fake.root.path)", "--format", "json"])
    #expect(live.stdout.contains(#""release":"6.8.0-49-generic""#) && live.stdout.contains(#""source":"running""#))
    #expect(live.stdout.contains(#""dmabuf_move_notify":true"#))
    // Replayed elsewhere: the capturing machine's kernel files are not there any more.
    try FileManager.default.removeItem(at: osrelease)
    try FileManager.default.removeItem(at: boot)
    let replay = try runCLI(["matrix", "--topology", file.path, "--format", "json"])
    #expect(replay.status == 0 && live.stdout == replay.stdout, "\(replay)")
    let text = try runCLI(["matrix", "--topology", file.path])
    #expect(
      text.stdout.contains(
        "kernel: 6.8.0-49-generic (recorded in the capture \(file.path)), "
          + "CONFIG_DMABUF_MOVE_NOTIFY=y (recorded in the capture)\n"), "\(text.stdout)")
    let given = try runCLI(["matrix", "--topology", file.path, "--kernel", "5.10"])
    #expect(given.stdout.contains("kernel: 5.10 (given), CONFIG_DMABUF_MOVE_NOTIFY=n"), "\(given.stdout)")
  }

  @Test(.enabled(if: CLI.lspciAvailable, "needs /usr/bin/lspci"))
  func lspciReadsTheCapture() throws {
    let fake = try Self.fakeMachine(configReadLength: 4096)
    defer { fake.remove() }
    let file = fake.root.appendingPathComponent("capture.txt")
    let capture = try runCLI(["capture", "--root", fake.root.path, "--output", file.path])
    #expect(capture.status == 0, "\(capture)")
    let lspci = try CLI.run(executable: CLI.lspciPath, ["-F", file.path, "-n"])
    #expect(lspci.status == 0, "\(lspci.stderr)")
    let devices = try FileManager.default.contentsOfDirectory(atPath: fake.devicesDirectory.path)
    #expect(lspci.stdout.split(separator: "\n").count == devices.count)
  }

  static var liveSysfsAvailable: Bool {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices")) ?? []).isEmpty == false
  }

  /// On this machine's real sysfs (read-only): the replay equals the live run byte for byte.
  @Test(.enabled(if: liveSysfsAvailable, "no /sys/bus/pci/devices here"))
  func captureOfThisMachineReplays() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("this-machine.capture")
    let capture = try runCLI(["capture", "--output", file.path])
    #expect(capture.status == 0, "\(capture)")
    let live = try runCLI(["matrix", "--topology", "sysfs", "--format", "json"])
    let replay = try runCLI(["matrix", "--topology", file.path, "--format", "json"])
    #expect(live.status == 0 && replay.status == 0, "\(live)\n\(replay)")
    #expect(live.stdout == replay.stdout)
  }

  /// As a non-root user: 64 bytes of config per function, what could not be read is listed, and
  /// the replay still equals that user's live run.
  @Test(
    .enabled(
      if: liveSysfsAvailable && CLI.canRunAsNobody,
      "needs /sys/bus/pci/devices, root, setpriv and a build folder nobody can reach"))
  func captureAsNonRootListsWhatItCouldNotRead() throws {
    let capture = try runCLIAsNobody(["capture"])
    try #require(!capture.stderr.contains("setpriv:"), "setpriv cannot drop privileges here")
    #expect(capture.status == 0, "\(capture)")
    #expect(capture.stderr.contains("only the first 64 bytes (non-root reader"), "\(capture.stderr)")
    #expect(capture.stdout.contains("# unreadable: config space of "))
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("nobody.capture")
    try Data(capture.stdout.utf8).write(to: file)
    let live = try runCLIAsNobody(["matrix", "--topology", "sysfs", "--format", "json"])
    let replay = try runCLI(["matrix", "--topology", file.path, "--format", "json"])
    #expect(live.status == 0 && replay.status == 0, "\(live)\n\(replay)")
    #expect(live.stdout == replay.stdout)
  }
}
