/// What an `lspci` dump implies about the machine beyond config space, said where it is implied
/// and where it is not.
enum DumpPlatformFacts {
  /// `IOMMU group: N` lines are printed only when `/sys/kernel/iommu_groups` exists, i.e. an
  /// IOMMU driver was active. Whether its default domain translates or passes through
  /// (`iommu=pt`) is not in the dump: the model assumes translated and says so.
  static func infer(from functions: [PCIFunction], path: String) -> (platform: PlatformInfo, warnings: [LoadWarning]) {
    var platform = PlatformInfo()
    var warnings: [LoadWarning] = []
    let grouped = functions.filter { $0.iommuGroup != nil }.count
    if grouped > 0 {
      platform.iommu = .on
      platform.iommuNote =
        "the input lists IOMMU groups, so an IOMMU was on; translated or passthrough (iommu=pt) is not in it, "
        + "translated assumed (--iommu pt to change)"
      warnings.append(
        LoadWarning(
          "\(grouped) function(s) list an IOMMU group: IOMMU taken as on; whether it translated or passed through "
            + "(iommu=pt) is not in the dump, translated is assumed (pass --iommu pt if the machine booted with iommu=pt)",
          file: path))
    }
    return (platform, warnings)
  }
}

/// Names as `lspci` prints them without `-nn`: `Vendor Device 1b06`, `Device 1234:5678`.
enum NameWithIDs {
  /// Last words of vendor names in pci.ids, for telling `NVIDIA Corporation Device` (a device
  /// pci.ids lacked) from a real device name that ends in "Device" (`Genoa CCP/PSP 4.0 Device`)
  /// when there is no local pci.ids to compare with.
  static let vendorNameEndings: Set<String> = [
    "Corporation", "Corp.", "Inc.", "Inc", "Ltd.", "Ltd", "Limited", "Co.", "LLC", "GmbH", "AG", "[AMD]",
    "[AMD/ATI]", "Technology", "Technologies", "Semiconductor", "Semiconductors", "Electronics", "S.A.", "B.V.",
    "Systems", "[Intel]", "[Mellanox]",
  ]

  /// With `-nn` lspci prints `NVIDIA Corporation Device [10de:1b06]` for a device its pci.ids did
  /// not know; once the `[vvvv:dddd]` is split off, the name must keep the device ID as plain
  /// `lspci` would print it, or every such device reads "NVIDIA Corporation Device". `vendorName`
  /// is the local pci.ids' name for the vendor, when known.
  static func keepingDeviceID(_ name: String?, vendor: UInt16, device: UInt16, vendorName: String? = nil) -> String? {
    guard let name, vendor != 0 || device != 0 else { return name }
    if name == "Device" { return "Device \(hex(vendor, width: 4)):\(hex(device, width: 4))" }
    guard device != 0, name.hasSuffix(" Device") else { return name }
    let prefix = String(name.dropLast(7))
    let isVendorOnly =
      vendorName.map { $0 == prefix }
      ?? prefix.split(separator: " ").last.map { vendorNameEndings.contains(String($0)) } ?? false
    return isVendorOnly ? name + " " + hex(device, width: 4) : name
  }
}
