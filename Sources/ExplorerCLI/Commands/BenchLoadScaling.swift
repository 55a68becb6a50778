import Foundation
import PCITopology

/// `bench`'s load-scaling figure (issue 13): the load cost per function must stay flat from
/// 10,000 to 500,000 functions (within 2x), i.e. loading is linear in the input.
///
/// The generator stops at 60,000 functions, so larger machines are copies of one generated
/// machine in further PCI domains. Each function is written as `lspci -x` (64 bytes of config):
/// 500,000 functions in `-xxxx` form would be 7 GB of text; the per-function work the loader
/// does apart from the hex rows (blocks, headers, relations) is what this figure watches.
extension BenchCommand {
  static let loadScalingCounts = [10_000, 100_000, 500_000]

  /// `count` functions: copies of `base` in domains `copy * domainStride + domain`.
  static func replicatedMachine(_ base: [PCIFunction], count: Int) -> [PCIFunction] {
    let domainStride = UInt32((base.map(\.bdf.domain).max() ?? 0) + 1)
    var functions: [PCIFunction] = []
    functions.reserveCapacity(count)
    var copy: UInt32 = 0
    while functions.count < count {
      for function in base where functions.count < count {
        var moved = function
        moved.bdf = BDF(
          domain: function.bdf.domain + copy * domainStride, bus: function.bdf.bus, device: function.bdf.device,
          function: function.bdf.function)
        if let config = function.config { moved.config = ConfigSpace(bytes: Array(config.bytes.prefix(64))) }
        functions.append(moved)
      }
      copy += 1
    }
    return functions
  }

  /// Best-of-`repeats` load time per function at each size, and whether the largest stays
  /// within 2x of the smallest.
  static func loadScalingRows(repeats: Int) throws -> [Row] {
    let base = MachineGenerator(options: .init(functionCount: 50_000, seed: 1)).generate().functions
    var rows: [Row] = []
    var perFunction: [Double] = []
    for count in loadScalingCounts {
      let bytes = HexDumpWriter.write(replicatedMachine(base, count: count))
      var best = Double.infinity
      for _ in 0..<repeats {
        let start = monotonicSeconds()
        let topology = try TopologyLoader.load(bytes: bytes, path: "bench-\(count).dump")
        best = min(best, monotonicSeconds() - start)
        guard topology.count == count else {
          throw CLIFailure("bench: loaded \(topology.count) functions of \(count)")
        }
      }
      let microseconds = best / Double(count) * 1e6
      perFunction.append(microseconds)
      rows.append(
        Row(
          name: "load \(grouped(count)) functions (lspci -x, \(bytes.count >> 20) MiB)",
          value: String(format: "%.2f µs/function (%.2f s)", microseconds, best), target: "", met: nil))
    }
    let ratio = (perFunction.max() ?? 1) / max(perFunction.min() ?? 1, 1e-9)
    rows.append(
      Row(
        name: "load cost per function, largest/smallest", value: String(format: "%.2fx", ratio),
        target: "flat within 2x", met: ratio <= 2))
    return rows
  }
}
