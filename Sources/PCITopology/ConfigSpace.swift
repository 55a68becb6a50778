/// Raw PCI configuration space bytes as far as they are known: 64 bytes (non-root sysfs,
/// `lspci -x`), 256 (`-xxx`) or 4096 (`-xxxx`, extended space). Reads past the end return nil
/// so that a short dump can never be mistaken for zeros.
public struct ConfigSpace: Sendable, Equatable {
  public var bytes: [UInt8]

  public init(bytes: [UInt8]) { self.bytes = bytes }

  public var count: Int { bytes.count }
  /// True when the PCIe extended space (offsets 0x100...0xfff) is present.
  public var hasExtendedSpace: Bool { bytes.count >= 4096 }
  /// True when the standard capability list area (0x40...0xff) is present.
  public var hasCapabilityArea: Bool { bytes.count >= 256 }

  public func u8(_ offset: Int) -> UInt8? {
    guard offset >= 0, offset < bytes.count else { return nil }
    return bytes[offset]
  }
  public func u16(_ offset: Int) -> UInt16? {
    guard offset >= 0, offset + 1 < bytes.count else { return nil }
    return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
  }
  public func u32(_ offset: Int) -> UInt32? {
    guard offset >= 0, offset + 3 < bytes.count else { return nil }
    return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
      | UInt32(bytes[offset + 3]) << 24
  }

  /// A function whose vendor ID reads 0xffff is absent or powered off (D3cold): every read
  /// returns all ones.
  public var readsAllOnes: Bool { u16(0) == 0xffff }

  /// Offset of the standard capability with `id` (`pci_find_capability`), walking the list
  /// with a bound so a corrupt loop cannot hang us.
  public func capabilityOffset(id: UInt8) -> Int? {
    guard let status = u16(0x06), status & 0x10 != 0, var pointer = u8(0x34).map(Int.init) else {
      return nil
    }
    var hops = 0
    while pointer >= 0x40, hops < 48 {
      pointer &= ~3
      guard let capID = u8(pointer), let next = u8(pointer + 1) else { return nil }
      if capID == id { return pointer }
      pointer = Int(next)
      hops += 1
    }
    return nil
  }

  /// Offset of the extended capability with `id` (`pci_find_ext_capability`), or nil when
  /// absent or when the extended space is not in the dump (check `hasExtendedSpace`).
  public func extendedCapabilityOffset(id: UInt16) -> Int? {
    guard hasExtendedSpace else { return nil }
    var pointer = 0x100
    var hops = 0
    while pointer >= 0x100, hops < 480 {
      guard let header = u32(pointer), header != 0, header != 0xffff_ffff else { return nil }
      if UInt16(header & 0xffff) == id { return pointer }
      pointer = Int(header >> 20) & ~3
      hops += 1
    }
    return nil
  }
}

/// PCI capability IDs and register offsets used by the loaders (`include/uapi/linux/pci_regs.h`).
public enum PCIRegister {
  public static let capabilityIDExpress: UInt8 = 0x10
  public static let extendedCapabilityIDACS: UInt16 = 0x0d
  public static let acsCapabilityOffset = 0x04
  public static let acsControlOffset = 0x06
}
