import Foundation
import PCITopology
import Testing

@testable import P2PDMA

/// `nvidia-smi topo -m`, captured on the same machines as their `lspci -tv` trees, is an
/// independent oracle for our connection class (`TopoClass`): GPUs and NICs in PCI order, one
/// class per pair. Config space carries no socket information, so where nvidia-smi says SYS
/// (crossing the inter-socket link) we can only say NODE; every other cell must agree.
/// Skipped with a note when `../shared/data/real/` is not beside the checkout.
@Suite struct NvidiaTopoOracleTests {
  static let machines = [
    "workstation-puget-wrx90-tr-pro-2x-rtx6000ada",
    "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada",
  ]

  static var captures: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/real")
  }

  @Test(arguments: machines)
  func connectionClassesMatchNvidiaSMI(machine: String) throws {
    let tree = Self.captures.appendingPathComponent("\(machine)_lspci-tv.txt")
    let matrixFile = Self.captures.appendingPathComponent("\(machine)_nvidia-smi-topo-m.txt")
    guard FileManager.default.fileExists(atPath: tree.path),
      let matrixText = try? String(contentsOf: matrixFile, encoding: .utf8)
    else {
      print("skipped: \(machine) captures not found under \(Self.captures.path)")
      return
    }
    let topology = try TopologyLoader.load(spec: tree.path)
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))

    // nvidia-smi numbers GPUs and mlx5 NICs in PCI order; audio functions are not listed.
    let gpus = topology.functions.filter { $0.name?.contains("RTX 6000 Ada") == true }.map(\.bdf)
    let nics = topology.functions.filter { $0.name?.contains("ConnectX-7") == true }.map(\.bdf)
    let devices = gpus + nics
    let rows = Self.parseMatrix(matrixText)
    try #require(rows.count == devices.count, "nvidia-smi lists \(rows.count) devices, the tree has \(devices.count)")

    var compared = 0
    for (row, provider) in devices.enumerated() {
      for (column, client) in devices.enumerated() where row != column {
        let expected = rows[row][column]
        let ours = try engine.verdict(provider: provider, client: client).topoClass.rawValue
        if expected == "SYS" {
          #expect(ours == "NODE", "\(provider) → \(client): nvidia-smi SYS, we have \(ours)")
        } else {
          #expect(ours == expected, "\(provider) → \(client): nvidia-smi \(expected), we have \(ours)")
        }
        compared += 1
      }
    }
    #expect(compared == devices.count * (devices.count - 1))
  }

  /// The GPU/NIC cells of a `topo -m` table, row by row (first the header, then one line per
  /// device until the blank line before the legend).
  static func parseMatrix(_ text: String) -> [[String]] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let header = lines.first else { return [] }
    // Column names are GPU0, NIC1...; "GPU NUMA ID" is a trailing column, not a device.
    let names = header.split(separator: " ").filter { name in
      (name.hasPrefix("GPU") || name.hasPrefix("NIC")) && name.dropFirst(3).allSatisfy(\.isNumber) && name.count > 3
    }
    var rows: [[String]] = []
    for line in lines.dropFirst() {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      guard let first = fields.first, first.hasPrefix("GPU") || first.hasPrefix("NIC"), fields.count > names.count
      else {
        if !rows.isEmpty { break }
        continue
      }
      rows.append(Array(fields[1...names.count]))
    }
    return rows
  }
}
