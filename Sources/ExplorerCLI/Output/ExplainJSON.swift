import P2PDMA
import PCITopology

/// The `explain --format json` document (README: Explain). Keys alphabetical at every level, as
/// the output always had them (it was written by JSONSerialization with sorted keys).
struct ExplainJSON: Encodable {
  struct CPU: Encodable {
    var inferred: Bool
    var rule: String
    var source: String
  }

  struct DistanceMany: Encodable {
    /// null when UNKNOWN.
    var distance: Int?
    var dmesg: [String]
    var reason: String
    var stopped_at: String?

    init(_ result: DistanceManyResult) {
      distance = result.isUnknown ? nil : result.distance
      dmesg = result.dmesg
      reason = result.reason
      stopped_at = result.stoppedAt?.description
    }
  }

  struct DistanceManyPair: Encodable {
    var quiet: DistanceMany
    var verbose: DistanceMany
  }

  struct WalkStep: Encodable {
    var acs: ACSJSON
    var acs_unknown: Bool
    var bdf: String
    var counted_by_kernel: Bool
    var effective_control: String?
    var hop: Int
    var redirect: Bool
    var side: String
    var what_if: String?

    init(_ step: P2PWalkStep) {
      acs = ACSJSON(step.acs)
      acs_unknown = step.acsUnknown
      bdf = step.bdf.description
      counted_by_kernel = step.countedByKernel
      effective_control = step.effectiveControl.map { "0x" + hex($0.rawValue, width: 4) }
      hop = step.hop
      redirect = step.redirect
      side = step.side.rawValue
      what_if = step.whatIf
    }
  }

  struct Lookup: Encodable {
    var first_device: String?
    var first_device_ids: String?
    var host_bridge_device: String?
    var matched_entry: String?
    var passed: Bool
    var rejected_by_same_host_bridge_rule: Bool
    var rejection_reason: String?
    var root_bus: String
    var warning_printed: Bool
  }

  struct HostBridge: Encodable {
    var allowed: Bool
    var allowlist_consulted: Bool
    var cpu_rule: String
    var cpu_supports_p2pdma: Bool
    var lookups: [Lookup]
    var reason: String
    var same_host_bridge: Bool
    var warn: Bool

    init(_ gate: HostBridgeCheck) {
      allowed = gate.allowed
      allowlist_consulted = gate.allowlistConsulted
      cpu_rule = gate.cpuRule.rawValue
      cpu_supports_p2pdma = gate.cpuSupportsP2PDMA
      lookups = gate.lookups.map {
        Lookup(
          first_device: $0.firstDevice?.description, first_device_ids: $0.firstDeviceIDs,
          host_bridge_device: $0.hostBridgeDevice?.description, matched_entry: $0.matchedEntry?.label,
          passed: $0.passed, rejected_by_same_host_bridge_rule: $0.rejectedBySameHostBridgeRule,
          rejection_reason: $0.rejectionReason, root_bus: $0.rootBus.description, warning_printed: $0.warningPrinted)
      }
      reason = gate.reason
      same_host_bridge = gate.sameHostBridge
      warn = gate.warn
    }
  }

  /// `upstream_bridge_distance()` of 4.20 and 5.2 for the same pair.
  struct OlderKernels: Encodable {
    var v4_20: Int
    var v5_2: Int

    enum CodingKeys: String, CodingKey {
      case v4_20 = "v4.20"
      case v5_2 = "v5.2"
    }
  }

  struct ByRelease: Encodable {
    var changed: Bool
    var changed_by: [String]
    var distance: Int
    var legacy_distance: Int?
    var map_type: String
    var release: String
    var unconfirmed: [String]

    init(_ entry: ReleaseVerdict) {
      changed = entry.changed
      changed_by = entry.changedBy.map(\.id.rawValue)
      distance = entry.verdict.distance
      legacy_distance = entry.verdict.legacyDistance
      map_type = entry.verdict.mapType.shortName
      release = entry.release.description
      unconfirmed = entry.verdict.kernelRules.filter {
        $0.decidesP2PVerdict && $0.entry.isInDoubt(for: entry.release)
      }.map(\.rawValue)
    }
  }

  struct Verdict: Encodable {
    var acs_list_truncated_in_dmesg: Bool
    var acs_redirect: [String]
    var alternative_if_unknown_acs_redirects: String?
    var by_release: [ByRelease]
    var client: String
    var common_upstream: String?
    /// null when UNKNOWN.
    var distance: Int?
    var dmesg_quiet: [String]
    var dmesg_verbose: [String]
    var fix: String?
    var host_bridge: HostBridge?
    var kernel_notes: [String]
    var kernel_parameter: String?
    var legacy_distance: Int?
    var map_type: String
    /// null when UNKNOWN.
    var older_kernels: OlderKernels?
    var path_distance: Int
    var provider: String
    var reason: String
    var topo: String
    var unknown_acs: [String]
    var walk: [WalkStep]

    init(_ verdict: P2PVerdict, quiet: P2PVerdict, timeline: [ReleaseVerdict], history: [(String, Int)]) {
      let unknown = verdict.mapType == .unknown
      acs_list_truncated_in_dmesg = verdict.acsListTruncatedInDmesg
      acs_redirect = verdict.acsRedirect.map(\.description)
      alternative_if_unknown_acs_redirects = verdict.alternativeIfUnknownACSRedirects?.shortName
      by_release = timeline.map(ByRelease.init)
      client = verdict.client.description
      common_upstream = verdict.commonUpstream?.description
      distance = unknown ? nil : verdict.distance
      dmesg_quiet = quiet.dmesg
      dmesg_verbose = verdict.dmesg
      fix = verdict.fix
      host_bridge = verdict.hostBridge.map(HostBridge.init)
      kernel_notes = verdict.kernelNotes
      kernel_parameter = verdict.kernelParameter
      legacy_distance = verdict.legacyDistance
      map_type = verdict.mapType.shortName
      let older = Dictionary(history, uniquingKeysWith: { first, _ in first })
      older_kernels =
        unknown ? nil : older["v4.20"].flatMap { old in older["v5.2"].map { OlderKernels(v4_20: old, v5_2: $0) } }
      path_distance = verdict.pathDistance
      provider = verdict.provider.description
      reason = verdict.reason
      topo = verdict.topoClass.rawValue
      unknown_acs = verdict.unknownACS.map(\.description)
      walk = verdict.walk.map(WalkStep.init)
    }
  }

  var cpu: CPU
  var disable_acs_redir: [String]
  var distance_many: DistanceManyPair
  var iommu: String
  var kernel: KernelJSON
  var kernel_acs_enable: Bool
  /// Only for partial inputs (the key is absent otherwise), so complete inputs keep their shape.
  var partial_input: PartialInputJSON?
  var provider: String
  var topology: String
  var verdicts: [Verdict]

  enum CodingKeys: String, CodingKey {
    case cpu, disable_acs_redir, distance_many, iommu, kernel, kernel_acs_enable, partial_input, provider, topology
    case verdicts
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(cpu, forKey: .cpu)
    try container.encode(disable_acs_redir, forKey: .disable_acs_redir)
    try container.encode(distance_many, forKey: .distance_many)
    try container.encode(iommu, forKey: .iommu)
    try container.encode(kernel, forKey: .kernel)
    try container.encode(kernel_acs_enable, forKey: .kernel_acs_enable)
    if let partial_input { try container.encode(partial_input, forKey: .partial_input) }
    try container.encode(provider, forKey: .provider)
    try container.encode(topology, forKey: .topology)
    try container.encode(verdicts, forKey: .verdicts)
  }
}
