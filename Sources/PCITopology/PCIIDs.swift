import Foundation

/// Vendor, device and class names from the system's `pci.ids` (the file `lspci` uses), plus the
/// reverse lookups the `lspci -vvv` text loader needs when the text has names but no IDs.
///
/// Only vendor lines (`vvvv  Name`), device lines (`\tdddd  Name`) and the class section
/// (`C cc  Name`, `\tss  Name`) are read; subsystem lines are skipped. The file is parsed once,
/// on first use, as bytes.
public final class PCIIDDatabase: Sendable {
  /// `pci.ids` locations, in the order Debian/Fedora install them.
  public static let standardPaths = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]

  /// The system database, parsed on first use (a `static let` is initialised once, thread-safely).
  /// Nil when no `pci.ids` is installed.
  public static let system: PCIIDDatabase? = {
    for path in standardPaths {
      if let data = FileManager.default.contents(atPath: path) {
        return PCIIDDatabase(bytes: [UInt8](data))
      }
    }
    return nil
  }()

  private let vendors: [UInt16: String]
  private let devices: [UInt32: String]
  /// Subclass names (`VGA compatible controller`) and class names (`Display controller`) to the
  /// 16-bit class code (`0x0300`, or `0x0380`-style "other" for a class name).
  private let classByName: [String: UInt16]
  private let vendorByName: [String: UInt16]
  /// Vendor name → device name → IDs (several when the name is ambiguous).
  private let devicesByName: [UInt16: [String: [UInt16]]]

  public init(bytes: [UInt8]) {
    var vendors: [UInt16: String] = [:]
    var devices: [UInt32: String] = [:]
    var classByName: [String: UInt16] = [:]
    var vendorByName: [String: UInt16] = [:]
    var devicesByName: [UInt16: [String: [UInt16]]] = [:]
    vendors.reserveCapacity(2_600)
    devices.reserveCapacity(40_000)
    var currentVendor: UInt16?
    var currentClass: UInt8?
    var inClassSection = false
    for line in LineSequence(bytes) where !line.isEmpty {
      let first = bytes[line.start]
      if first == 0x23 { continue }  // '#'
      if first == ASCII.tab {
        // Device (one tab) or subsystem (two tabs, skipped).
        guard line.count > 1, bytes[line.start + 1] != ASCII.tab else { continue }
        if inClassSection {
          guard let classID = currentClass,
            let (value, next) = bytes.hexNumber(at: line.start + 1, end: line.end, maxDigits: 2),
            next - line.start == 3
          else { continue }
          let name = bytes.text(next, line.end)
          let code = UInt16(classID) << 8 | UInt16(value)
          if classByName[name] == nil { classByName[name] = code }
          continue
        }
        guard let vendor = currentVendor,
          let (value, next) = bytes.hexNumber(at: line.start + 1, end: line.end, maxDigits: 4),
          next - line.start == 5
        else { continue }
        let name = bytes.text(next, line.end)
        let device = UInt16(value)
        devices[UInt32(vendor) << 16 | UInt32(device)] = name
        devicesByName[vendor, default: [:]][name, default: []].append(device)
        continue
      }
      if first == 0x43, line.count > 2, bytes[line.start + 1] == ASCII.space {  // "C cc  Name"
        inClassSection = true
        currentVendor = nil
        guard let (value, next) = bytes.hexNumber(at: line.start + 2, end: line.end, maxDigits: 2)
        else {
          currentClass = nil
          continue
        }
        currentClass = UInt8(value)
        let name = bytes.text(next, line.end)
        let code = UInt16(value) << 8 | 0x80
        if classByName[name] == nil { classByName[name] = code }
        continue
      }
      guard let (value, next) = bytes.hexNumber(at: line.start, end: line.end, maxDigits: 4),
        next - line.start == 4
      else {
        // Other sections (device classes, subsystem vendors `S`...): stop attributing devices.
        currentVendor = nil
        inClassSection = false
        continue
      }
      inClassSection = false
      let vendor = UInt16(value)
      let name = bytes.text(next, line.end)
      currentVendor = vendor
      vendors[vendor] = name
      if vendorByName[name] == nil { vendorByName[name] = vendor }
    }
    self.vendors = vendors
    self.devices = devices
    self.classByName = classByName
    self.vendorByName = vendorByName
    self.devicesByName = devicesByName
  }

  public func vendorName(_ vendor: UInt16) -> String? { vendors[vendor] }

  public func deviceName(vendor: UInt16, device: UInt16) -> String? {
    devices[UInt32(vendor) << 16 | UInt32(device)]
  }

  /// The name `lspci -tv` prints (`pci_lookup_name` with vendor and device): `Vendor Device`,
  /// `Vendor Device 1234` when only the vendor is known, `Device 1234:5678` otherwise.
  public func displayName(vendor: UInt16, device: UInt16) -> String {
    let deviceHex = hex(device, width: 4)
    guard let vendorName = vendors[vendor] else { return "Device \(hex(vendor, width: 4)):\(deviceHex)" }
    guard let deviceName = deviceName(vendor: vendor, device: device) else {
      return "\(vendorName) Device \(deviceHex)"
    }
    return "\(vendorName) \(deviceName)"
  }

  /// 16-bit class code (base << 8 | subclass) for a name `lspci` prints before the colon
  /// (`VGA compatible controller`), or nil.
  public func classCode(named name: String) -> UInt16? { classByName[name] ?? PCIClassNames.builtin[name] }

  /// Reverse of `displayName`: splits `Vendor Device` text into IDs when that is unambiguous.
  /// Returns nil when the vendor is unknown or the device name matches several IDs.
  public func resolveIDs(fromName text: String) -> (vendor: UInt16, device: UInt16?)? {
    // lspci cuts names at 128 bytes; anything much longer is not a name (and the prefix search
    // below would be quadratic on it).
    guard text.utf8.count <= 256 else { return nil }
    // `Device 1234:5678`: vendor unknown to the writer's pci.ids, IDs given.
    if text.hasPrefix("Device "), let ids = Self.parseIDPair(text.dropFirst(7)) { return ids }
    // Longest vendor name that is a prefix followed by a space.
    var bestVendor: (id: UInt16, length: Int)?
    var index = text.endIndex
    while let space = text[..<index].lastIndex(of: " ") {
      let candidate = String(text[..<space])
      if let vendor = vendorByName[candidate] {
        bestVendor = (vendor, candidate.count)
        break
      }
      index = space
    }
    guard let (vendor, length) = bestVendor else { return nil }
    let rest = String(text.dropFirst(length + 1))
    if rest.hasPrefix("Device "), let device = UInt16(hexDigits: rest.dropFirst(7), maxLength: 4) {
      return (vendor, device)
    }
    guard let candidates = devicesByName[vendor]?[rest], candidates.count == 1 else { return (vendor, nil) }
    return (vendor, candidates[0])
  }

  static func parseIDPair(_ text: Substring) -> (vendor: UInt16, device: UInt16?)? {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let vendor = UInt16(hexDigits: parts[0], maxLength: 4),
      let device = UInt16(hexDigits: parts[1], maxLength: 4)
    else { return nil }
    return (vendor, device)
  }
}

