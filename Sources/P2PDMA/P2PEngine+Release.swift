import PCITopology

/// The per-release parts of the decision (kernel-history.md §1): the int-distance API of
/// 4.20–5.3 and RHEL 8, the host-bridge lookup device, and the rules and notes a verdict reports.
extension P2PEngine {
  /// `upstream_bridge_distance()` (and `upstream_bridge_distance_warn()` for the dmesg lines) as in
  /// 4.20–5.1 (torvalds/linux@02917e9f8676:drivers/pci/p2pdma.c), 5.2–5.3 (torvalds/linux@3306e99edf70,
  /// `root_complex_whitelist`) and RHEL 8 4.18 (Seneca-CDOT/dynaccel-kernel-4.18.0@b46dec7a12c6). Also
  /// answers releases before 4.20, which have no P2PDMA at all.
  func legacyVerdict(providerIndex: Int, clientIndex: Int, verbose: Bool) -> P2PVerdict {
    let release = configuration.kernel.release
    let providerFunction = topology[providerIndex]
    let clientFunction = topology[clientIndex]
    let nested = nestedWalk(providerIndex: providerIndex, clientIndex: clientIndex)
    let (providerPath, clientPath, common, distA, distB) =
      (nested.providerPath, nested.clientPath, nested.common, nested.distA, nested.distB)
    var redirecting = nested.providerSideRedirects
    var walk: [P2PWalkStep] = []
    var unknownACS: [Int] = []
    func step(_ index: Int, side: P2PWalkStep.Side, hop: Int, counted: Bool) {
      let entry = walkStep(index, side: side, hop: hop, counted: counted)
      if counted && entry.acsUnknown { unknownACS.append(index) }
      walk.append(entry)
    }
    let pathDistance = distA + distB
    var dmesg: [String] = []
    var rules: [KernelChange] = [.p2pdmaIntroduced]
    let legacyDistance: Int
    var reason: String
    let name = "kernel \(release.series)"

    if !release.hasP2PDMA {
      redirecting = []
      for (hop, index) in providerPath.enumerated() { step(index, side: .provider, hop: hop, counted: false) }
      for (hop, index) in clientPath.enumerated() { step(index, side: .client, hop: hop, counted: false) }
      legacyDistance = -1
      reason =
        "P2PDMA did not exist in \(release.series): drivers/pci/p2pdma.c arrived with 4.20, so no device can do "
        + "peer-to-peer DMA through it (a stock 4.19 having none is UNCONFIRMED by a 4.19 Makefile read)."
    } else if let common {
      for (hop, index) in providerPath.prefix(distA).enumerated() {
        step(index, side: .provider, hop: hop, counted: true)
      }
      step(common, side: .common, hop: distA, counted: true)
      for (hop, index) in clientPath.prefix(distB).enumerated() {
        step(index, side: .client, hop: hop, counted: true)
        if effectiveACS(of: index).redirects { redirecting.append(index) }
      }
      if redirecting.isEmpty {
        legacyDistance = pathDistance
        reason =
          "\(name): the paths meet at \(topology[common].bdf) with no ACS redirect on the way, so P2P is allowed at "
          + "distance \(pathDistance). There are no map types yet: pci_p2pdma_map_sg() always uses PCI bus addresses "
          + "(shown as BUS_ADDR)."
      } else {
        rules.append(.acsRedirectThroughHostBridge)
        legacyDistance = -2
        if verbose {
          let list = redirecting.map { topology[$0].bdf.description }.joined(separator: ";")
          dmesg.append(KernelLog.legacyACSRedirectRefused(client: clientFunction, provider: providerFunction.bdf))
          dmesg.append(KernelLog.disableACSRedirectHint(client: clientFunction, list: list))
        }
        reason =
          "\(name): ACS redirect on the path refuses the pair outright (upstream_bridge_distance() returns -2), "
          + "whatever the CPU or host bridge; there is no host-bridge route in this kernel. From 5.4 the same path "
          + "goes through the host bridge and the host-bridge gate decides."
      }
    } else {
      redirecting = []
      for (hop, index) in providerPath.enumerated() { step(index, side: .provider, hop: hop, counted: false) }
      for (hop, index) in clientPath.enumerated() { step(index, side: .client, hop: hop, counted: false) }
      rules.append(.noCommonBridgeThroughHostBridge)
      rules.append(.amdRootComplexAllowlist)
      let providerAMD = amdZenRootComplex(providerIndex)
      let clientAMD = amdZenRootComplex(clientIndex)
      if release.has(.amdRootComplexAllowlist), providerAMD, clientAMD {
        // root_complex_whitelist() on both sides: allowed with a penalty so that another option wins.
        legacyDistance = 0x1000 + pathDistance
        reason =
          "\(name): no common upstream bridge, but both devices sit under an AMD Zen root complex (devfn 00.0 is "
          + "1022:1450; root_complex_whitelist()), so P2P is allowed at the penalty distance 0x1000 + "
          + "\(pathDistance) = \(legacyDistance). pci_p2pdma_map_sg() uses PCI bus addresses (shown as BUS_ADDR)."
      } else {
        legacyDistance = -1
        if verbose {
          dmesg.append(KernelLog.legacyNoCommonBridge(client: clientFunction, provider: providerFunction.bdf))
        }
        if release.has(.amdRootComplexAllowlist) {
          var missing: [String] = []
          for (index, isAMD) in [(providerIndex, providerAMD), (clientIndex, clientAMD)] where !isAMD {
            let name = "root bus \(topology.rootBus(of: index))"
            if !missing.contains(name) { missing.append(name) }
          }
          reason =
            "\(name): the devices share no upstream bridge; only a pair under AMD 1022:1450 root complexes is allowed "
            + "then (root_complex_whitelist()), and the one of \(missing.joined(separator: " and ")) is not: refused (-1)."
        } else {
          reason =
            "\(name): the devices share no upstream bridge, which this kernel always refuses (-1); the AMD root-complex "
            + "exception arrived in 5.2 and host-bridge paths in 5.4."
        }
      }
    }
    let allowed = legacyDistance >= 0
    // Unreadable ACS on a counted device: if it did redirect, this kernel would refuse (-2).
    let alternative: MapType? = allowed && common != nil && !unknownACS.isEmpty ? .notSupported : nil
    if alternative != nil {
      let names = unknownACS.map { topology[$0].bdf.description }.joined(separator: ", ")
      reason +=
        " Caution: the ACS state of \(names) is unknown (treated as no redirect); if it redirects, this kernel "
        + "refuses the pair (-2)."
    }
    let redirectBDFs = redirecting.map { topology[$0].bdf }
    let kernelParameter =
      redirectBDFs.isEmpty ? nil : "pci=disable_acs_redir=" + redirectBDFs.map(\.description).joined(separator: ";")
    var notes: [String] = release.modelNotes
    if release.hasP2PDMA {
      notes.append(
        "no map types in \(release.series): pci_p2pdma_distance_many() returns \(allowed ? "the distance" : "-1") and "
          + "pci_p2pdma_map_sg() always rewrites to PCI bus addresses")
    }
    notes += rules.compactMap { $0.entry.doubt(for: release) }
    let between = walk.map(\.index)
    let topoClass = TopoClass.classify(
      topology: topology, provider: providerIndex, client: clientIndex, common: common, path: between)
    var fix: String?
    if !allowed, release.hasP2PDMA {
      fix =
        kernelParameter
        ?? "No kernel parameter helps on \(release.series): put both devices below one PCIe switch, or run a newer "
        + "kernel: from 5.4 such a path goes through the host bridge, where the AMD Zen CPU rule (from 5.9) or the "
        + "allowlist decides ('explain' shows by release when this pair passes)."
    }
    return P2PVerdict(
      provider: providerFunction.bdf, client: clientFunction.bdf, mapType: allowed ? .busAddress : .notSupported,
      distance: allowed ? legacyDistance : -1, pathDistance: pathDistance,
      commonUpstream: common.map { topology[$0].bdf }, acsRedirect: redirectBDFs, walk: walk, hostBridge: nil,
      verbose: verbose, dmesg: dmesg, reason: reason, fix: fix, kernelParameter: kernelParameter,
      acsListTruncatedInDmesg: false, unknownACS: unknownACS.map { topology[$0].bdf },
      alternativeIfUnknownACSRedirects: alternative, topoClass: topoClass,
      kernel: release, legacyDistance: legacyDistance, kernelRules: rules, kernelNotes: notes)
  }

