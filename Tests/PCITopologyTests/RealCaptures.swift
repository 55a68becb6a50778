import Foundation
import PCITopology
import Testing

/// Locates the shared real-world captures (`../shared/data/real/` next to the package) and runs
/// the installed `lspci` on them. Tests that need either skip with a printed note when missing;
/// the captures are never copied into the project.
enum RealCaptures {
  /// Package root, from this file's path (Tests/PCITopologyTests/RealCaptures.swift).
  static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static let directory: URL = packageRoot.deletingLastPathComponent()
    .appendingPathComponent("shared/data/real", isDirectory: true)

  static var isAvailable: Bool {
    FileManager.default.fileExists(atPath: directory.appendingPathComponent("INDEX.md").path)
  }

  static let lspciPath = "/usr/bin/lspci"
  static var lspciAvailable: Bool { FileManager.default.isExecutableFile(atPath: lspciPath) }

  static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// The path of a capture, or nil (with a note) when the data set is not here.
  static func require(_ name: String, _ test: String = #function) -> String? {
    let path = path(name)
    guard FileManager.default.fileExists(atPath: path) else {
      print("note: \(test): skipped, \(name) not found in \(directory.path)")
      return nil
    }
    return path
  }

  static func load(_ name: String, _ test: String = #function) throws -> Topology? {
    guard let path = require(name, test) else { return nil }
    return try TopologyLoader.load(spec: path)
  }

  /// Captures `lspci -F` can read (hex dumps), excluding the malformed one.
  static let hexDumps = [
    "laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt",
    "arm-n1sdp-plx-pex8749_lspci-vvxxx.txt",
    "laptop-dell-latitude-e6430-hd4000+nvs5200m_lspci-nnvvvxxxx.txt",
    "desktop-huananzhi-x99-qd4-xeon-e5v3+rx6600_lspci-nnvvvxxxx.txt",
    "server-raptor-talos2-power9_lspci-vvxxx.txt",
    "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10de-v-xxx.txt",
    "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10b5-v-xxx.txt",
  ]

  static let malformed = "desktop-huananzhi-x99-bd4-xeon-e5v3_lspci-nnvvvxxxx_MALFORMED-stderr-mixed.txt"

  /// Tree listings (`lspci -t`, `-tv`, `-t -vvv`).
  static let trees = [
    "cloud-aws-p5en-h200-efa_lspci-tv_EXCERPT-one-switch.txt",
    "embedded-amd-ryzen-v1000-picasso+pericom-switch_lspci-t.txt",
    "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_lspci-tv.txt",
    "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-t.txt",
    "server-lenovo-sd665n-v3-2s-genoa-4x-h100sxm5-cx7switch_lspci-tvvv.txt",
    "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_lspci-tv.txt",
  ]

  /// Runs `lspci -F path args...`; nil when lspci is missing or fails.
  static func lspci(_ path: String, _ arguments: [String]) -> String? {
    guard lspciAvailable else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: lspciPath)
    process.arguments = ["-F", path] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = Pipe()
    do { try process.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self)
  }

  /// Parent of every function in a topology, by address (nil parent: on a root bus).
  static func parentMap(_ topology: Topology) -> [String: String] {
    var map: [String: String] = [:]
    for index in 0..<topology.count {
      map[topology[index].bdf.description] =
        topology.upstreamBridge(of: index).map { topology[$0].bdf.description } ?? "-"
    }
    return map
  }
}

/// A function of a topology by address literal; fails the test when the address is missing.
func function(_ topology: Topology, _ address: String) throws -> PCIFunction {
  let bdf = try #require(BDF(address), "bad address literal \(address)")
  return try #require(topology.function(bdf), "\(address) not in the topology")
}

/// Index of a function by address literal; fails the test when missing.
func indexOf(_ topology: Topology, _ address: String) throws -> Int {
  let bdf = try #require(BDF(address), "bad address literal \(address)")
  return try #require(topology.index(of: bdf), "\(address) not in the topology")
}
