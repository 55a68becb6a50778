import PCITopology

/// One device the kernel's nested walk in `calc_map_type_and_dist()` visited, with the ACS
/// facts that decided whether it counts as a redirect.
public struct P2PWalkStep: Sendable, Equatable {
  /// Which part of the path the device is on.
  public enum Side: String, Sendable {
    /// Between the provider (included) and the common device (excluded).
    case provider
    /// Between the client (included) and the common device (excluded).
    case client
    /// The nearest common upstream device, where the two paths meet.
    case common
  }

  public var bdf: BDF
  /// Index of the device in the topology.
  public var index: Int
  public var side: Side
  /// Hops from the step's own end of the path: from the provider for `.provider` and `.common`
  /// (the common device's hop is `dist_a`), from the client for `.client`.
  public var hop: Int
  /// ACS as the input described it, before any what-if.
  public var acs: ACSState
  /// ACS Control after `acsControlOverrides` and `disableACSRedirect`; nil when the device has
  /// no ACS capability or when we could not read it.
  public var effectiveControl: ACSBits?
  /// True when the effective control has RR, CR or EC set (`pci_bridge_has_acs_redir()`).
  /// Unknown ACS counts as false here; see `P2PVerdict.alternativeIfUnknownACSRedirects`.
  public var redirect: Bool
  /// True when we could not read this device's ACS and no what-if settled it.
  public var acsUnknown: Bool
  /// True when the kernel's decision used this device's redirect test. False on every step of
  /// a path with no common upstream device: the kernel ignores ACS there.
  public var countedByKernel: Bool
  /// What a what-if changed on this device, in plain words (nil when nothing).
  public var whatIf: String?

  public init(
    bdf: BDF, index: Int, side: Side, hop: Int, acs: ACSState, effectiveControl: ACSBits?,
    redirect: Bool, acsUnknown: Bool, countedByKernel: Bool, whatIf: String?
  ) {
    self.bdf = bdf
    self.index = index
    self.side = side
    self.hop = hop
    self.acs = acs
    self.effectiveControl = effectiveControl
    self.redirect = redirect
    self.acsUnknown = acsUnknown
    self.countedByKernel = countedByKernel
    self.whatIf = whatIf
  }
}

/// One `__host_bridge_whitelist()` lookup: which device stood for the host bridge and what the
/// allowlist said about it.
public struct HostBridgeLookup: Sendable, Equatable {
  /// The root bus (host bridge) looked at.
  public var rootBus: BusID
  /// The first device on that root bus, whether or not `pci_host_bridge_dev()` accepted it.
  public var firstDevice: BDF?
  /// `vendor:device` of `firstDevice`.
  public var firstDeviceIDs: String?
  /// The device `pci_host_bridge_dev()` returned (first device, accepted because it is devfn
  /// 00.0 or a root port); nil means "no host bridge device", which the kernel treats as not
  /// allowed.
  public var hostBridgeDevice: BDF?
  /// Why `pci_host_bridge_dev()` returned nothing, in plain words.
  public var rejectionReason: String?
  /// The first allowlist entry that matched, if any.
  public var matchedEntry: P2PAllowlistEntry?
  /// True when the matched entry has REQ_SAME_HOST_BRIDGE and the devices sit under different
  /// host bridges, so the lookup failed despite the match.
  public var rejectedBySameHostBridgeRule: Bool
  /// Whether this lookup allowed the path.
  public var passed: Bool
  /// Whether the kernel printed "Host bridge not in P2PDMA whitelist" for this lookup.
  public var warningPrinted: Bool

  public init(
    rootBus: BusID, firstDevice: BDF?, firstDeviceIDs: String?, hostBridgeDevice: BDF?,
    rejectionReason: String?, matchedEntry: P2PAllowlistEntry?, rejectedBySameHostBridgeRule: Bool,
    passed: Bool, warningPrinted: Bool
  ) {
    self.rootBus = rootBus
    self.firstDevice = firstDevice
    self.firstDeviceIDs = firstDeviceIDs
    self.hostBridgeDevice = hostBridgeDevice
    self.rejectionReason = rejectionReason
    self.matchedEntry = matchedEntry
    self.rejectedBySameHostBridgeRule = rejectedBySameHostBridgeRule
    self.passed = passed
    self.warningPrinted = warningPrinted
  }
}

