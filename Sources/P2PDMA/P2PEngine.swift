import PCITopology

/// The kernel's peer-to-peer DMA decision (`drivers/pci/p2pdma.c`, mainline) on one topology
/// and configuration.
///
/// `verdict` follows `calc_map_type_and_dist()` step by step and keeps the evidence;
/// `mapTypeAndDistance` and `summary` answer the same question from precomputed tables for
/// whole-machine matrices. Both read ACS through the same what-if rules.
public struct P2PEngine: Sendable {
  public let topology: Topology
  public let configuration: P2PConfiguration
  /// Indices of the functions that take part in the matrix (`isEndpointForMatrix`), in BDF order.
  public let endpointIndices: [Int]
  /// `disableACSRedirect` and `acsControlOverrides` devices that are not in the topology; the
  /// kernel silently ignores such parameter items, the CLI mentions them.
  public let unmatchedWhatIfDevices: [BDF]
  /// Precomputed per-function facts for the fast path.
  let tables: FastPathTables

  public init(topology: Topology, configuration: P2PConfiguration) {
    self.topology = topology
    self.configuration = configuration
    endpointIndices = topology.functions.indices.filter { topology[$0].isEndpointForMatrix }
    let named = configuration.disableACSRedirect + configuration.acsControlOverrides.keys.sorted()
    var unmatched: [BDF] = []
    for bdf in named where topology.index(of: bdf) == nil && !unmatched.contains(bdf) {
      unmatched.append(bdf)
    }
    unmatchedWhatIfDevices = unmatched
    tables = FastPathTables(topology: topology, configuration: configuration)
  }

  // MARK: - ACS as the decision sees it

  /// ACS of one device after the what-ifs.
  public struct EffectiveACS: Sendable {
    /// ACS Control in force; nil when the device has no ACS capability or it is unknown.
    public var control: ACSBits?
    /// True when we could not read the ACS capability and no what-if settled it.
    public var unknown: Bool
    /// What a what-if did, in words.
    public var whatIf: String?

    /// `pci_bridge_has_acs_redir()`: RR, CR or EC enabled. Unknown counts as no.
    public var redirects: Bool { control.map { !$0.isDisjoint(with: .p2pRedirect) } ?? false }
  }

  /// ACS of one device after the what-ifs (`P2PConfiguration.effectiveACS(of:)`, the one copy of
  /// the rule).
  public func effectiveACS(of index: Int) -> EffectiveACS { configuration.effectiveACS(of: topology[index]) }

  // MARK: - Single pair

  /// `calc_map_type_and_dist()` for one pair with verbose=true semantics for the dmesg lines.
  /// Throws `P2PError.unknownDevice` for an address not in the topology.
  public func verdict(provider: BDF, client: BDF) throws -> P2PVerdict {
    try verdict(provider: provider, client: client, verbose: true)
  }

  /// `calc_map_type_and_dist()` for one pair; `verbose` is the caller's flag (amdgpu and xe pass
  /// false, VFIO maps and habanalabs pass true) and only changes which dmesg lines appear.
  public func verdict(provider: BDF, client: BDF, verbose: Bool) throws -> P2PVerdict {
    verdict(providerIndex: try index(of: provider), clientIndex: try index(of: client), verbose: verbose)
  }

  /// `calc_map_type_and_dist()` by topology index, verbose=true.
  public func verdict(providerIndex: Int, clientIndex: Int) -> P2PVerdict {
    verdict(providerIndex: providerIndex, clientIndex: clientIndex, verbose: true)
  }

  /// The topology index of a BDF, or `P2PError.unknownDevice`.
  public func index(of bdf: BDF) throws -> Int {
    guard let index = topology.index(of: bdf) else { throw P2PError.unknownDevice(bdf) }
    return index
  }

