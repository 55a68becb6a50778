/// Writes functions as `lspci -xxxx` prints them: a header line per function
/// (`0000:03:00.0 VGA compatible controller: AMD Navi 31 ...`), then config space as
/// `OFF: hh hh ...` lines of 16 bytes, then a blank line. `lspci -F FILE` reads this back.
///
/// The writer works on raw bytes with a precomputed hex table because a 4,000-function dump is
/// about 55 MB of text and must be produced in a fraction of a second.
public enum HexDumpWriter {
  /// lspci's words for the common class codes (base class + subclass).
  static func className(_ classCode: UInt32) -> String {
    switch classCode >> 8 {
    case 0x0100: return "SCSI storage controller"
    case 0x0106: return "SATA controller"
    case 0x0108: return "Non-Volatile memory controller"
    case 0x0200: return "Ethernet controller"
    case 0x0207: return "Infiniband controller"
    case 0x0300: return "VGA compatible controller"
    case 0x0302: return "3D controller"
    case 0x0380: return "Display controller"
    case 0x0403: return "Audio device"
    case 0x0600: return "Host bridge"
    case 0x0601: return "ISA bridge"
    case 0x0604: return "PCI bridge"
    case 0x0806: return "IOMMU"
    case 0x0880: return "System peripheral"
    case 0x0c03: return "USB controller"
    default: return "Class \(hex(classCode >> 8, width: 4))"
    }
  }

  /// The header line lspci prints before the hex block (without the newline).
  public static func headerLine(for function: PCIFunction) -> String {
    var line = "\(function.bdf) \(className(function.classCode)): "
    line += [function.vendorName, function.name].compactMap { $0 }.joined(separator: " ")
    if function.vendorName == nil && function.name == nil { line += "Device \(function.idPair)" }
    if function.revision != 0 { line += " (rev \(hex(function.revision, width: 2)))" }
    return line
  }

  /// The whole dump as UTF-8 bytes. Functions without config bytes are written as a header only.
  public static func write(_ functions: [PCIFunction]) -> [UInt8] {
    let sorted = functions.sorted(by: { $0.bdf < $1.bdf })
    let headers = sorted.map { Array(headerLine(for: $0).utf8) }
    // Upper bound: header + newline, then at most "fff:" + 16 × " hh" + "\n" = 53 bytes per
    // 16 config bytes, then the blank line.
    var capacity = 0
    for (function, header) in zip(sorted, headers) {
      capacity += header.count + 2 + ((function.config?.count ?? 0) / 16) * 53
    }
    // " hh" for every byte value, so each config byte is one 3-byte copy.
    let digits = Array("0123456789abcdef".utf8)
    var triples = [UInt8](repeating: 0x20, count: 256 * 3)
    for value in 0..<256 {
      triples[value * 3 + 1] = digits[value >> 4]
      triples[value * 3 + 2] = digits[value & 0xf]
    }
    let zeroLine: [UInt8] = (0..<48).map { $0 % 3 == 0 ? 0x20 : 0x30 }
    return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initializedCount in
      guard var cursor = buffer.baseAddress else { return }
      let begin = cursor
      triples.withUnsafeBufferPointer { triples in
        zeroLine.withUnsafeBufferPointer { zeroLine in
          guard let triples = triples.baseAddress, let zeroLine = zeroLine.baseAddress else { return }
          for (function, header) in zip(sorted, headers) {
            header.withUnsafeBufferPointer { header in
              if let base = header.baseAddress { cursor.update(from: base, count: header.count) }
              cursor += header.count
            }
            cursor.pointee = 0x0a
            cursor += 1
            let bytes = function.config?.bytes ?? []
            bytes.withUnsafeBufferPointer { config in
              guard let config = config.baseAddress else { return }
              var offset = 0
              while offset + 16 <= bytes.count {
                if offset >= 0x100 {
                  cursor.pointee = digits[(offset >> 8) & 0xf]
                  cursor += 1
                }
                cursor[0] = digits[(offset >> 4) & 0xf]
                cursor[1] = digits[offset & 0xf]
                cursor[2] = 0x3a  // ':'
                cursor += 3
                let line = config + offset
                // Most of a 4 KiB config space is zero: copy a ready-made zero line.
                let low = UnsafeRawPointer(line).loadUnaligned(as: UInt64.self)
                let high = UnsafeRawPointer(line + 8).loadUnaligned(as: UInt64.self)
                if low | high == 0 {
                  cursor.update(from: zeroLine, count: 48)
                } else {
                  for column in 0..<16 {
                    (cursor + column * 3).update(from: triples + Int(line[column]) * 3, count: 3)
                  }
                }
                cursor += 48
                cursor.pointee = 0x0a
                cursor += 1
                offset += 16
              }
            }
            cursor.pointee = 0x0a
            cursor += 1
          }
        }
      }
      initializedCount = cursor - begin
    }
  }
}
