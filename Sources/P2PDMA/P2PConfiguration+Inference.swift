import PCITopology

extension P2PConfiguration {
  /// Builds the configuration for a topology.
  ///
  /// The CPU rule comes from `cpu` when given, else from `topology.platform` (a scenario file
  /// knows the CPU), else it is inferred from the vendor of the first device on the first root
  /// bus: AMD (1022) → `amd-zen`, Intel (8086) → `intel`, anything else → `other`. Config space
  /// does not carry the CPU family, so an AMD host bridge is assumed to be Zen or newer; the
  /// source text says so. The IOMMU mode comes from `iommu`, else the platform, else off.
  public init(
    inferringFrom topology: Topology, cpu: CPURule? = nil, iommu: IOMMUMode? = nil,
    disableACSRedirect: [BDF] = [], kernel: KernelContext = .mainline
  ) {
    let (rule, inferred, source) = Self.cpuRule(for: topology, given: cpu)
    self.init(
      cpu: rule, cpuWasInferred: inferred, cpuSource: source,
      iommu: iommu ?? topology.platform.iommu ?? .off, disableACSRedirect: disableACSRedirect, kernel: kernel)
  }

  /// Decides the CPU rule and says where it came from.
  static func cpuRule(for topology: Topology, given: CPURule?) -> (CPURule, Bool, String) {
    if let given { return (given, false, "given explicitly") }
    let platform = topology.platform
    if let vendor = platform.cpuVendor {
      let family = platform.cpuFamily.map { "family 0x\(hex($0, width: 2))" }
      switch vendor {
      case .amd:
        if let cpuFamily = platform.cpuFamily, cpuFamily < 0x17 {
          return (.other, false, "given by the input: AMD \(family ?? "") is older than Zen (family 0x17)")
        }
        let detail = family.map { "AMD \($0)" } ?? "AMD (family not given, assumed Zen or newer)"
        return (.amdZen, false, "given by the input: \(detail)")
      case .hygon:
        return (
          .other, false,
          "given by the input: Hygon; cpu_supports_p2pdma() checks for the AMD vendor only, so Hygon does not count"
        )
      case .intel:
        return (.intel, false, "given by the input: Intel")
      default:
        return (.other, false, "given by the input: \(vendor.rawValue)")
      }
    }
    for bus in topology.rootBuses {
      guard let first = topology.firstDevice(onRootBus: bus) else { continue }
      let device = topology[first]
      let what = "host bridge \(device.bdf) \(device.idPair)"
      switch device.vendorID {
      case 0x1022 where Self.preZenAMDRootComplexes.contains(device.deviceID):
        return (
          .other, true,
          "inferred from \(what) (an AMD root complex of family 0x10-0x16, older than Zen, so cpu_supports_p2pdma() is false)"
        )
      case 0x1022:
        return (.amdZen, true, "inferred from \(what) (AMD; family assumed >= 0x17, i.e. Zen)")
      case 0x8086:
        return (.intel, true, "inferred from \(what) (Intel)")
      default:
        return (.other, true, "inferred from \(what) (neither AMD nor Intel)")
      }
    }
    return (.other, true, "inferred: the topology has no root-bus device to look at")
  }

  /// AMD root-complex device IDs of CPUs older than Zen (families 12h-16h and the RS780/RS880
  /// chipsets, per pci.ids), whose host bridge must not be taken for a Zen part.
  static let preZenAMDRootComplexes: Set<UInt16> = [
    0x1410, 0x1422, 0x1436, 0x1510, 0x1536, 0x1566, 0x156b, 0x1576, 0x157b, 0x1705, 0x2080, 0x9600, 0x9601,
  ]

  /// Parses the value of the kernel parameter `pci=disable_acs_redir=`: BDFs separated by `;`,
  /// each `DDDD:BB:DD.F` or `BB:DD.F`. Empty items (a trailing `;`) are skipped as the kernel
  /// does. The kernel's path form (`BB:DD.F/DD.F`) and ID form (`pci:VVVV:DDDD`) are rejected
  /// with a message, since they cannot be resolved without a live machine here. The whole
  /// parameter as dmesg suggests it (`pci=disable_acs_redir=...`) is accepted too.
  public static func parseACSRedirectList(_ text: String) throws -> [BDF] {
    var value = Substring(text).trimmingSpaces()
    for prefix in ["pci=disable_acs_redir=", "disable_acs_redir="] where value.hasPrefix(prefix) {
      value = value.dropFirst(prefix.count)
    }
    var devices: [BDF] = []
    for rawItem in value.split(separator: ";", omittingEmptySubsequences: true) {
      let item = rawItem.trimmingSpaces()
      if item.isEmpty { continue }
      if item.lowercased().hasPrefix("pci:") {
        throw P2PError.invalidACSRedirectItem(
          item: String(item), reason: "the pci:vendor:device form is not supported here; give a BDF like 0000:01:00.0")
      }
      if item.contains("/") {
        throw P2PError.invalidACSRedirectItem(
          item: String(item),
          reason: "the bus path form (BB:DD.F/DD.F) is not supported here; give a BDF like 0000:01:00.0")
      }
      guard let bdf = BDF(item) else {
        throw P2PError.invalidACSRedirectItem(
          item: String(item), reason: "not a PCI address like 0000:01:00.0 or 01:00.0")
      }
      devices.append(bdf)
    }
    return devices
  }
}

extension Substring {
  /// The text without leading and trailing spaces or tabs.
  fileprivate func trimmingSpaces() -> Substring {
    var text = self
    while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
    while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
    return text
  }
}