  /// Mirrors `calc_map_type_and_dist()`: the nested walk, the client-side ACS pass, the
  /// distance, then the host-bridge gate. Written as a literal walk (not the fast path's
  /// depth arithmetic) so that the two can check each other.
  public func verdict(providerIndex: Int, clientIndex: Int, verbose: Bool) -> P2PVerdict {
    let release = configuration.kernel.release
    // 4.20–5.3 and RHEL 8: the int-distance API, a different function (upstream_bridge_distance).
    if !release.has(.acsRedirectThroughHostBridge) {
      return legacyVerdict(providerIndex: providerIndex, clientIndex: clientIndex, verbose: verbose)
    }
    let providerFunction = topology[providerIndex]
    let clientFunction = topology[clientIndex]
    let nested = nestedWalk(providerIndex: providerIndex, clientIndex: clientIndex)
    let (providerPath, clientPath, common, distA, distB) =
      (nested.providerPath, nested.clientPath, nested.common, nested.distA, nested.distB)
    var acsRedirect = nested.providerSideRedirects

    var walk: [P2PWalkStep] = []
    var unknownACS: [Int] = []
    func step(_ index: Int, side: P2PWalkStep.Side, hop: Int, counted: Bool) {
      let entry = walkStep(index, side: side, hop: hop, counted: counted)
      if counted && entry.acsUnknown { unknownACS.append(index) }
      walk.append(entry)
    }

    let pathDistance = distA + distB
    var dmesg: [String] = []
    var mapType = MapType.thruHostBridge
    var acsRedirects = false
    var truncated = false

    if let common {
      for (hop, index) in providerPath.prefix(distA).enumerated() {
        step(index, side: .provider, hop: hop, counted: true)
      }
      step(common, side: .common, hop: distA, counted: true)
      // Step 3: the client side, up to but not including the common device.
      for (hop, index) in clientPath.prefix(distB).enumerated() {
        step(index, side: .client, hop: hop, counted: true)
        if effectiveACS(of: index).redirects { acsRedirect.append(index) }
      }
      if acsRedirect.isEmpty {
        mapType = .busAddress
      } else {
        if verbose {
          let list = KernelLog.acsList(acsRedirect.map { topology[$0].bdf }, release: release)
          truncated = list.truncated
          dmesg.append(KernelLog.acsRedirectIsSet(client: clientFunction, provider: providerFunction.bdf))
          dmesg.append(KernelLog.disableACSRedirectHint(client: clientFunction, list: list.text))
        }
        acsRedirects = true
      }
    } else {
      // No common upstream device: the kernel drops what it collected and never tests the
      // client side, so no step here counts.
      acsRedirect = []
      for (hop, index) in providerPath.enumerated() { step(index, side: .provider, hop: hop, counted: false) }
      for (hop, index) in clientPath.enumerated() { step(index, side: .client, hop: hop, counted: false) }
    }

    var hostBridge: HostBridgeCheck?
    if mapType == .thruHostBridge {
      let gate = hostBridgeGate(provider: providerIndex, client: clientIndex, warn: acsRedirects)
      hostBridge = gate.check
      dmesg += gate.dmesg
      if !gate.check.allowed {
        mapType = .notSupported
        if verbose { dmesg.append(KernelLog.notSupported(client: clientFunction, provider: providerFunction.bdf)) }
      }
    }

    // What if the unreadable ACS devices did redirect?
    var alternative: MapType?
    if common != nil, !unknownACS.isEmpty {
      let gateAllows =
        hostBridge?.allowed
        ?? hostBridgeGate(provider: providerIndex, client: clientIndex, warn: true).check.allowed
      let other: MapType = gateAllows ? .thruHostBridge : .notSupported
      if other != mapType { alternative = other }
    }

    let between = walk.map(\.index)
    let topoClass = TopoClass.classify(
      topology: topology, provider: providerIndex, client: clientIndex, common: common, path: between)
    let redirectBDFs = acsRedirect.map { topology[$0].bdf }
    let kernelParameter =
      redirectBDFs.isEmpty ? nil : "pci=disable_acs_redir=" + redirectBDFs.map(\.description).joined(separator: ";")
    let explanation = VerdictExplainer(
      engine: self, provider: providerIndex, client: clientIndex, common: common, distA: distA,
      distB: distB, mapType: mapType, acsRedirect: acsRedirect, hostBridge: hostBridge,
      kernelParameter: kernelParameter, truncated: truncated, unknownACS: unknownACS,
      alternative: alternative)
    let (rules, notes) = kernelRulesAndNotes(
      providerIndex: providerIndex, clientIndex: clientIndex, common: common, acsRedirects: acsRedirects,
      hostBridge: hostBridge)

    let computed = P2PVerdict(
      provider: providerFunction.bdf, client: clientFunction.bdf, mapType: mapType,
      distance: mapType == .notSupported ? -1 : pathDistance, pathDistance: pathDistance,
      commonUpstream: common.map { topology[$0].bdf }, acsRedirect: redirectBDFs, walk: walk,
      hostBridge: hostBridge, verbose: verbose, dmesg: dmesg, reason: explanation.reason(),
      fix: explanation.fix(), kernelParameter: kernelParameter, acsListTruncatedInDmesg: truncated,
      unknownACS: unknownACS.map { topology[$0].bdf }, alternativeIfUnknownACSRedirects: alternative,
      topoClass: topoClass, kernel: release, kernelRules: rules, kernelNotes: notes)
    // Partial inputs: UNKNOWN where the answer depends on what the input lacks (P2PEngine+PartialInput.swift).
    return applyingPartialInput(computed, providerIndex: providerIndex, clientIndex: clientIndex)
  }

