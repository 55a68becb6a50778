/// The short cell codes of a pair matrix and their meanings: one legend for the `matrix`
/// command and the explorer's matrix overlay, so the two never disagree on a letter.
public enum MatrixLegend {
  /// `BUS4`, `HB4`, `NO` (also for a map type the decision never produced), `UNK` when the
  /// input lacks what the answer depends on, or `X` for a function paired with itself.
  public static func code(mapType: MapType, distance: Int, sameFunction: Bool = false) -> String {
    if sameFunction { return "X" }
    switch mapType {
    case .busAddress: return "BUS\(distance)"
    case .thruHostBridge: return "HB\(distance)"
    case .unknown: return "UNK"
    case .notSupported, .notP2PMemory: return "NO"
    }
  }

  /// The legend rows: code and meaning.
  public static let entries: [(code: String, meaning: String)] = [
    ("BUSn", "BUS_ADDR at distance n: direct through a switch, PCI bus addresses"),
    ("HBn", "THRU_HOST_BRIDGE at distance n: through the root complex, normal DMA addresses"),
    ("NO", "NOT_SUPPORTED: pci_p2pdma_distance() is -1, mapping fails"),
    ("UNK", "UNKNOWN: the answer depends on bridges that are not in the input"),
    ("X", "same function"),
  ]
}
