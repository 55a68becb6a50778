import Assets
import Foundation
import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

/// What `simulate` prints (text and JSON), pinned byte for byte: every built-in scenario's
/// exporters (up to six, each sharing its default buffer with the next three endpoints, IOMMU
/// off and on) and the same for a few real captures. Restructuring must leave these identical;
/// an intended change is named in the commit that re-records them with
/// `SNAPSHOT_RECORD=1 swift test --filter GoldenOutputTests`.
@Suite struct GoldenOutputTests {
  static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Golden", isDirectory: true)
  static let recording = ProcessInfo.processInfo.environment["SNAPSHOT_RECORD"] == "1"

  /// Captures that load and cover the exporters: AMD, Intel iGPU/dGPU, POWER9, switches.
  static let captures = [
    "laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt",
    "desktop-huananzhi-x99-qd4-xeon-e5v3+rx6600_lspci-nnvvvxxxx.txt",
    "server-raptor-talos2-power9_lspci-vvxxx.txt",
    "server-gigabyte-epyc7551p-8x-vega20-4x-pex8747_lspci.txt",
    "embedded-amd-ryzen-v1000-picasso+pericom-switch_lspci-vv.txt",
  ]

  static var capturesAvailable: Bool {
    FileManager.default.fileExists(atPath: CaptureSweepTests.directory + "/INDEX.md")
  }

  /// Text (8 entries per table) and JSON (8 entries per table) of every share, one document.
  /// A machine without an exporter-capable endpoint has its first endpoint export as amdgpu and
  /// as a system-memory buffer instead.
  static func render(_ topology: Topology) throws -> (text: String, json: String) {
    let endpoints = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf)
    let exporters = endpoints.filter { DMABufSimulator.profile(for: $0, in: topology)?.exporter != nil }.prefix(6)
    var shares: [(BDF, String?)] = exporters.map { ($0, nil) }
    if shares.isEmpty, let first = endpoints.first { shares = [(first, "amdgpu"), (first, "system-memory")] }
    var text = ""
    var json = ""
    for (exporter, profile) in shares {
      let importers = Array(endpoints.filter { $0 != exporter }.prefix(3))
      guard !importers.isEmpty else { continue }
      for iommu in [IOMMUMode.off, .on] {
        let simulation = try DMABufSimulator.simulate(
          topology: topology,
          request: ShareRequest(
            exporter: exporter, importers: importers, exporterProfile: profile,
            configuration: P2PConfiguration(inferringFrom: topology, iommu: iommu)))
        let header =
          "=== \(exporter) -> \(simulation.attachments.map(\.importer.description).joined(separator: ", ")) "
          + "iommu \(simulation.iommu.rawValue)" + (profile.map { " as \($0)" } ?? "") + "\n"
        text += header + SimulationReport.text(simulation, maxEntries: 8)
        json += try header + SimulationReport.json(simulation, maxEntries: 8)
      }
    }
    return (text, json)
  }

  static func compare(_ actual: String, golden name: String) throws {
    let url = goldenDirectory.appendingPathComponent(name)
    if recording {
      try FileManager.default.createDirectory(at: goldenDirectory, withIntermediateDirectories: true)
      try actual.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if actual != expected {
      let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
      let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
      let first = zip(actualLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }
      let line = first?.offset ?? min(actualLines.count, expectedLines.count)
      Issue.record(
        """
        \(name) differs from its golden at line \(line + 1) (SNAPSHOT_RECORD=1 re-records):
        expected: \(line < expectedLines.count ? excerpt(expectedLines[line], other: actualLines[line]) : "<end>")
        actual:   \(line < actualLines.count ? excerpt(actualLines[line], other: expectedLines[line]) : "<end>")
        """)
    }
  }

  /// Up to 240 characters of `line` around the first place it differs from `other` (JSON
  /// documents are one long line).
  static func excerpt(_ line: Substring, other: Substring?) -> String {
    let common = other.map { zip(line, $0).prefix { $0 == $1 }.count } ?? 0
    let start = max(0, common - 80)
    let text = String(line.dropFirst(start).prefix(240))
    return (start > 0 ? "…" : "") + text
  }

  @Test(arguments: BuiltinAssets.scenarioNames)
  func builtinScenario(name: String) throws {
    let data = try #require(BuiltinAssets.scenarioData(named: name))
    let topology = try ScenarioLoader.loadScenario(data: data, path: "builtin:\(name)").topology
    let output = try Self.render(topology)
    try Self.compare(output.text, golden: "\(name).txt")
    try Self.compare(output.json, golden: "\(name).json.txt")
  }

  /// The default share of the default scenario exactly as `simulate` prints it by default.
  @Test func defaultShareFullText() throws {
    let simulation = try ShareSnapshotTests.defaultShare()
    try Self.compare(SimulationReport.text(simulation), golden: "default-share.txt")
    try Self.compare(try SimulationReport.json(simulation, maxEntries: 64), golden: "default-share.json.txt")
  }

  @Test(
    .enabled(if: capturesAvailable, "real captures not found next to the package (../shared/data/real)"),
    arguments: captures)
  func realCapture(name: String) throws {
    let topology = try TopologyLoader.load(spec: CaptureSweepTests.directory + "/" + name)
    let output = try Self.render(topology)
    let stem = String(name.prefix { $0 != "_" })
    try Self.compare(output.text, golden: "capture-\(stem).txt")
    try Self.compare(output.json, golden: "capture-\(stem).json.txt")
  }
}

/// Every exporter profile against pinned, dynamic and static importers on the hand-built switch
/// machine, so the pin paths (rdma-pinned, iommufd) and every exporter's map are pinned too.
extension GoldenOutputTests {
  static let exporterProfiles = ["amdgpu", "xe", "i915", "vfio-pci", "system-memory", "nouveau"]

  @Test func profileMatrix() throws {
    let buffers = [
      SimFixtures.framebuffer,
      BufferSpec(name: "pinned-only", size: 4 << 20, preferredPlacement: .vram, vramOffset: 0, migratable: false),
    ]
    var text = ""
    var json = ""
    for profile in Self.exporterProfiles {
      let topology = SimFixtures.topology(exporter: SimFixtures.gpu(buffers: buffers, profile: profile))
      let importerSets: [[(BDF, String)]] = [
        [(SimFixtures.switchImporter, "mlx5"), (SimFixtures.rootPortImporter, "v4l2")],
        [(SimFixtures.switchImporter, "rdma-pinned"), (SimFixtures.secondSwitchImporter, "amdgpu")],
        [(SimFixtures.rootPortImporter, "iommufd"), (SimFixtures.switchImporter, "xe")],
      ]
      for importers in importerSets {
        for buffer in buffers.map(\.name) {
          for iommu in [IOMMUMode.off, .on] {
            let simulation = try DMABufSimulator.simulate(
              topology: topology,
              request: ShareRequest(
                exporter: SimFixtures.exporter, bufferName: buffer, importers: importers.map(\.0),
                importerProfiles: Dictionary(uniqueKeysWithValues: importers), exporterProfile: profile,
                configuration: SimFixtures.configuration(iommu: iommu)))
            let header =
              "=== \(profile) \(buffer) -> \(importers.map { "\($0.0) \($0.1)" }.joined(separator: ", ")) "
              + "iommu \(iommu.rawValue)\n"
            text += header + SimulationReport.text(simulation, maxEntries: 8)
            json += try header + SimulationReport.json(simulation, maxEntries: 8)
          }
        }
      }
    }
    try Self.compare(text, golden: "profile-matrix.txt")
    try Self.compare(json, golden: "profile-matrix.json.txt")
  }
}
