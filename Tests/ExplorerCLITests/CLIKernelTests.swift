import Foundation
import P2PDMA
import PCITopology
import TestSupport
import Testing

@testable import ExplorerCLI

/// `--kernel`, `--dmabuf-move-notify` and the kernel each output names (issue 9 items 1, 2, 6).
@Suite("CLI kernel release") struct CLIKernelTests {
  static func json(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    guard let dictionary = object as? [String: Any] else {
      throw CLITestError("not a JSON object: \(text.prefix(200))")
    }
    return dictionary
  }

  static func kernel(_ text: String) throws -> [String: Any] {
    guard let kernel = try json(text)["kernel"] as? [String: Any] else { throw CLITestError("no kernel object") }
    return kernel
  }

  /// EPYC/Ryzen root complex 1022:1480 through the host bridge: refused before the 5.9 CPU rule.
  @Test func matrixVerdictsFollowTheReleaseAndKeepTheShape() throws {
    let old = try runCLI(["matrix", "--topology", "amd-zen-root-ports", "--kernel", "5.4", "--format", "json"])
    let new = try runCLI(["matrix", "--topology", "amd-zen-root-ports", "--format", "json"])
    #expect(old.status == 0 && new.status == 0, "\(old)")
    let (oldJSON, newJSON) = (try Self.json(old.stdout), try Self.json(new.stdout))
    #expect(Set(oldJSON.keys) == Set(newJSON.keys))
    let oldKernel = try Self.kernel(old.stdout)
    #expect(oldKernel["release"] as? String == "5.4")
    #expect(oldKernel["source"] as? String == "given")
    #expect(oldKernel["dmabuf_move_notify"] as? Bool == false)
    let newKernel = try Self.kernel(new.stdout)
    #expect(newKernel["release"] as? String == "mainline" && newKernel["source"] as? String == "default")
    #expect(newKernel["dmabuf_move_notify"] as? Bool == true)
    let oldTypes = (oldJSON["pairs"] as? [[String: Any]] ?? []).compactMap { $0["map_type"] as? String }
    let newTypes = (newJSON["pairs"] as? [[String: Any]] ?? []).compactMap { $0["map_type"] as? String }
    #expect(oldTypes.count == 20 && Set(oldTypes) == ["NOT_SUPPORTED"])
    #expect(newTypes.count == 20 && Set(newTypes) == ["THRU_HOST_BRIDGE"])
  }

