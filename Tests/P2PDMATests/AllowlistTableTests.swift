import PCITopology
import Testing

@testable import P2PDMA

/// The allowlist table itself: order and flags as in pci-tree@cd2698d7 (§1.4).
@Suite struct AllowlistTableTests {
  @Test func tableHasEveryEntryInKernelOrder() {
    let patterns = P2PAllowlist.entries.map(\.idPattern)
    #expect(patterns.count == 30)
    #expect(patterns.prefix(4) == ["8086:3c00", "8086:3c01", "8086:2f00", "8086:2f01"])
    #expect(patterns.firstIndex(of: "1ae0:*") == 20)
    #expect(patterns.suffix(5) == ["1d17:1003", "1d17:1005", "1d17:1006", "1d17:1007", "1d17:1008"])
  }

  @Test func sameHostBridgeFlagOnlyOnOldIntelAndZhaoxin() {
    let flagged = P2PAllowlist.entries.filter(\.requiresSameHostBridge).map(\.idPattern)
    #expect(
      flagged == [
        "8086:3c00", "8086:3c01", "8086:2f00", "8086:2f01", "1d17:1003", "1d17:1005", "1d17:1006", "1d17:1007",
      ])
  }
}
