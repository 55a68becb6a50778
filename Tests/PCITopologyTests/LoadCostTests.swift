import Foundation
import PCITopology
import Testing

/// Issue 13 item 7: loading is linear in the input and memory follows the distinct data.
@Suite struct LoadCostTests {
  /// A plain `lspci` listing with four functions on each of `buses` buses, spread over domains,
  /// plus one bridge per domain so the "bus inside a bridge range" check has work to do.
  static func manyRootBuses(_ buses: Int) -> [UInt8] {
    var text = ""
    text.reserveCapacity(buses * 4 * 60)
    for index in 0..<buses {
      let domain = index / 255
      let bus = index % 255 + 1
      for device in 0..<4 {
        text +=
          "\(hex(domain, width: 4)):\(hex(bus, width: 2)):\(hex(device, width: 2)).0 Ethernet controller: Device\n"
      }
    }
    return Array(text.utf8)
  }

  /// 20,000 functions on 5,000 root buses: a per-root-bus scan of every function made this take
  /// minutes in a debug build; linear work takes about a second.
  @Test func manyRootBusesLoadInLinearTime() throws {
    let bytes = Self.manyRootBuses(5_000)
    let start = ContinuousClock.now
    let topology = try TopologyLoader.load(bytes: bytes, path: "many-root-buses.txt")
    let elapsed = ContinuousClock.now - start
    #expect(topology.count == 20_000)
    #expect(topology.rootBuses.count == 5_000)
    #expect(elapsed < .seconds(20), "loading took \(elapsed)")
  }

  /// One function block repeated 100,000 times: kept once, with file:line warnings for the
  /// repeats and a count for the rest, instead of 100,000 records held until the end.
  @Test func repeatedBlocksAreDroppedAtOnce() throws {
    let block =
      "00:00.0 Host bridge: Intel Corporation Device 09a2\n00: 86 80 a2 09 06 00 10 00 00 00 00 06 00 00 00 00\n\n"
    let bytes = Array(String(repeating: block, count: 100_000).utf8)
    let topology = try TopologyLoader.load(bytes: bytes, path: "repeated.txt")
    #expect(topology.count == 1)
    #expect(topology.warnings.contains { $0.line == 4 && $0.message.contains("appears again") }, "\(topology.warnings)")
    #expect(topology.warnings.contains { $0.message.contains("99979 more repeated function blocks ignored") })
  }
}
