/// The 2018 trade-off (kernel-model §6): giving a device's memory `struct page`s (ZONE_DEVICE,
/// `MEMORY_DEVICE_PCI_P2PDMA`) costs RAM; `dma_map_resource()` needs none.
///
/// Jerome Glisse's estimate in the "[PATCH 4/8] dma-buf: add peer2peer flag" thread assumes
/// 64 bytes of `struct page` per 4 KiB page, i.e. device memory / 64 (about 1.56 %). His 32 GB
/// row wrote 2^34 where 2^35 is meant; the results below use the corrected exponent.
public enum StructPageCost {
  /// Assumed `sizeof(struct page)` (2^6 bytes).
  public static let structPageBytes: UInt64 = 64
  /// The page size the estimate uses.
  public static let pageBytes: UInt64 = 4096

  /// RAM needed for the `struct page` array covering `deviceMemory` bytes.
  public static func bytes(forDeviceMemory deviceMemory: UInt64) -> UInt64 {
    (deviceMemory / pageBytes + (deviceMemory % pageBytes == 0 ? 0 : 1)) * structPageBytes
  }

  /// One row of the table.
  public struct Row: Sendable, Equatable {
    public var deviceMemory: UInt64
    public var structPageRAM: UInt64
    /// `2^6·2^35/2^12 = 2^29` style formula.
    public var formula: String
  }

  /// A row for any size; the formula is shown with powers of two when the size is one.
  public static func row(forDeviceMemory deviceMemory: UInt64) -> Row {
    let cost = bytes(forDeviceMemory: deviceMemory)
    let formula: String
    if deviceMemory.nonzeroBitCount == 1 && cost.nonzeroBitCount == 1 {
      formula = "2^6·2^\(deviceMemory.trailingZeroBitCount)/2^12 = 2^\(cost.trailingZeroBitCount)"
    } else {
      formula = "64 · \(deviceMemory)/4096 = \(cost)"
    }
    return Row(deviceMemory: deviceMemory, structPageRAM: cost, formula: formula)
  }

  /// The corrected table of the 2018 mail: 4, 8, 16 and 32 GiB.
  public static let referenceRows: [Row] = [4, 8, 16, 32].map { row(forDeviceMemory: UInt64($0) << 30) }
}