/// The host-bridge gate of `calc_map_type_and_dist()`: `cpu_supports_p2pdma()` or
/// `host_bridge_whitelist()`.
public struct HostBridgeCheck: Sendable, Equatable {
  public var cpuRule: CPURule
  /// What `cpu_supports_p2pdma()` answered (true only for AMD family >= 0x17).
  public var cpuSupportsP2PDMA: Bool
  /// The `warn` argument passed to `host_bridge_whitelist()`: it is `acs_redirects`, not the
  /// caller's verbose flag.
  public var warn: Bool
  /// Both devices hang from the same host bridge (root bus).
  public var sameHostBridge: Bool
  /// False when the CPU rule already allowed the path, so the allowlist was never consulted.
  public var allowlistConsulted: Bool
  /// The lookups the kernel did, in order: one for a shared host bridge, up to two otherwise
  /// (the second is skipped when the first fails).
  public var lookups: [HostBridgeLookup]
  /// Whether the gate let the path through.
  public var allowed: Bool
  /// Plain-words summary of the gate.
  public var reason: String

  public init(
    cpuRule: CPURule, cpuSupportsP2PDMA: Bool, warn: Bool, sameHostBridge: Bool,
    allowlistConsulted: Bool, lookups: [HostBridgeLookup], allowed: Bool, reason: String
  ) {
    self.cpuRule = cpuRule
    self.cpuSupportsP2PDMA = cpuSupportsP2PDMA
    self.warn = warn
    self.sameHostBridge = sameHostBridge
    self.allowlistConsulted = allowlistConsulted
    self.lookups = lookups
    self.allowed = allowed
    self.reason = reason
  }
}

/// Everything `calc_map_type_and_dist(provider, client)` decides, with the evidence.
public struct P2PVerdict: Sendable, Equatable {
  public var provider: BDF
  public var client: BDF
  public var mapType: MapType
  /// What `pci_p2pdma_distance()` returns: -1 when NOT_SUPPORTED, else `pathDistance`.
  public var distance: Int
  /// `dist_a + dist_b` as the loop computed it, also when the verdict is NOT_SUPPORTED.
  public var pathDistance: Int
  /// The nearest common upstream device; nil when the paths meet only at the host bridge.
  public var commonUpstream: BDF?
  /// Devices with ACS redirect in the kernel's order (provider walk, then client walk).
  /// Empty when there is no common upstream device, since the kernel ignores ACS then.
  public var acsRedirect: [BDF]
  /// Every device visited, provider side first, then the common device, then the client side.
  public var walk: [P2PWalkStep]
  /// The host-bridge gate, when it ran (nil for BUS_ADDR paths).
  public var hostBridge: HostBridgeCheck?
  /// The caller's verbose flag these dmesg lines assume.
  public var verbose: Bool
  /// The lines the kernel would print, in order, without trailing newlines.
  public var dmesg: [String]
  /// Plain words for a student.
  public var reason: String
  /// What would change the verdict: the exact `pci=disable_acs_redir=` parameter when disabling
  /// redirect helps, else advice in words; nil when nothing needs fixing.
  public var fix: String?
  /// The exact kernel parameter (untruncated list) whenever ACS redirect played a part.
  public var kernelParameter: String?
  /// True when the dmesg copy of the ACS list was cut by the kernel's 128-byte buffer.
  public var acsListTruncatedInDmesg: Bool
  /// Devices whose ACS the decision depended on but which we could not read.
  public var unknownACS: [BDF]
  /// The verdict if every device in `unknownACS` had redirect on; nil when there are no
  /// unknowns or the answer would not change.
  public var alternativeIfUnknownACSRedirects: MapType?
  /// The `nvidia-smi topo -m` class of the pair (a different question; see `TopoClass`).
  public var topoClass: TopoClass
  /// The kernel release the verdict is for (`P2PConfiguration.kernel`).
  public var kernel: KernelRelease
  /// Before 5.4 (and on RHEL 8) there were no map types: what `upstream_bridge_distance()` returned
  /// (>= 0 allowed, 0x1000 + n through an AMD root complex, -1 no common bridge, -2 ACS redirect).
  /// nil on kernels with map types. An allowed pair is shown as BUS_ADDR, since those kernels'
  /// `pci_p2pdma_map_sg()` always used bus addresses.
  public var legacyDistance: Int?
  /// The behaviour changes of `KernelChanges` this decision consulted (present or absent in the
  /// release), in the order they were consulted.
  public var kernelRules: [KernelChange]
  /// Release-specific notes: map-time behaviour, and an `UNCONFIRMED for X.Y: …` line for every
  /// consulted change the history cannot date for this release. Empty for mainline.
  public var kernelNotes: [String]

