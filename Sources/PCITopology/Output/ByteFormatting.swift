/// The one byte-size formatter of every text output (issue 8 item 4): simulate's trace and
/// summary and the explorer's panes. One convention everywhere, so a size reads the same in the
/// trace and on screen (before, the explorer rounded to one decimal: "1.3 GiB" where the trace
/// printed "1.25 GiB", and "100 B" where it printed "100 bytes").
///
/// `8 MiB`, `1.25 GiB`, `512 bytes`: binary units, up to two decimals, no trailing zeros.
public func formatBytes(_ bytes: UInt64) -> String {
  let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
  for (size, name) in units where bytes >= size {
    // Split before scaling so that sizes near 2^64 cannot overflow.
    var whole = bytes / size
    var fraction = ((bytes % size) * 100 + size / 2) / size
    if fraction == 100 {
      whole += 1
      fraction = 0
    }
    if fraction == 0 { return "\(whole) \(name)" }
    if fraction % 10 == 0 { return "\(whole).\(fraction / 10) \(name)" }
    return "\(whole).\(fraction < 10 ? "0" : "")\(fraction) \(name)"
  }
  return "\(bytes) bytes"
}
