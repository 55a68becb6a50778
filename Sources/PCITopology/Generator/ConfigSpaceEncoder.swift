/// Encodes a `PCIFunction` into the 4096 bytes of configuration space a real device would show,
/// so a generated machine can be written as an `lspci -xxxx` dump that `lspci -F` and our own hex
/// loader read back: header type, class, BARs, bridge bus numbers and windows, an Express
/// capability with the port type, and the ACS extended capability with its control bits.
public enum ConfigSpaceEncoder {
  /// Where the PCI Express capability sits in the standard capability list.
  public static let expressCapabilityOffset = 0x40
  /// AER first, then ACS: a real chain, so readers must walk `next` pointers to find ACS.
  public static let aerOffset = 0x100
  public static let acsOffset = 0x148

  /// A bridge's forwarding windows (`[base, limit]`, both inclusive), nil when closed.
  public struct BridgeWindows: Sendable, Equatable {
    public var memory: ClosedRange<UInt64>?
    public var prefetchable: ClosedRange<UInt64>?
    public init(memory: ClosedRange<UInt64>? = nil, prefetchable: ClosedRange<UInt64>? = nil) {
      self.memory = memory
      self.prefetchable = prefetchable
    }
  }

  public static func encode(_ function: PCIFunction, windows: BridgeWindows = BridgeWindows()) -> ConfigSpace {
    var bytes = [UInt8](repeating: 0, count: 4096)
    func put16(_ offset: Int, _ value: UInt16) {
      bytes[offset] = UInt8(truncatingIfNeeded: value)
      bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }
    func put32(_ offset: Int, _ value: UInt32) {
      put16(offset, UInt16(truncatingIfNeeded: value))
      put16(offset + 2, UInt16(truncatingIfNeeded: value >> 16))
    }
    if function.isPoweredOff {
      return ConfigSpace(bytes: [UInt8](repeating: 0xff, count: 4096))
    }
    put16(0x00, function.vendorID)
    put16(0x02, function.deviceID)
    let hasIO = function.bars.contains(where: \.isIO)
    put16(0x04, hasIO ? 0x0007 : 0x0006)  // memory (and I/O) decoding + bus master
    let hasExpress = function.portType != nil
    put16(0x06, hasExpress ? 0x0010 : 0x0000)  // capability list present
    bytes[0x08] = function.revision
    bytes[0x09] = UInt8(truncatingIfNeeded: function.classCode)
    bytes[0x0a] = UInt8(truncatingIfNeeded: function.classCode >> 8)
    bytes[0x0b] = UInt8(truncatingIfNeeded: function.classCode >> 16)
    bytes[0x0e] = (function.headerType & 0x7f) | (function.isMultiFunction ? 0x80 : 0)

    let barLimit = function.headerType == 1 ? 2 : (function.headerType == 0 ? 6 : 0)
    for bar in function.bars where bar.index >= 0 && bar.index < barLimit {
      let offset = 0x10 + 4 * bar.index
      if bar.isIO {
        put32(offset, UInt32(truncatingIfNeeded: bar.address) & ~3 | 1)
        continue
      }
      var low = UInt32(truncatingIfNeeded: bar.address) & ~0xf
      if bar.is64Bit { low |= 0x4 }
      if bar.isPrefetchable { low |= 0x8 }
      put32(offset, low)
      if bar.is64Bit, bar.index + 1 < barLimit { put32(offset + 4, UInt32(truncatingIfNeeded: bar.address >> 32)) }
    }

    if function.headerType == 1 {
      bytes[0x18] = function.primaryBus ?? function.bdf.bus
      bytes[0x19] = function.secondaryBus ?? 0
      bytes[0x1a] = function.subordinateBus ?? 0
      bytes[0x1c] = 0xf1  // I/O window closed (base above limit), 32-bit I/O addressing
      bytes[0x1d] = 0x01
      if let memory = windows.memory {
        put16(0x20, UInt16(truncatingIfNeeded: memory.lowerBound >> 16) & 0xfff0)
        put16(0x22, UInt16(truncatingIfNeeded: memory.upperBound >> 16) & 0xfff0)
      } else {
        put16(0x20, 0xfff0)
        put16(0x22, 0x0000)
      }
      if let prefetchable = windows.prefetchable {
        put16(0x24, UInt16(truncatingIfNeeded: prefetchable.lowerBound >> 16) & 0xfff0 | 1)
        put16(0x26, UInt16(truncatingIfNeeded: prefetchable.upperBound >> 16) & 0xfff0 | 1)
        put32(0x28, UInt32(truncatingIfNeeded: prefetchable.lowerBound >> 32))
        put32(0x2c, UInt32(truncatingIfNeeded: prefetchable.upperBound >> 32))
      } else {
        put16(0x24, 0xfff1)
        put16(0x26, 0x0001)
      }
    } else if function.headerType == 0 {
      put16(0x2c, function.subsystemVendorID ?? 0)
      put16(0x2e, function.subsystemDeviceID ?? 0)
    }
    bytes[0x3c] = 0xff  // no legacy IRQ line assigned
    bytes[0x3d] = function.headerType == 0 && !function.isHostBridgeClass ? 0x01 : 0x00

    guard let portType = function.portType else { return ConfigSpace(bytes: bytes) }
    bytes[0x34] = UInt8(expressCapabilityOffset)
    let express = expressCapabilityOffset
    bytes[express] = PCIRegister.capabilityIDExpress
    bytes[express + 1] = 0x00  // end of the standard list
    let slotImplemented: UInt16 = (portType == .rootPort || portType == .downstreamPort) ? 0x0100 : 0
    put16(express + 0x02, 0x0002 | UInt16(portType.rawValue) << 4 | slotImplemented)
    put32(express + 0x04, 0x0000_8002)  // Device Capabilities: 512-byte max payload, role-based errors
    put16(express + 0x08, 0x2810)  // Device Control: relaxed ordering off, max read request 512
    if portType != .rootComplexIntegratedEndpoint {
      let portNumber = UInt32(function.bdf.device)
      put32(express + 0x0c, portNumber << 24 | 0x0010_0000 | 0x104)  // Gen4 x16, DLL link active reporting
      put16(express + 0x12, 0x2000 | 0x0104)  // link up at Gen4 x16
    }
    put32(express + 0x24, 0x0000_0010)  // Device Capabilities 2: completion timeout disable

    // Extended capabilities: AER, then ACS when present.
    let acs: (capability: ACSBits, control: ACSBits)?
    if case .present(let capability, let control) = function.acs { acs = (capability, control) } else { acs = nil }
    put32(aerOffset, 0x0001 | 0x2 << 16 | UInt32(acs == nil ? 0 : acsOffset) << 20)
    if let acs {
      put32(acsOffset, UInt32(PCIRegister.extendedCapabilityIDACS) | 0x1 << 16)
      put16(acsOffset + PCIRegister.acsCapabilityOffset, acs.capability.rawValue)
      put16(acsOffset + PCIRegister.acsControlOffset, acs.control.rawValue)
    }
    return ConfigSpace(bytes: bytes)
  }
}