  /// 5.2–5.3 and RHEL 8 `root_complex_whitelist()` for the root bus of a device.
  func amdZenRootComplex(_ index: Int) -> Bool { topology.isAMDZenRootComplex(rootBus: topology.rootBus(of: index)) }

  /// `pci_host_bridge_dev()` of the configured release.
  func hostBridgeLookupDevice(onRootBus bus: BusID) -> Int? {
    topology.p2pHostBridgeDevice(forRootBus: bus, release: configuration.kernel.release)
  }

  /// The changes a map-type decision (5.4 and later) consulted, and the release notes for the
  /// verdict (map-time behaviour and UNCONFIRMED labels; none for mainline).
  func kernelRulesAndNotes(
    providerIndex: Int, clientIndex: Int, common: Int?, acsRedirects: Bool, hostBridge: HostBridgeCheck?
  ) -> ([KernelChange], [String]) {
    let release = configuration.kernel.release
    var rules: [KernelChange] = [.p2pdmaIntroduced, .mapTypeCache]
    if common != nil, acsRedirects { rules.append(.acsRedirectThroughHostBridge) }
    if common == nil { rules.append(.noCommonBridgeThroughHostBridge) }
    if let hostBridge {
      if configuration.cpu.supportsHostBridgeP2P { rules.append(.cpuRuleAMDZen) }
      for lookup in hostBridge.lookups {
        if acsRedirects { rules.append(.hostBridgeWarning) }
        let first = topology.firstDevice(onRootBus: lookup.rootBus)
        if let first, topology[first].bdf.devfn != 0, topology[first].portType == .rootPort {
          rules.append(.rootPortLookup)
        }
        guard let first else { continue }
        let device = topology[first]
        // Every entry that matches in some release: its arrival (and removal) decides this lookup.
        for entry in P2PAllowlist.allEntries where entry.matches(vendorID: device.vendorID, deviceID: device.deviceID) {
          rules.append(entry.addedBy)
          if let removed = entry.removedBy { rules.append(removed) }
        }
      }
    }
    var unique: [KernelChange] = []
    for rule in rules where !unique.contains(rule) { unique.append(rule) }
    guard !release.isMainline else { return (unique, []) }
    var notes = release.modelNotes
    if release.has(.mapTypeComputedOnUnknown) {
      notes.append(
        "map time (\(release.series)): the map type is cached per provider; a map for a client never checked is "
          + "computed on the spot (pci_p2pdma_map_type(), verbose), so these warnings may appear at map time")
    } else {
      notes.append(
        "map time (\(release.series)): the map type is cached per provider by the distance call; a map for a client "
          + "never checked finds UNKNOWN, hits WARN_ON_ONCE and fails")
    }
    notes += unique.compactMap { $0.entry.doubt(for: release) }
    return (unique, notes)
  }
}

