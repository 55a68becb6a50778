/// A PCI function address: domain (segment), bus, device and function, as `pci_name()` prints it.
public struct BDF: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var domain: UInt32
  public var bus: UInt8
  public var device: UInt8
  public var function: UInt8

  public init(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) {
    self.domain = domain
    self.bus = bus
    self.device = device & 0x1f
    self.function = function & 0x07
  }

  /// `devfn` as the kernel packs it: device in bits 7..3, function in bits 2..0.
  public var devfn: UInt8 { (device << 3) | function }

  public var busID: BusID { BusID(domain: domain, bus: bus) }

  /// Parses `DDDD:BB:DD.F` or `BB:DD.F` (domain 0). Hex digits, case-insensitive.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    let domainText: Substring?
    let busText: Substring
    let slotText: Substring
    switch parts.count {
    case 2:
      domainText = nil
      busText = Substring(parts[0])
      slotText = Substring(parts[1])
    case 3:
      domainText = Substring(parts[0])
      busText = Substring(parts[1])
      slotText = Substring(parts[2])
    default: return nil
    }
    let slotParts = slotText.split(separator: ".", omittingEmptySubsequences: false)
    guard slotParts.count == 2,
      let bus = UInt8(hexDigits: busText, maxLength: 2),
      let device = UInt8(hexDigits: slotParts[0], maxLength: 2), device < 32,
      let function = UInt8(hexDigits: slotParts[1], maxLength: 1), function < 8
    else { return nil }
    var domain: UInt32 = 0
    if let domainText {
      guard let parsed = UInt32(hexDigits: domainText, maxLength: 8) else { return nil }
      domain = parsed
    }
    self.init(domain: domain, bus: bus, device: device, function: function)
  }

  /// `0000:1a:00.0`, the form `pci_name()` and `disable_acs_redir=` use.
  public var description: String {
    "\(hex(domain, width: 4)):\(hex(bus, width: 2)):\(hex(device, width: 2)).\(function)"
  }

  /// `1a:00.0` without the domain.
  public var shortDescription: String {
    "\(hex(bus, width: 2)):\(hex(device, width: 2)).\(function)"
  }

  /// `00.0`, the slot part as `lspci -t` prints it.
  public var slotDescription: String { "\(hex(device, width: 2)).\(function)" }

  public static func < (lhs: BDF, rhs: BDF) -> Bool {
    (lhs.domain, lhs.bus, lhs.devfn) < (rhs.domain, rhs.bus, rhs.devfn)
  }

  public init(from decoder: Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let parsed = BDF(text) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a PCI address like 0000:01:00.0"))
    }
    self = parsed
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// A bus within a PCI domain, printed `0000:17`.
public struct BusID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var domain: UInt32
  public var bus: UInt8
  public init(domain: UInt32, bus: UInt8) {
    self.domain = domain
    self.bus = bus
  }
  public var description: String { "\(hex(domain, width: 4)):\(hex(bus, width: 2))" }
  public static func < (lhs: BusID, rhs: BusID) -> Bool { (lhs.domain, lhs.bus) < (rhs.domain, rhs.bus) }
}

/// Lower-case hex, zero-padded to `width` digits.
public func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
  let digits = String(value, radix: 16)
  return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

extension FixedWidthInteger {
  /// Parses 1...maxLength hex digits with no prefix or sign.
  public init?(hexDigits text: some StringProtocol, maxLength: Int) {
    guard !text.isEmpty, text.count <= maxLength else { return nil }
    var value: Self = 0
    for scalar in text.unicodeScalars {
      guard let digit = scalar.hexDigitValue else { return nil }
      let (shifted, overflow) = value.multipliedReportingOverflow(by: 16)
      guard !overflow else { return nil }
      value = shifted + Self(digit)
    }
    self = value
  }
}

extension Unicode.Scalar {
  var hexDigitValue: Int? {
    switch value {
    case 0x30...0x39: return Int(value - 0x30)
    case 0x41...0x46: return Int(value - 0x41 + 10)
    case 0x61...0x66: return Int(value - 0x61 + 10)
    default: return nil
    }
  }
}