/// Class names `lspci` prints, for when no `pci.ids` is installed (PCI Code and ID Assignment
/// specification; only the classes that matter for a P2P topology and common chipset functions).
enum PCIClassNames {
  static let builtin: [String: UInt16] = [
    "Non-VGA unclassified device": 0x0000, "VGA compatible unclassified device": 0x0001,
    "SCSI storage controller": 0x0100, "IDE interface": 0x0101, "RAID bus controller": 0x0104,
    "SATA controller": 0x0106, "Serial Attached SCSI controller": 0x0107,
    "Non-Volatile memory controller": 0x0108, "Mass storage controller": 0x0180,
    "Ethernet controller": 0x0200, "Infiniband controller": 0x0207, "Fabric controller": 0x0208,
    "Network controller": 0x0280, "VGA compatible controller": 0x0300, "XGA compatible controller": 0x0301,
    "3D controller": 0x0302, "Display controller": 0x0380, "Multimedia video controller": 0x0400,
    "Multimedia audio controller": 0x0401, "Audio device": 0x0403, "Multimedia controller": 0x0480,
    "RAM memory": 0x0500, "FLASH memory": 0x0501, "CXL": 0x0502, "Memory controller": 0x0580,
    "Host bridge": 0x0600, "ISA bridge": 0x0601, "PCI bridge": 0x0604, "CardBus bridge": 0x0607,
    "Bridge": 0x0680, "Serial controller": 0x0700, "Communication controller": 0x0780,
    "PIC": 0x0800, "DMA controller": 0x0801, "Timer": 0x0802, "IOMMU": 0x0806,
    "SD Host controller": 0x0805, "System peripheral": 0x0880, "Co-processor": 0x0b40,
    "FireWire (IEEE 1394)": 0x0c00, "USB controller": 0x0c03, "SMBus": 0x0c05,
    "Serial bus controller": 0x0c80, "Encryption controller": 0x1000,
    "Signal processing controller": 0x1180, "Processing accelerators": 0x1200,
    "Non-Essential Instrumentation": 0x1300, "Unassigned class": 0xff00,
  ]
}