  /// One device of the walk as a verdict reports it, with the ACS control in force there
  /// (shared by every release's walk).
  func walkStep(_ index: Int, side: P2PWalkStep.Side, hop: Int, counted: Bool) -> P2PWalkStep {
    let acs = effectiveACS(of: index)
    return P2PWalkStep(
      bdf: topology[index].bdf, index: index, side: side, hop: hop, acs: topology[index].acs,
      effectiveControl: acs.control, redirect: acs.redirects, acsUnknown: acs.unknown,
      countedByKernel: counted, whatIf: acs.whatIf)
  }

  /// What the nested walk shared by every kernel version found.
  struct NestedWalk {
    var providerPath: [Int]
    var clientPath: [Int]
    /// The nearest common upstream device, nil when the paths never meet.
    var common: Int?
    var distA: Int
    var distB: Int
    /// Provider-side devices (common device included) with ACS redirect, in walk order.
    var providerSideRedirects: [Int]
  }

  /// Step 2 of `calc_map_type_and_dist()` (and of v4.20's `upstream_bridge_distance()`): the
  /// outer walk goes up from the provider (itself included), tests each device for ACS redirect,
  /// then looks for it on the client's path; `distB` counts the client-side hops of the last
  /// inner search, so with no common device it is the client path's whole length.
  func nestedWalk(providerIndex: Int, clientIndex: Int) -> NestedWalk {
    let providerPath = topology.pathToRoot(from: providerIndex)
    let clientPath = topology.pathToRoot(from: clientIndex)
    var redirects: [Int] = []
    var common: Int?
    var distA = 0
    var distB = 0
    outer: for candidate in providerPath {
      distB = 0
      if effectiveACS(of: candidate).redirects { redirects.append(candidate) }
      for clientSide in clientPath {
        if clientSide == candidate {
          common = candidate
          break outer
        }
        distB += 1
      }
      distA += 1
    }
    return NestedWalk(
      providerPath: providerPath, clientPath: clientPath, common: common, distA: distA, distB: distB,
      providerSideRedirects: redirects)
  }

  // MARK: - Host-bridge gate

