/// Decoding of the standard config header, shared by the hex-dump and sysfs loaders. Register
/// layout from the PCI Local Bus and PCIe Base specifications (`include/uapi/linux/pci_regs.h`
/// names in comments).
extension ConfigSpace {
  /// `PCI_VENDOR_ID`.
  var vendorID: UInt16? { u16(0x00) }
  /// `PCI_DEVICE_ID`.
  var deviceID: UInt16? { u16(0x02) }
  /// `PCI_REVISION_ID`.
  var revision: UInt8? { u8(0x08) }
  /// `PCI_CLASS_PROG` .. `PCI_CLASS_DEVICE`: the 24-bit class code.
  var classCode24: UInt32? {
    guard let progIf = u8(0x09), let subClass = u8(0x0a), let baseClass = u8(0x0b) else { return nil }
    return UInt32(baseClass) << 16 | UInt32(subClass) << 8 | UInt32(progIf)
  }
  /// `PCI_HEADER_TYPE` with the multi-function bit (0x80) split off.
  var headerTypeAndMultiFunction: (type: UInt8, multiFunction: Bool)? {
    guard let raw = u8(0x0e) else { return nil }
    return (raw & 0x7f, raw & 0x80 != 0)
  }

  /// Primary, secondary and subordinate bus numbers of a type-1 (PCI bridge) or type-2 (CardBus)
  /// header; both keep them at 0x18..0x1a (`PCI_PRIMARY_BUS`, `PCI_CB_PRIMARY_BUS`...).
  var bridgeBusNumbers: (primary: UInt8, secondary: UInt8, subordinate: UInt8)? {
    guard let primary = u8(0x18), let secondary = u8(0x19), let subordinate = u8(0x1a) else { return nil }
    return (primary, secondary, subordinate)
  }

  /// Subsystem IDs of a type-0 header (`PCI_SUBSYSTEM_VENDOR_ID`, `PCI_SUBSYSTEM_ID`).
  var subsystemIDs: (vendor: UInt16, device: UInt16)? {
    guard let vendor = u16(0x2c), let device = u16(0x2e) else { return nil }
    return (vendor, device)
  }

  /// PCIe device/port type from the Express capability flags (`PCI_EXP_FLAGS_TYPE`, bits 7:4),
  /// as `pci_pcie_type()` reads it.
  var pcieType: PCIePortType? {
    guard let capability = capabilityOffset(id: PCIRegister.capabilityIDExpress),
      let flags = u16(capability + 2)
    else { return nil }
    return PCIePortType(rawValue: Int((flags >> 4) & 0xf))
  }

  /// ACS registers when the input has more than 256 bytes: present, absent after walking the
  /// whole extended capability list, or unknown when the list runs into bytes the input lacks
  /// (a cut dump, a sysfs `config` of 257...4095 bytes). Nil for 256 bytes or fewer (the caller
  /// decides what a short dump means).
  var acsFromExtendedSpace: ACSState? {
    guard count > 256 else { return nil }
    switch findExtendedCapability(id: PCIRegister.extendedCapabilityIDACS) {
    case .absent:
      return .absent
    case .notInInput(let offset):
      return .unknown(reason: Self.cutReason(count: count, offset: offset))
    case .found(let offset):
      guard let capability = u16(offset + PCIRegister.acsCapabilityOffset),
        let control = u16(offset + PCIRegister.acsControlOffset)
      else {
        return .unknown(reason: Self.cutReason(count: count, offset: offset + PCIRegister.acsCapabilityOffset))
      }
      return .present(capability: ACSBits(rawValue: capability), control: ACSBits(rawValue: control))
    }
  }

  /// Why ACS is unknown when the extended capability list runs into bytes we do not have.
  static func cutReason(count: Int, offset: Int) -> String {
    if offset + 4 > count {
      return "the config space in the input stops at 0x\(String(count, radix: 16)) bytes, but the extended "
        + "capability list goes on at 0x\(String(offset, radix: 16)) (cut dump or short sysfs config): "
        + "ACS may be there"
    }
    return "config bytes at 0x\(String(offset, radix: 16)), where the extended capability list goes on, "
      + "are missing from the dump: ACS may be there"
  }

  /// The BARs as the registers hold them (`__pci_read_base` without the sizing writes): six for a
  /// type-0 header, two for a bridge, none for CardBus. 64-bit BARs take two slots and are named by
  /// the lower one. Zero and all-ones registers are skipped (unimplemented or unassigned). Sizes
  /// are unknown here; callers fill them from elsewhere.
  func decodeBARs(headerType: UInt8) -> [BAR] {
    let slots: Int
    switch headerType {
    case 0: slots = 6
    case 1: slots = 2
    default: slots = 0
    }
    var bars: [BAR] = []
    var index = 0
    while index < slots {
      let register = 0x10 + 4 * index
      guard let low = u32(register) else { break }
      if low == 0 || low == 0xffff_ffff {
        index += 1
        continue
      }
      if low & 0x1 != 0 {
        // I/O space (`PCI_BASE_ADDRESS_SPACE_IO`): address in bits 31:2.
        bars.append(
          BAR(index: index, address: UInt64(low & ~0x3), size: nil, is64Bit: false, isPrefetchable: false, isIO: true))
        index += 1
        continue
      }
      let memoryType = (low >> 1) & 0x3  // `PCI_BASE_ADDRESS_MEM_TYPE_MASK`
      let prefetchable = low & 0x8 != 0  // `PCI_BASE_ADDRESS_MEM_PREFETCH`
      var address = UInt64(low & ~0xf)
      var is64Bit = false
      if memoryType == 0x2, index + 1 < slots {
        is64Bit = true
        if let high = u32(register + 4) { address |= UInt64(high) << 32 }
        bars.append(BAR(index: index, address: address, size: nil, is64Bit: true, isPrefetchable: prefetchable))
        index += 2
        continue
      }
      bars.append(BAR(index: index, address: address, size: nil, is64Bit: is64Bit, isPrefetchable: prefetchable))
      index += 1
    }
    return bars
  }
}