extension Topology {
  /// 5.2–5.3 and RHEL 8 `root_complex_whitelist()`: the device at devfn 00.0 of the root bus
  /// (`pci_get_slot`) is AMD 1022:1450.
  func isAMDZenRootComplex(rootBus bus: BusID) -> Bool {
    guard let slotZero = functions(onBus: bus).first(where: { self[$0].bdf.devfn == 0 }) else { return false }
    return self[slotZero].vendorID == 0x1022 && self[slotZero].deviceID == 0x1450
  }

  /// `pci_host_bridge_dev()` of a release: the first device of the root bus when it is devfn 00.0,
  /// or (from 5.19, `KernelChange.rootPortLookup`) a PCIe root port at any devfn.
  func p2pHostBridgeDevice(forRootBus bus: BusID, release: KernelRelease) -> Int? {
    if release.has(.rootPortLookup) { return hostBridgeDevice(forRootBus: bus) }
    guard let first = firstDevice(onRootBus: bus), self[first].bdf.devfn == 0 else { return nil }
    return first
  }
}

/// One release of a verdict timeline (`P2PEngine.timeline`).
public struct ReleaseVerdict: Sendable {
  public var release: KernelRelease
  public var verdict: P2PVerdict
  /// True when the map type or distance differs from the previous release of the timeline.
  public var changed: Bool
  /// The changes between the previous release and this one that this pair's decision consulted
  /// (empty for the first release, and when nothing it consulted changed).
  public var changedBy: [KernelChangeEntry]
}

extension P2PEngine {
  /// The same engine for another kernel (every other knob kept).
  public func withKernel(_ kernel: KernelContext) -> P2PEngine {
    var configuration = self.configuration
    configuration.kernel = kernel
    return P2PEngine(topology: topology, configuration: configuration)
  }

  /// One engine per release (this engine where the release is its own), for `timeline(…, engines:)`
  /// over many pairs without rebuilding the tables each time.
  public func engines(for releases: [KernelRelease] = KernelRelease.timeline) -> [P2PEngine] {
    releases.map { release in
      release == configuration.kernel.release ? self : withKernel(KernelContext(release: release, source: .given))
    }
  }

  /// The verdict of one pair on each release (default: 4.20, 5.4, 5.10, 5.15, 6.1, 6.6, 6.12,
  /// mainline), with where it changes and which changes of the table explain it.
  public func timeline(
    providerIndex: Int, clientIndex: Int, releases: [KernelRelease] = KernelRelease.timeline, verbose: Bool = true
  ) -> [ReleaseVerdict] {
    Self.timeline(
      providerIndex: providerIndex, clientIndex: clientIndex, engines: engines(for: releases), verbose: verbose)
  }

  /// `timeline` over engines made by `engines(for:)` (same topology, one release each).
  public static func timeline(
    providerIndex: Int, clientIndex: Int, engines: [P2PEngine], verbose: Bool = true
  ) -> [ReleaseVerdict] {
    var result: [ReleaseVerdict] = []
    for engine in engines {
      let release = engine.configuration.kernel.release
      let verdict = engine.verdict(providerIndex: providerIndex, clientIndex: clientIndex, verbose: verbose)
      guard let previous = result.last else {
        result.append(ReleaseVerdict(release: release, verdict: verdict, changed: false, changedBy: []))
        continue
      }
      let changed = previous.verdict.mapType != verdict.mapType || previous.verdict.distance != verdict.distance
      let consulted = Set(previous.verdict.kernelRules + verdict.kernelRules)
      // When the verdict changed, name only the changes that decide verdicts (not dmesg wording).
      let why = KernelChanges.changes(between: previous.release, and: release).filter {
        consulted.contains($0.id) && (!changed || $0.id.decidesP2PVerdict)
      }
      result.append(ReleaseVerdict(release: release, verdict: verdict, changed: changed, changedBy: why))
    }
    return result
  }
}
