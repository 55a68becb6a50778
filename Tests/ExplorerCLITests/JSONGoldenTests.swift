import DMABufSim
import Foundation
import PCITopology
import Testing

@testable import ExplorerCLI

/// What every `--format json` command prints, pinned byte for byte through the real binary (so
/// the output writer's escaping and the `"kernel"` object simulate inserts are part of it):
/// `tree`, `matrix`, `explain`, `simulate`, `kernels`, `buffers` and `scenarios` on several
/// built-in scenarios and real captures. The JSON schemas README documents must not move; an
/// intended change is named in the commit that re-records them with
/// `JSON_GOLDEN_RECORD=1 swift test --filter JSONGoldenTests`.
@Suite struct JSONGoldenTests {
  /// Outside every target folder, so SwiftPM does not treat the files as sources or resources.
  static let goldenDirectory = CLI.packageRoot.appendingPathComponent("Tests/Golden/JSON", isDirectory: true)
  static let recording = ProcessInfo.processInfo.environment["JSON_GOLDEN_RECORD"] == "1"

  static let scenarios = ["teaching-workstation", "xeon-acs-redirect", "small-bar", "switch-local-p2p", "multi-domain"]

  /// Captures that load and cover AMD, Intel iGPU/dGPU, POWER9, ARM, switches and a partial
  /// input (`lspci -tv` only); small enough that the matrix goldens stay under 1 MB each.
  static let captures = [
    "laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt",
    "desktop-huananzhi-x99-qd4-xeon-e5v3+rx6600_lspci-nnvvvxxxx.txt",
    "server-raptor-talos2-power9_lspci-vvxxx.txt",
    "cloud-aws-p5en-h200-efa_lspci-tv_EXCERPT-one-switch.txt",
    "laptop-dell-latitude-e6430-hd4000+nvs5200m_lspci-nnvvvxxxx.txt",
    "arm-n1sdp-plx-pex8749_lspci-vvxxx.txt",
  ]

  static let bufinfos = [
    "desktop-asus-p5ql-xeon-l5430-radeon-hd6570_dma-buf-bufinfo.txt",
    "imx6-etnaviv_dma-buf-bufinfo_from-patch-description.txt",
  ]

  /// The golden file name for an input: the scenario name or the capture's file name up to `_`.
  static func label(_ input: String) -> String {
    let name = URL(fileURLWithPath: input).lastPathComponent
    return String(name.split(separator: "_").first ?? Substring(name)).replacingOccurrences(of: ".txt", with: "")
  }

  /// Runs one command and compares (or records) its standard output; the exit status must be 0.
  static func check(_ arguments: [String], golden name: String) throws {
    let result = try runCLI(arguments)
    #expect(result.status == 0, "\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
    try compare(result.stdout, golden: name, command: arguments.joined(separator: " "))
  }

  static func compare(_ output: String, golden name: String, command: String) throws {
    // Outputs name their input file; the captures folder differs between checkouts and CI.
    let actual = output.replacing(/"[^"]*\/shared\/data\/real\//, with: "\"<real>/")
    let url = goldenDirectory.appendingPathComponent(name)
    if recording {
      try FileManager.default.createDirectory(at: goldenDirectory, withIntermediateDirectories: true)
      try actual.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    guard actual != expected else { return }
    let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let line =
      zip(actualLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
      ?? min(actualLines.count, expectedLines.count)
    let actualLine = line < actualLines.count ? String(actualLines[line].prefix(400)) : "<end>"
    let expectedLine = line < expectedLines.count ? String(expectedLines[line].prefix(400)) : "<end>"
    Issue.record(
      """
      \(command): output differs from \(name) at line \(line + 1) (JSON_GOLDEN_RECORD=1 re-records):
      expected: \(expectedLine)
      actual:   \(actualLine)
      """)
  }

  /// Every JSON command on one topology input: tree, matrix, explain of the first endpoint
  /// against the next three, simulate of up to two exporters (8 sg entries, IOMMU off and on)
  /// and simulate under an old release.
  static func checkTopology(_ input: String) throws {
    let label = label(input)
    let topology = try TopologyResolver.resolve(input)
    try check(["tree", "--topology", input, "--format", "json"], golden: "\(label).tree.json")
    try check(["matrix", "--topology", input, "--format", "json"], golden: "\(label).matrix.json")
    let endpoints = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf.description)
    if endpoints.count >= 2 {
      let clients = endpoints.dropFirst().prefix(3).flatMap { ["--client", $0] }
      try check(
        ["explain", "--topology", input, "--provider", endpoints[0]] + clients + ["--format", "json"],
        golden: "\(label).explain.json")
    }
    let exporters = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf)
      .filter { DMABufSimulator.profile(for: $0, in: topology)?.exporter != nil }.prefix(2)
    for (number, exporter) in exporters.enumerated() {
      let importers = endpoints.filter { $0 != exporter.description }.prefix(3).flatMap { ["--importer", $0] }
      guard !importers.isEmpty else { continue }
      for iommu in ["off", "on"] {
        try check(
          ["simulate", "--topology", input, "--exporter", exporter.description] + importers
            + ["--iommu", iommu, "--max-entries", "8", "--format", "json"],
          golden: "\(label).simulate\(number)-iommu-\(iommu).json")
      }
      if number == 0 {
        try check(
          ["simulate", "--topology", input, "--exporter", exporter.description] + importers
            + ["--kernel", "6.1", "--max-entries", "8", "--format", "json"],
          golden: "\(label).simulate\(number)-kernel-6.1.json")
      }
    }
  }

  @Test(arguments: scenarios)
  func builtinScenario(_ name: String) throws {
    try Self.checkTopology(name)
    try Self.check(["scenarios", name, "--format", "json"], golden: "\(name).scenario.json")
  }

  @Test(
    .enabled(if: CLI.realCapturesAvailable, "real captures (../shared/data/real) are not on this machine"),
    arguments: captures)
  func realCapture(_ name: String) throws {
    try Self.checkTopology(CLI.realCapture(name))
  }

  @Test func scenarioListAndKernelTable() throws {
    try Self.check(["scenarios", "--format", "json"], golden: "scenarios.json")
    try Self.check(["kernels", "--format", "json"], golden: "kernels.json")
    try Self.check(["kernels", "--kernel", "6.1", "--format", "json"], golden: "kernels-6.1.json")
    try Self.check(
      ["kernels", "--kernel", "5.4", "--area", "amdgpu", "--format", "json"], golden: "kernels-5.4-amdgpu.json")
  }

  @Test(
    .enabled(if: CLI.realCapturesAvailable, "real captures (../shared/data/real) are not on this machine"),
    arguments: bufinfos)
  func buffers(_ name: String) throws {
    try Self.check(
      ["buffers", "--bufinfo", CLI.realCapture(name), "--format", "json"], golden: "\(Self.label(name)).buffers.json")
    try Self.check(
      ["buffers", "--bufinfo", CLI.realCapture(name), "--topology", "teaching-workstation", "--format", "json"],
      golden: "\(Self.label(name)).buffers-topology.json")
  }
}