  @Test func textOutputsNameTheReleaseAndItsDoubts() throws {
    let result = try runCLI(["matrix", "--topology", "amd-zen-root-ports", "--kernel", "6.1", "--format", "summary"])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("kernel: 6.1 (given), CONFIG_DMABUF_MOVE_NOTIFY=n (the release's default (n))"))
    #expect(result.stdout.contains("note: UNCONFIRMED for 6.1: map-type-on-unknown (6.2)"), "\(result)")
  }

  @Test(arguments: [
    (["--kernel", "six"], "--kernel:"),
    (["--kernel", "7.1", "--dmabuf-move-notify", "n"], "removed in 7.1"),
    (["--kernel", "5.4", "--dmabuf-move-notify", "y"], "arrived with dynamic dma-buf attach in 5.7"),
    (["--dmabuf-move-notify", "maybe"], "is not y or n"),
  ])
  func badKernelOptionsFailWithOneLine(extra: [String], message: String) throws {
    let result = try runCLI(["matrix", "--topology", "switch-local-p2p"] + extra)
    #expect(result.status != 0)
    #expect(result.stderr.contains(message), "\(result)")
    #expect(result.stdout.isEmpty)
  }

  @Test func moveNotifyIsTakenWhereTheReleaseHasIt() throws {
    let result = try runCLI([
      "explain", "--topology", "switch-local-p2p", "--kernel", "6.12", "--dmabuf-move-notify", "y",
      "--provider", "03:00.0", "--client", "04:00.0", "--format", "json",
    ])
    #expect(result.status == 0, "\(result)")
    let kernel = try Self.kernel(result.stdout)
    #expect(kernel["release"] as? String == "6.12" && kernel["dmabuf_move_notify"] as? Bool == true)
  }

  /// A copied sysfs tree with proc/sys/kernel/osrelease and boot/config-RELEASE beside it.
  @Test func sysfsUsesTheRunningKernelAndItsConfig() throws {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x1022, device: 0x1480)
    let port = builder.rootPort("0000:00:01.1", vendor: 0x1022, device: 0x1483)
    builder.endpoint(below: port)
    let fake = try FakeSysfs(functions: builder.build().functions)
    defer { fake.remove() }
    let release = "6.8.0-49-generic"
    let kernelDirectory = fake.root.appendingPathComponent("proc/sys/kernel", isDirectory: true)
    try FileManager.default.createDirectory(at: kernelDirectory, withIntermediateDirectories: true)
    try Data("\(release)\n".utf8).write(to: kernelDirectory.appendingPathComponent("osrelease"))
    let spec = "sysfs:\(fake.root.path)"

    let noConfig = try runCLI(["matrix", "--topology", spec, "--format", "json"])
    #expect(noConfig.status == 0, "\(noConfig)")
    let guessed = try Self.kernel(noConfig.stdout)
    #expect(guessed["release"] as? String == release && guessed["source"] as? String == "running")
    #expect(guessed["dmabuf_move_notify"] as? Bool == false)
    #expect(
      (guessed["notes"] as? [String] ?? []).contains { $0.contains("CONFIG_DMABUF_MOVE_NOTIFY assumed n") },
      "\(guessed)")

    let boot = fake.root.appendingPathComponent("boot", isDirectory: true)
    try FileManager.default.createDirectory(at: boot, withIntermediateDirectories: true)
    try Data("CONFIG_DMA_SHARED_BUFFER=y\nCONFIG_DMABUF_MOVE_NOTIFY=y\n".utf8).write(
      to: boot.appendingPathComponent("config-\(release)"))
    let withConfig = try runCLI(["matrix", "--topology", spec])
    #expect(withConfig.status == 0, "\(withConfig)")
    #expect(
      withConfig.stdout.contains(
        "kernel: \(release) (the running kernel), CONFIG_DMABUF_MOVE_NOTIFY=y (\(boot.path)/config-\(release))"),
      "\(withConfig)")

    let given = try runCLI(["matrix", "--topology", spec, "--kernel", "5.10", "--format", "json"])
    #expect(try Self.kernel(given.stdout)["source"] as? String == "given")
  }

  @Test func scenarioFilesMayNameARelease() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kernel-scenario-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = CLI.packageRoot.appendingPathComponent("assets/topologies/amd-zen-root-ports.json")
    var text = try String(contentsOf: source, encoding: .utf8)
    text = text.replacingOccurrences(of: "\"kernel\": \"mainline\"", with: "\"kernel\": \"5.15\"")
    let file = directory.appendingPathComponent("zen-on-5.15.json")
    try Data(text.utf8).write(to: file)
    let result = try runCLI(["matrix", "--topology", file.path, "--format", "json"])
    #expect(result.status == 0, "\(result)")
    let kernel = try Self.kernel(result.stdout)
    #expect(kernel["release"] as? String == "5.15" && kernel["source"] as? String == "given")
    text = text.replacingOccurrences(of: "\"kernel\": \"5.15\"", with: "\"kernel\": \"latest\"")
    try Data(text.utf8).write(to: file)
    let bad = try runCLI(["matrix", "--topology", file.path])
    #expect(bad.status != 0 && bad.stderr.contains("platform.kernel"), "\(bad)")
  }

  /// explain's caller labels follow the release: amdgpu's attach is a verbose caller on 5.10 (no
  /// caller is quiet there) and a quiet one from 6.1 (UNCONFIRMED exact release).
  @Test func explainNamesTheVerboseAndQuietCallersOfTheRelease() throws {
    func labels(_ release: String) throws -> [Substring] {
      let result = try runCLI([
        "explain", "--topology", "xeon-acs-redirect", "--kernel", release, "--provider", "19:00.0", "--client",
        "1a:00.0",
      ])
      #expect(result.status == 0, "\(result)")
      return result.stdout.split(separator: "\n").filter { $0.hasPrefix("dmesg, ") }
    }
    #expect(
      try labels("5.10") == [
        "dmesg, verbose caller (habanalabs, amdgpu attach):",
        "dmesg, quiet caller (verbose=false; no modelled in-tree caller passes it in 5.10):",
      ])
    #expect(
      try labels("6.1") == [
        "dmesg, verbose caller (habanalabs):",
        "dmesg, quiet caller (amdgpu attach (UNCONFIRMED for 6.1): verbose=false):",
      ])
  }

  /// explain ends with the pair on 4.20 … mainline and marks the 5.9 CPU rule as the change.
  @Test func explainEndsWithTheReleaseTimeline() throws {
    let result = try runCLI([
      "explain", "--topology", "amd-zen-root-ports", "--kernel", "5.4", "--provider", "01:00.0", "--client", "02:00.0",
    ])
    #expect(result.status == 0, "\(result)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    guard let start = lines.firstIndex(where: { $0.hasPrefix("By release") }) else {
      Issue.record("no timeline: \(result)")
      return
    }
    let timeline = Array(lines[(start + 1)...].prefix(8))
    #expect(
      timeline.map { String($0.dropFirst(2).prefix(8)).trimmingCharacters(in: .whitespaces) } == [
        "4.20", "5.4", "5.10", "5.15", "6.1", "6.6", "6.12", "mainline",
      ])
    #expect(timeline[1].contains("NOT_SUPPORTED") && timeline[1].contains("[this run]"))
    #expect(timeline[2].contains("THRU_HOST_BRIDGE 4  <- changed: 5.9 cpu-rule-amd-zen"), "\(timeline[2])")
    #expect(!timeline[3].contains("changed"))
    // amdgpu's attach was a verbose caller from its VRAM export (5.8) until its 6.1-era change.
    #expect(result.stdout.contains("dmesg, verbose caller (habanalabs):"), "\(result)")
    let on510 = try runCLI([
      "explain", "--topology", "amd-zen-root-ports", "--kernel", "5.10", "--provider", "01:00.0", "--client", "02:00.0",
    ])
    #expect(on510.stdout.contains("dmesg, verbose caller (habanalabs, amdgpu attach):"), "\(on510)")

    let json = try runCLI([
      "explain", "--topology", "amd-zen-root-ports", "--provider", "01:00.0", "--client", "02:00.0", "--format", "json",
    ])
    let verdicts = try Self.json(json.stdout)["verdicts"] as? [[String: Any]] ?? []
    let byRelease = verdicts.first?["by_release"] as? [[String: Any]] ?? []
    #expect(byRelease.compactMap { $0["release"] as? String }.count == 8)
    #expect(byRelease[2]["changed_by"] as? [String] == ["cpu-rule-amd-zen"])
  }

  @Test func kernelsListsTheChangesTable() throws {
    let text = try runCLI(["kernels", "--kernel", "6.12", "--area", "vfio"])
    #expect(text.status == 0, "\(text)")
    #expect(text.stdout.contains("6.19     vfio         confirmed   vfio-dmabuf-export  [in 6.12: no]"), "\(text)")
    let old = try runCLI(["kernels", "--kernel", "5.3", "--area", "rdma"])
    #expect(
      old.stdout.contains(
        "  cannot be used for peer-to-peer DMA as the client and provider (%s) do not share an upstream bridge\n"))
    #expect(!old.stdout.contains("Host bridge not in P2PDMA whitelist"))
    #expect(
      try runCLI(["kernels", "--kernel", "5.15"]).stdout.contains("  Host bridge not in P2PDMA whitelist: %04x:%04x"))
    let json = try runCLI(["kernels", "--format", "json"])
    let rows = try Self.json(json.stdout)["changes"] as? [[String: Any]] ?? []
    let zen = rows.first { $0["id"] as? String == "cpu-rule-amd-zen" }
    #expect(zen?["release"] as? String == "5.9" && zen?["confirmed"] as? Bool == true)
    #expect((zen?["source"] as? String)?.contains("dea286bb71ba") == true)
    #expect(rows.contains { $0["id"] as? String == "xe-driver" && $0["confirmed"] as? Bool == false })
  }
}
