/// Raw PCI configuration space bytes as far as they are known: 64 bytes (non-root sysfs,
/// `lspci -x`), 256 (`-xxx`) or 4096 (`-xxxx`, extended space). Reads past the end return nil
/// so that a short dump can never be mistaken for zeros.
public struct ConfigSpace: Sendable, Equatable {
  public var bytes: [UInt8]
  /// Ranges inside `bytes` that the input did not supply (rows missing from the middle of a hex
  /// dump; the loader filled them with 0xff as `lspci -F` does). Reads touching them return nil,
  /// like reads past the end.
  public var unreadRanges: [Range<Int>]

  public init(bytes: [UInt8], unreadRanges: [Range<Int>] = []) {
    self.bytes = bytes
    self.unreadRanges = unreadRanges
  }

  /// True when every byte of `offset..<offset+length` is in the dump.
  @inline(__always)
  func isRead(_ offset: Int, _ length: Int) -> Bool {
    guard offset >= 0, offset + length <= bytes.count else { return false }
    if unreadRanges.isEmpty { return true }
    return !unreadRanges.contains { $0.overlaps(offset..<(offset + length)) }
  }

  public var count: Int { bytes.count }
  /// True when the PCIe extended space (offsets 0x100...0xfff) is present.
  public var hasExtendedSpace: Bool { bytes.count >= 4096 }
  /// True when the standard capability list area (0x40...0xff) is present.
  public var hasCapabilityArea: Bool { bytes.count >= 256 }

  public func u8(_ offset: Int) -> UInt8? {
    guard isRead(offset, 1) else { return nil }
    return bytes[offset]
  }
  public func u16(_ offset: Int) -> UInt16? {
    guard isRead(offset, 2) else { return nil }
    return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
  }
  public func u32(_ offset: Int) -> UInt32? {
    guard isRead(offset, 4) else { return nil }
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

  /// What a walk of the extended capability list found.
  public enum ExtendedCapabilityLookup: Sendable, Equatable {
    /// The capability starts at this offset.
    case found(Int)
    /// The whole list was walked (or it is empty) and the capability is not on it.
    case absent
    /// The list goes on at this offset, but those bytes are not in the input (a cut dump, a
    /// short sysfs `config`, a missing row): the capability may be there or not.
    case notInInput(offset: Int)
  }

  /// Walks the extended capability list for `id` as `pci_find_next_ext_capability` does, with
  /// a hop bound so a corrupt loop cannot hang us. Only an input with more than 256 bytes says
  /// anything about the extended space; for 256 bytes or fewer the answer is `notInInput(0x100)`
  /// and the caller decides what a short dump means.
  public func findExtendedCapability(id: UInt16) -> ExtendedCapabilityLookup {
    guard bytes.count > 256 else { return .notInInput(offset: 0x100) }
    var pointer = 0x100
    var hops = 0
    while pointer >= 0x100, hops < 480 {
      guard let header = u32(pointer) else { return .notInInput(offset: pointer) }
      if header == 0 || header == 0xffff_ffff { return .absent }
      if UInt16(header & 0xffff) == id { return .found(pointer) }
      pointer = Int(header >> 20) & ~3
      hops += 1
    }
    return .absent
  }

  /// Offset of the extended capability with `id` (`pci_find_ext_capability`), or nil when
  /// absent or when the bytes that would tell are not in the dump (see `findExtendedCapability`).
  public func extendedCapabilityOffset(id: UInt16) -> Int? {
    if case .found(let offset) = findExtendedCapability(id: id) { return offset }
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
