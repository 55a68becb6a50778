import Foundation

/// Platform facts of a live machine (or a copied tree that kept them) that config space lacks
/// but the kernel's decision needs: the CPU vendor and family `cpu_supports_p2pdma()` looks at
/// (`boot_cpu_data`, shown in `/proc/cpuinfo`) and whether DMA goes through a translating IOMMU
/// (the default domain `type` of each IOMMU group). Read-only, like the rest of the sysfs loader.
enum LivePlatform {
  /// Reads `PROC/cpuinfo` and `SYS/kernel/iommu_groups/*/type` under `root` ("/" for the live
  /// machine). Missing files leave the fields nil, so the P2P layer infers and says so.
  static func read(root: String) -> PlatformInfo {
    var platform = PlatformInfo()
    let cpuinfo = (root as NSString).appendingPathComponent("proc/cpuinfo")
    if let bytes = BoundedRead.readSmallRegularFile(path: cpuinfo, limit: 16 << 20) {
      let text = String(decoding: bytes, as: UTF8.self)
      let cpu = parseCPUInfo(text)
      platform.cpuVendor = cpu.vendor
      platform.cpuFamily = cpu.family
      platform.cpuModelName = cpu.modelName
    }
    let groups = (root as NSString).appendingPathComponent("sys/kernel/iommu_groups")
    platform.iommu = iommuMode(groupsDirectory: groups)
    return platform
  }

  /// The first processor's vendor, family (decimal in cpuinfo) and model name. x86 prints
  /// `vendor_id`; arm64 prints `CPU implementer`; POWER prints `cpu : POWER9 ...`.
  static func parseCPUInfo(_ text: String) -> (vendor: CPUVendor?, family: Int?, modelName: String?) {
    var vendor: CPUVendor?
    var family: Int?
    var modelName: String?
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else {
        if vendor != nil { break }  // the blank line after the first processor
        continue
      }
      let key = line[..<colon].trimmingCharacters(in: .whitespaces)
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      switch key {
      case "vendor_id" where vendor == nil:
        switch value {
        case "AuthenticAMD": vendor = .amd
        case "GenuineIntel": vendor = .intel
        case "HygonGenuine": vendor = .hygon
        case "CentaurHauls", "Shanghai": vendor = .zhaoxin
        default: vendor = .other
        }
      case "cpu family" where family == nil: family = Int(value)
      case "model name" where modelName == nil: modelName = value
      case "CPU implementer" where vendor == nil: vendor = .arm
      case "cpu" where vendor == nil && value.hasPrefix("POWER"):
        vendor = .power
        modelName = value
      default: break
      }
    }
    return (vendor, family, modelName)
  }

  /// `DMA`/`DMA-FQ` default domains translate; `identity` is passthrough (`iommu=pt`); no groups
  /// at all means no IOMMU driver. Groups without a readable `type` tell nothing.
  static func iommuMode(groupsDirectory: String) -> IOMMUMode? {
    guard let groups = try? FileManager.default.contentsOfDirectory(atPath: groupsDirectory) else { return nil }
    if groups.isEmpty { return .off }
    var sawIdentity = false
    for group in groups {
      let typeFile = (groupsDirectory as NSString).appendingPathComponent("\(group)/type")
      guard let typeBytes = BoundedRead.readSmallRegularFile(path: typeFile) else { continue }
      let type = String(decoding: typeBytes, as: UTF8.self)
      let trimmed = type.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.hasPrefix("DMA") { return .on }
      if trimmed == "identity" { sawIdentity = true }
    }
    return sawIdentity ? .passthrough : nil
  }
}