  public init(
    provider: BDF, client: BDF, mapType: MapType, distance: Int, pathDistance: Int,
    commonUpstream: BDF?, acsRedirect: [BDF], walk: [P2PWalkStep], hostBridge: HostBridgeCheck?,
    verbose: Bool, dmesg: [String], reason: String, fix: String?, kernelParameter: String?,
    acsListTruncatedInDmesg: Bool, unknownACS: [BDF], alternativeIfUnknownACSRedirects: MapType?,
    topoClass: TopoClass, kernel: KernelRelease = .mainline, legacyDistance: Int? = nil,
    kernelRules: [KernelChange] = [], kernelNotes: [String] = []
  ) {
    self.kernel = kernel
    self.legacyDistance = legacyDistance
    self.kernelRules = kernelRules
    self.kernelNotes = kernelNotes
    self.provider = provider
    self.client = client
    self.mapType = mapType
    self.distance = distance
    self.pathDistance = pathDistance
    self.commonUpstream = commonUpstream
    self.acsRedirect = acsRedirect
    self.walk = walk
    self.hostBridge = hostBridge
    self.verbose = verbose
    self.dmesg = dmesg
    self.reason = reason
    self.fix = fix
    self.kernelParameter = kernelParameter
    self.acsListTruncatedInDmesg = acsListTruncatedInDmesg
    self.unknownACS = unknownACS
    self.alternativeIfUnknownACSRedirects = alternativeIfUnknownACSRedirects
    self.topoClass = topoClass
  }
}

/// What `pci_p2pdma_distance_many(provider, clients, n, verbose)` returns, with the per-client
/// evidence.
public struct DistanceManyResult: Sendable, Equatable {
  public var provider: BDF
  public var clients: [BDF]
  public var verbose: Bool
  /// -1 when there are no clients or any client is NOT_SUPPORTED, else the sum of distances.
  public var distance: Int
  /// Verdicts the kernel computed, in client order. Without verbose the kernel stops at the
  /// first NOT_SUPPORTED client, so later clients are missing here.
  public var verdicts: [P2PVerdict]
  /// The client at which a non-verbose call stopped, if it stopped early.
  public var stoppedAt: BDF?
  /// All dmesg lines of the call, in order.
  public var dmesg: [String]
  /// Plain words.
  public var reason: String
  /// True when the sum depends on bridges the input lacks (`distance` is then -1 but not the
  /// kernel's answer); see P2PEngine+PartialInput.swift.
  public var isUnknown = false

  public init(
    provider: BDF, clients: [BDF], verbose: Bool, distance: Int, verdicts: [P2PVerdict],
    stoppedAt: BDF?, dmesg: [String], reason: String
  ) {
    self.provider = provider
    self.clients = clients
    self.verbose = verbose
    self.distance = distance
    self.verdicts = verdicts
    self.stoppedAt = stoppedAt
    self.dmesg = dmesg
    self.reason = reason
  }
}

/// Errors of the P2P layer caused by user input; the CLI prints one line and exits 2.
public enum P2PError: UserFacingError, Sendable, Equatable {
  /// No function with this address in the topology.
  case unknownDevice(BDF)
  /// A `pci=disable_acs_redir=` item we cannot parse.
  case invalidACSRedirectItem(item: String, reason: String)

  public var description: String {
    switch self {
    case .unknownDevice(let bdf):
      return "no PCI function \(bdf) in this topology (list them with 'dmabuf-explorer tree')"
    case .invalidACSRedirectItem(let item, let reason):
      return "disable_acs_redir item '\(item)': \(reason)"
    }
  }
}