  /// The host-bridge gate: `cpu_supports_p2pdma() || host_bridge_whitelist(provider, client,
  /// warn)`, with the allowlist's dmesg lines (printed when `warn`, which the kernel sets to
  /// `acs_redirects`, not to the caller's verbose flag).
  func hostBridgeGate(provider: Int, client: Int, warn: Bool) -> (check: HostBridgeCheck, dmesg: [String]) {
    let providerRoot = topology.rootBus(of: provider)
    let clientRoot = topology.rootBus(of: client)
    let same = providerRoot == clientRoot
    let cpu = configuration.cpu
    let release = configuration.kernel.release
    if cpu.supportsHostBridgeP2P && release.has(.cpuRuleAMDZen) {
      let reason =
        "cpu_supports_p2pdma() is true (AMD CPU family >= 0x17; \(configuration.cpuSource)), so every "
        + "host-bridge path is allowed and the allowlist is not consulted"
      return (
        HostBridgeCheck(
          cpuRule: cpu, cpuSupportsP2PDMA: true, warn: warn, sameHostBridge: same,
          allowlistConsulted: false, lookups: [], allowed: true, reason: reason),
        []
      )
    }
    // host_bridge_whitelist(): one lookup for a shared host bridge; otherwise both must pass,
    // and the second is not looked at once the first fails.
    var lookups: [HostBridgeLookup] = []
    var dmesg: [String] = []
    var allowed: Bool
    let first = allowlistLookup(rootBus: providerRoot, sameHostBridge: same, warn: warn)
    lookups.append(first.lookup)
    dmesg += first.dmesg
    allowed = first.lookup.passed
    if !same && allowed {
      let second = allowlistLookup(rootBus: clientRoot, sameHostBridge: false, warn: warn)
      lookups.append(second.lookup)
      dmesg += second.dmesg
      allowed = second.lookup.passed
    }
    let cpuWords =
      release.has(.cpuRuleAMDZen)
      ? "cpu_supports_p2pdma() is false (\(cpu.rawValue): \(configuration.cpuSource)), so the host-bridge allowlist decides"
      : "kernel \(release.series) has no cpu_supports_p2pdma() (the AMD Zen CPU rule arrived in 5.9, dea286bb71ba), "
        + "so only the host-bridge whitelist decides"
    let lookupWords = lookups.map(Self.describe(lookup:))
    var reason = cpuWords + ": " + lookupWords.joined(separator: "; ")
    if !same && !first.lookup.passed {
      reason += "; the client's host bridge \(clientRoot) was not looked at because the first lookup failed"
    }
    return (
      HostBridgeCheck(
        cpuRule: cpu, cpuSupportsP2PDMA: false, warn: warn, sameHostBridge: same,
        allowlistConsulted: true, lookups: lookups, allowed: allowed, reason: reason),
      dmesg
    )
  }

  /// `__host_bridge_whitelist()` for one root bus, using `pci_host_bridge_dev()` to pick the
  /// device that stands for the host bridge.
  func allowlistLookup(rootBus: BusID, sameHostBridge: Bool, warn: Bool) -> (lookup: HostBridgeLookup, dmesg: [String])
  {
    let firstIndex = topology.firstDevice(onRootBus: rootBus)
    let first = firstIndex.map { topology[$0] }
    let release = configuration.kernel.release
    guard let deviceIndex = hostBridgeLookupDevice(onRootBus: rootBus) else {
      let why: String
      if let first, !release.has(.rootPortLookup) {
        why =
          "its first device \(first.bdf) (\(first.idPair)) is not devfn 00.0, and before 5.19 pci_host_bridge_dev() "
          + "accepts only devfn 00.0 (a root port at any devfn counts from 5.19, 1af7c26c59eb), so no host-bridge "
          + "device is found, which counts as not allowed (no warning is printed)"
      } else if let first {
        why =
          "its first device \(first.bdf) (\(first.idPair)) is neither devfn 00.0 nor a PCIe root port, "
          + "so pci_host_bridge_dev() finds no host-bridge device, which counts as not allowed (no warning is printed)"
      } else {
        why = "it has no devices, so there is no host-bridge device to look up"
      }
      return (
        HostBridgeLookup(
          rootBus: rootBus, firstDevice: first?.bdf, firstDeviceIDs: first?.idPair, hostBridgeDevice: nil,
          rejectionReason: why, matchedEntry: nil, rejectedBySameHostBridgeRule: false, passed: false,
          warningPrinted: false),
        []
      )
    }
    let device = topology[deviceIndex]
    let entry = P2PAllowlist.firstMatch(
      vendorID: device.vendorID, deviceID: device.deviceID,
      includeQueued: configuration.allowlistIncludesQueuedEntries, release: release)
    var dmesg: [String] = []
    let passed: Bool
    var sameBridgeRejected = false
    if let entry {
      if entry.requiresSameHostBridge && !sameHostBridge {
        sameBridgeRejected = true
        passed = false
      } else {
        passed = true
      }
    } else {
      passed = false
      // The warning exists from the calc_map_type_and_dist() rework (5.11–5.15, modelled 5.15).
      if warn && release.has(.hostBridgeWarning) { dmesg.append(KernelLog.hostBridgeNotAllowlisted(root: device)) }
    }
    return (
      HostBridgeLookup(
        rootBus: rootBus, firstDevice: first?.bdf, firstDeviceIDs: first?.idPair, hostBridgeDevice: device.bdf,
        rejectionReason: nil, matchedEntry: entry, rejectedBySameHostBridgeRule: sameBridgeRejected,
        passed: passed, warningPrinted: !dmesg.isEmpty),
      dmesg
    )
  }

