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
  /// With `-nn` lspci prints `NVIDIA Corporation Device [10de:1b06]` for a device its pci.ids did
  /// not know; once the `[vvvv:dddd]` is split off, the name must keep the device ID as plain
  /// `lspci` would print it, or every such device reads "NVIDIA Corporation Device".
  ///
  /// Some real device names end in "Device" ("Genoa CCP/PSP 4.0 Device"), so the ID is added only
  /// when the name is exactly the vendor's name (as our pci.ids spells it, when it knows the
  /// vendor) plus "Device"; a tree without IDs has device 0 and is left alone.
  static func keepingDeviceID(
    _ name: String?, vendor: UInt16, device: UInt16, database: PCIIDDatabase? = nil
  ) -> String? {
    guard let name, vendor != 0, device != 0 else { return name }
    if name == "Device" { return "Device \(hex(vendor, width: 4)):\(hex(device, width: 4))" }
    guard name.hasSuffix(" Device") else { return name }
    if let vendorName = database?.vendorName(vendor), name != vendorName + " Device" { return name }
    return name + " " + hex(device, width: 4)
  }
}
