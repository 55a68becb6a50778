import PCITopology

/// `enum pci_p2pdma_map_type` (include/linux/pci-p2pdma.h), mainline values.
public enum MapType: Int, Sendable, CaseIterable {
  case unknown = 0
  /// `PCI_P2PDMA_MAP_NONE` (PENDING TLP-routing branch only, kernel-history.md): the memory is not
  /// P2PDMA memory at all. Named so that it cannot be read as `Optional.none`.
  case notP2PMemory = 1
  case notSupported = 2
  case busAddress = 3
  case thruHostBridge = 4

  /// `BUS_ADDR`, `THRU_HOST_BRIDGE`, `NOT_SUPPORTED` — the JSON and short form.
  public var shortName: String {
    switch self {
    case .unknown: return "UNKNOWN"
    case .notP2PMemory: return "NONE"
    case .notSupported: return "NOT_SUPPORTED"
    case .busAddress: return "BUS_ADDR"
    case .thruHostBridge: return "THRU_HOST_BRIDGE"
    }
  }
  /// `PCI_P2PDMA_MAP_BUS_ADDR` as in the kernel source.
  public var kernelName: String { "PCI_P2PDMA_MAP_" + shortName }
}

/// Which `cpu_supports_p2pdma()` answer to use.
public enum CPURule: String, Sendable, CaseIterable {
  /// AMD, family >= 0x17: any host-bridge path is allowed.
  case amdZen = "amd-zen"
  case intel
  case other

  /// `cpu_supports_p2pdma()`: true only for AMD CPUs of family >= 0x17 (Zen and newer).
  public var supportsHostBridgeP2P: Bool { self == .amdZen }
}

/// Knobs of the decision: platform facts and what-ifs. Build one with `P2PConfiguration(inferringFrom:)`
/// to get the values inferred from a topology, then override.
public struct P2PConfiguration: Sendable, Equatable {
  public var cpu: CPURule
  /// True when `cpu` was guessed from the host bridge vendor, not given.
  public var cpuWasInferred: Bool
  /// Plain words on where `cpu` came from ("given by the scenario", "inferred from host bridge
  /// 1022:14d8 (AMD)").
  public var cpuSource: String
  public var iommu: IOMMUMode
  /// `pci=disable_acs_redir=` devices: RR, CR and EC are cleared on them.
  public var disableACSRedirect: [BDF]
  /// What-if ACS Control values per device (UI toggles), applied before `disableACSRedirect`.
  public var acsControlOverrides: [BDF: ACSBits]
  /// Whether allowlist entries that are only queued (Zhaoxin, after v7.3-rc1) count. Default
  /// true: the model follows the newest PCI tree; turn off to see a v7.3 release kernel.
  public var allowlistIncludesQueuedEntries: Bool
  /// What-if: model `pci_enable_acs()` as it runs when an IOMMU driver has requested ACS
  /// (`pci_request_acs()`): every device with an ACS capability gets SV, RR, CR and UF enabled
  /// where its capability offers them. Applied to the input's Control before the overrides and
  /// `disableACSRedirect` (the kernel applies `disable_acs_redir` last too). Off by default,
  /// because dumps of a running machine already show the result.
  public var simulateKernelACSEnable: Bool
  /// The kernel release modelled and its `CONFIG_DMABUF_MOVE_NOTIFY` (default: mainline). Every
  /// per-release rule asks `kernel.release.has(_:)` (see `KernelChanges`).
  public var kernel: KernelContext

  /// The Control bits `pci_std_enable_acs()` turns on when the capability has them.
  public static let kernelDefaultACSBits: ACSBits = [
    .sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding,
  ]

  public init(
    cpu: CPURule, cpuWasInferred: Bool = false, cpuSource: String = "given", iommu: IOMMUMode = .off,
    disableACSRedirect: [BDF] = [], acsControlOverrides: [BDF: ACSBits] = [:],
    allowlistIncludesQueuedEntries: Bool = true, simulateKernelACSEnable: Bool = false,
    kernel: KernelContext = .mainline
  ) {
    self.cpu = cpu
    self.cpuWasInferred = cpuWasInferred
    self.cpuSource = cpuSource
    self.iommu = iommu
    self.disableACSRedirect = disableACSRedirect
    self.acsControlOverrides = acsControlOverrides
    self.allowlistIncludesQueuedEntries = allowlistIncludesQueuedEntries
    self.simulateKernelACSEnable = simulateKernelACSEnable
    self.kernel = kernel
  }

  /// ACS Control after the kernel-enable what-if (unchanged when it is off).
  public func controlAfterKernelEnable(capability: ACSBits, control: ACSBits) -> ACSBits {
    simulateKernelACSEnable ? control.union(capability.intersection(Self.kernelDefaultACSBits)) : control
  }
}

extension P2PConfiguration {
  /// Applies `acsControlOverrides` (replace Control; a device without a readable capability is
  /// treated as having one), then `disableACSRedirect` (clear RR, CR and EC, as
  /// `pci_disable_acs_redir()` does at boot).
  public func effectiveACS(of function: PCIFunction) -> P2PEngine.EffectiveACS {
    var control: ACSBits?
    var unknown = false
    var notes: [String] = []
    switch function.acs {
    case .absent: control = nil
    case .present(let capability, let value):
      control = controlAfterKernelEnable(capability: capability, control: value)
      if let control, control != value {
        notes.append(
          "the kernel's ACS enable (IOMMU requested ACS) turned on \(control.subtracting(value).shortNames)")
      }
    case .unknown: unknown = true
    }
    if let override = acsControlOverrides[function.bdf] {
      control = override
      unknown = false
      notes.append("ACS Control set to 0x\(hex(override.rawValue, width: 4)) (\(override.shortNames)) by a what-if")
    }
    if disableACSRedirect.contains(function.bdf) {
      if let current = control {
        let cleared = current.subtracting(.p2pRedirect)
        if cleared != current {
          notes.append("RR/CR/EC cleared by pci=disable_acs_redir (was \(current.shortNames))")
        } else {
          notes.append("listed in pci=disable_acs_redir; RR/CR/EC were already off")
        }
        control = cleared
      } else if unknown {
        // Whatever the firmware set, the parameter leaves no redirect bit on.
        unknown = false
        notes.append("ACS unreadable, but pci=disable_acs_redir leaves no redirect bit on")
      } else {
        notes.append("listed in pci=disable_acs_redir, but it has no ACS capability")
      }
    }
    return P2PEngine.EffectiveACS(
      control: control, unknown: unknown, whatIf: notes.isEmpty ? nil : notes.joined(separator: "; "))
  }
}