  static func describe(lookup: HostBridgeLookup) -> String {
    let bus = "root bus \(lookup.rootBus)"
    guard let device = lookup.hostBridgeDevice else {
      return "\(bus): \(lookup.rejectionReason ?? "no host-bridge device")"
    }
    let ids = lookup.firstDeviceIDs ?? "?"
    guard let entry = lookup.matchedEntry else {
      return "\(bus): host-bridge device \(device) (\(ids)) is not in the P2PDMA allowlist, so not allowed"
    }
    if lookup.rejectedBySameHostBridgeRule {
      return "\(bus): host-bridge device \(device) matches allowlist entry \(entry.label), which "
        + "requires both devices to sit under the same host bridge; they do not, so not allowed"
    }
    return "\(bus): host-bridge device \(device) matches allowlist entry \(entry.label), so allowed"
  }

  // MARK: - Many clients

  /// `pci_p2pdma_distance_many()`: -1 for no clients or when any client is NOT_SUPPORTED
  /// (without verbose the kernel stops at the first such client; with verbose it goes on so
  /// every client prints its warnings), else the sum of the distances.
  public func distanceMany(provider: BDF, clients: [BDF], verbose: Bool) throws -> DistanceManyResult {
    let providerIndex = try index(of: provider)
    let clientIndices = try clients.map { try index(of: $0) }
    var verdicts: [P2PVerdict] = []
    var dmesg: [String] = []
    var total = 0
    var notSupported = false
    var stoppedAt: BDF?
    if clients.isEmpty {
      return DistanceManyResult(
        provider: provider, clients: clients, verbose: verbose, distance: -1, verdicts: [], stoppedAt: nil,
        dmesg: [], reason: "no clients: pci_p2pdma_distance_many() returns -1")
    }
    for (position, clientIndex) in clientIndices.enumerated() {
      let verdict = verdict(providerIndex: providerIndex, clientIndex: clientIndex, verbose: verbose)
      verdicts.append(verdict)
      dmesg += verdict.dmesg
      if verdict.mapType == .notSupported { notSupported = true }
      if notSupported && !verbose {
        if position < clients.count - 1 { stoppedAt = verdict.client }
        break
      }
      // 4.20–5.3 add what upstream_bridge_distance() returned (0x1000 + n through AMD root complexes).
      total += verdict.legacyDistance.map { max($0, 0) } ?? verdict.pathDistance
    }
    let distance = notSupported ? -1 : total
    let reason: String
    if notSupported {
      let failing = verdicts.filter { $0.mapType == .notSupported }.map(\.client.description)
      reason =
        "-1: \(failing.joined(separator: ", ")) cannot reach the provider (NOT_SUPPORTED); one such client is enough"
        + (stoppedAt.map { ", and without verbose the kernel stopped there (after \($0) nothing more was checked)" }
          ?? "")
    } else {
      let parts = verdicts.map { "\($0.distance) (\($0.client), \($0.mapType.shortName))" }
      reason =
        "sum of the distances: \(parts.joined(separator: " + ")) = \(total). The caller sees only this number, "
        + "not whether a path is BUS_ADDR or THRU_HOST_BRIDGE"
    }
    return applyingPartialInput(
      DistanceManyResult(
        provider: provider, clients: clients, verbose: verbose, distance: distance, verdicts: verdicts,
        stoppedAt: stoppedAt, dmesg: dmesg, reason: reason))
  }
}
