/// The one table of behaviour changes by release (kernel-history.md §1–§5). Every per-release rule
/// in the program asks `release.has(.someChange)`; nothing branches on an LTS by hand.
///
/// This file is long because it is a table: one entry per row of the history, each with its source.

/// The part of the kernel a change is in.
public enum KernelChangeArea: String, Sendable, CaseIterable {
  case p2pdma
  case dmaBufCore = "dma-buf core"
  case amdgpu
  case xe
  case i915
  case vfio
  case rdma
}

/// Identifiers of the behaviour changes. Stable API: other modules (the share simulator, the UI)
/// refer to these names.
public enum KernelChange: String, Sendable, CaseIterable {
  // p2pdma.c
  case p2pdmaIntroduced = "p2pdma-introduced"
  case amdRootComplexAllowlist = "amd-root-complex-1450"
  case dmaVirtOpsMessage = "dma-virt-ops-message"
  case acsRedirectThroughHostBridge = "acs-redirect-thru-host-bridge"
  case noCommonBridgeThroughHostBridge = "no-common-bridge-thru-host-bridge"
  case mapTypeCache = "map-type-cache"
  case allowlistIntelSandyHaswell = "allowlist-intel-3c00-2f01"
  case allowlistAMDTable = "allowlist-amd-1450-table"
  case allowlistAMDRavenRenoir = "allowlist-amd-15d0-1630"
  case allowlistSkylakeE = "allowlist-intel-skylake-e"
  case cpuRuleAMDZen = "cpu-rule-amd-zen"
  case allowlistAMDEntriesRemoved = "allowlist-amd-removed"
  case hostBridgeWarning = "host-bridge-warning"
  case dmaVirtOpsMessageRemoved = "dma-virt-ops-message-removed"
  case allowlistIntel09a2 = "allowlist-intel-09a2"
  case rootPortLookup = "root-port-lookup"
  case mapTypeComputedOnUnknown = "map-type-on-unknown"
  case allowlistGoogleWildcard = "allowlist-google-any"
  case allowlistIntelAccelerators = "allowlist-intel-accelerators"
  case allowlistNvidiaVeraRubin = "allowlist-nvidia-vera-rubin"
  case allowlistZhaoxin = "allowlist-zhaoxin"
  // dma-buf core
  case dmabufDynamicAttach = "dmabuf-dynamic-attach"
  case dmabufPeer2Peer = "dmabuf-peer2peer"
  case dmabufResvForAllImporters = "dmabuf-resv-all-importers"
  case dmabufNoAttachTimeMap = "dmabuf-no-attach-time-map"
  case dmabufMoveNotifyRemoved = "dmabuf-move-notify-removed"
  case dmabufInvalidateMappingsRename = "dmabuf-invalidate-mappings-rename"
  case dmabufPinWarnsWithoutImporterOps = "dmabuf-pin-warns-static"
  // amdgpu
  case amdgpuVRAMExport = "amdgpu-vram-export"
  case amdgpuAttachQuiet = "amdgpu-attach-quiet"
  case amdgpuVRAMPin = "amdgpu-vram-pin"
  case amdgpuXGMIKeepsVRAM = "amdgpu-xgmi-keeps-vram"
  case amdgpuNoVRAMPinWithoutMoveNotify = "amdgpu-no-vram-pin-without-move-notify"
  case amdgpuGFX12DCCNoP2P = "amdgpu-gfx12-dcc-no-p2p"
  // RDMA
  case rdmaDmabufImport = "rdma-dmabuf-import"
  case rdmaPinnedImport = "rdma-pinned-import"
  // xe
  case xeDriver = "xe-driver"
  case xeP2PPin = "xe-p2p-pin"
  // i915
  case i915SystemMemoryOnlyExport = "i915-smem-only-export"
  // VFIO
  case vfioDmabufExport = "vfio-dmabuf-export"
  case vfioPinRefused = "vfio-pin-refused"

  /// The table row of this change.
  public var entry: KernelChangeEntry { KernelChanges.entryByID[self]! }

  /// False for changes that only alter dmesg wording or map-time behaviour, not a P2PDMA verdict.
  public var decidesP2PVerdict: Bool {
    switch self {
    case .hostBridgeWarning, .dmaVirtOpsMessage, .dmaVirtOpsMessageRemoved, .mapTypeCache, .mapTypeComputedOnUnknown:
      return false
    default: return entry.area == .p2pdma
    }
  }
}

/// One row of the changes table.
public struct KernelChangeEntry: Sendable, Hashable {
  public var id: KernelChange
  public var area: KernelChangeArea
  /// The first release that has the change (`KernelRelease.mainline` when it is only in the 2026 PCI
  /// tree and no release is known).
  public var landedIn: KernelRelease
  /// One line: what changed.
  public var summary: String
  /// `repo@commit:path function`, or "(list archive)" with the commit id, per kernel-history.md.
  public var source: String
  /// False when kernel-history.md marks the release (or the fact) UNCONFIRMED.
  public var confirmed: Bool
  /// Why it is UNCONFIRMED, stable backports, or other qualifications (nil when none).
  public var note: String?
  /// The releases (by series) for which having or lacking the change is in doubt (UNCONFIRMED tag,
  /// possible backports); nil when no release is in doubt.
  public var uncertainIn: ClosedRange<KernelRelease>? = nil

  /// True when the history cannot say whether `release` has the change: answers that depend on it
  /// must be labelled UNCONFIRMED. Mainline is never in doubt.
  public func isInDoubt(for release: KernelRelease) -> Bool {
    let modelled = release.modelledRelease(for: area)
    guard let uncertainIn, let major = modelled.major else { return false }
    return uncertainIn.contains(KernelRelease(major: major, minor: modelled.minor))
  }

  /// `UNCONFIRMED for 5.15: …` when in doubt for the release, else nil.
  public func doubt(for release: KernelRelease) -> String? {
    guard isInDoubt(for: release) else { return nil }
    return "UNCONFIRMED for \(release.series): \(id.rawValue) (\(landedIn.series)) — \(note ?? summary)"
  }

  /// `confirmed` or `UNCONFIRMED`, the label every output uses.
  public var confirmationLabel: String { confirmed ? "confirmed" : "UNCONFIRMED" }

  /// `5.9 cpu-rule-amd-zen` plus ` (UNCONFIRMED)` when so: for "why" lines.
  public var citation: String {
    "\(landedIn.series) \(id.rawValue)" + (confirmed ? "" : " (UNCONFIRMED)")
  }
}

/// The table itself.
public enum KernelChanges {
  private static func release(_ major: Int, _ minor: Int) -> KernelRelease { KernelRelease(major: major, minor: minor) }

  private static let seneca = "Seneca-CDOT/dynaccel-kernel-4.18.0@b46dec7a12c6"
  private static let torvalds420 = "torvalds/linux@02917e9f8676"
  private static let torvalds52 = "torvalds/linux@3306e99edf70"
  private static let codeLinaro54 = "CodeLinaro-mirror/qsdk_oss_kernel_linux-ipq-5.4@7744840b595e"
  private static let samsung510 = "auraknighted/android_kernel_samsung_r11s@a797ccb51027"
  private static let intelLTS515 = "intel/linux-intel-lts@24a039ba0e84"
  private static let omajili66 = "omajili-manbu/Xiaomi_Rodin_Kernel_Enhance@7747f66eeaf2"
  private static let xcpng612 = "xcp-ng/linux@cd83b73e21f3"
  private static let pciTree2026 = "kernelorg-mirror/linux_kernel_git_pci_pci@cd2698d76c31"
  private static let leon2026 = "kernelorg-mirror/linux_kernel_git_leon_linux-rdma@24cf49303e37"
  private static let p2pdmaC = "drivers/pci/p2pdma.c"

  /// Every change, oldest release first.
  public static let all: [KernelChangeEntry] = [
    // MARK: p2pdma.c (§1)
    .init(
      id: .p2pdmaIntroduced, area: .p2pdma, landedIn: release(4, 20),
      summary:
        "drivers/pci/p2pdma.c arrives: int distance, ACS redirect on the path refused (-2), no common bridge refused (-1)",
      source: "\(torvalds420):\(p2pdmaC) upstream_bridge_distance", confirmed: false,
      note:
        "exact tag of the 4.20-era blob UNCONFIRMED; a stock 4.19 having no p2pdma.c is UNCONFIRMED by a Makefile read; RHEL 8 4.18 carries a backport",
      uncertainIn: release(4, 19)...release(4, 20)),
    .init(
      id: .amdRootComplexAllowlist, area: .p2pdma, landedIn: release(5, 2),
      summary:
        "no common bridge: allowed at 0x1000 + distance when both devices sit under an AMD 1022:1450 root complex (devfn 00.0)",
      source:
        "\(torvalds52):\(p2pdmaC) root_complex_whitelist (0f97da831026); \(seneca):\(p2pdmaC) root_complex_whitelist",
      confirmed: false, note: "exact tag of the 5.2-era blob UNCONFIRMED; also in RHEL 8 4.18",
      uncertainIn: release(5, 1)...release(5, 2)),
    .init(
      id: .dmaVirtOpsMessage, area: .p2pdma, landedIn: release(5, 2),
      summary: "dmesg: \"cannot be used for peer-to-peer DMA because the driver makes use of dma_virt_ops\"",
      source: "\(torvalds52):\(p2pdmaC) upstream_bridge_distance", confirmed: false,
      note: "exact tag of the 5.2-era blob UNCONFIRMED", uncertainIn: release(5, 1)...release(5, 2)),
    .init(
      id: .acsRedirectThroughHostBridge, area: .p2pdma, landedIn: release(5, 4),
      summary:
        "ACS redirect on the path no longer refuses: the path becomes THRU_HOST_BRIDGE and the host-bridge gate decides; the ACS line is informational",
      source: "\(codeLinaro54):\(p2pdmaC) __upstream_bridge_distance (494d63b0d5d0)", confirmed: false,
      note: "seen in 5.4.302; mainline 5.4 assumed, UNCONFIRMED", uncertainIn: release(5, 3)...release(5, 4)),
    .init(
      id: .noCommonBridgeThroughHostBridge, area: .p2pdma, landedIn: release(5, 4),
      summary:
        "no common upstream bridge: THRU_HOST_BRIDGE, decided by the host-bridge whitelist; dmesg \"…do not share an upstream bridge or whitelisted host bridge\"",
      source: "\(codeLinaro54):\(p2pdmaC) upstream_bridge_distance (494d63b0d5d0)", confirmed: false,
      note: "seen in 5.4.302; mainline 5.4 assumed, UNCONFIRMED", uncertainIn: release(5, 3)...release(5, 4)),
    .init(
      id: .mapTypeCache, area: .p2pdma, landedIn: release(5, 4),
      summary:
        "enum pci_p2pdma_map_type and a per-provider map_types xarray written by every distance call; an unchecked pair maps as UNKNOWN → WARN_ON_ONCE and failure",
      source: "\(codeLinaro54):\(p2pdmaC) pci_p2pdma_map_sg_attrs", confirmed: false,
      note: "seen in 5.4.302; mainline 5.4 assumed, UNCONFIRMED", uncertainIn: release(5, 3)...release(5, 4)),
    .init(
      id: .allowlistIntelSandyHaswell, area: .p2pdma, landedIn: release(5, 4),
      summary: "whitelist: Intel 8086:3c00, 3c01, 2f00, 2f01 with REQ_SAME_HOST_BRIDGE",
      source: "\(codeLinaro54):\(p2pdmaC) pci_p2pdma_whitelist[] (494d63b0d5d0)", confirmed: false,
      note: "seen in 5.4.302; mainline 5.4 assumed, UNCONFIRMED", uncertainIn: release(5, 3)...release(5, 4)),
    .init(
      id: .allowlistAMDTable, area: .p2pdma, landedIn: release(5, 4),
      summary: "whitelist table: AMD 1022:1450 (flags 0) for host-bridge paths; removed in 5.9",
      source: "\(codeLinaro54):\(p2pdmaC) pci_p2pdma_whitelist[]", confirmed: false,
      note: "seen in 5.4.302; mainline 5.4 assumed, UNCONFIRMED", uncertainIn: release(5, 3)...release(5, 4)),
    .init(
      id: .allowlistAMDRavenRenoir, area: .p2pdma, landedIn: release(5, 7),
      summary: "whitelist: AMD 1022:15d0 (Raven), 1022:1630 (Renoir); removed in 5.9",
      source: "(list archive) 7d5b10fcb81e", confirmed: false,
      note: "added between 5.4 and 5.9, release UNCONFIRMED; modelled from 5.7",
      uncertainIn: release(5, 4)...release(5, 8)),
    .init(
      id: .allowlistSkylakeE, area: .p2pdma, landedIn: release(5, 7),
      summary:
        "whitelist: Intel Skylake-E 8086:2030, 2031, 2032, 2033, 2020 (flags 0), matched only at devfn 00.0 until 5.19",
      source: "(list archive) bc123a515cb7, 7b94b53db34f (build-bot on pci/p2pdma 2020-03-19)", confirmed: false,
      note: "2031–2033 → 5.7; 2030/2020 present by 5.7, maybe earlier (UNCONFIRMED); modelled from 5.7",
      uncertainIn: release(5, 4)...release(5, 6)),
    .init(
      id: .cpuRuleAMDZen, area: .p2pdma, landedIn: release(5, 9),
      summary:
        "cpu_supports_p2pdma(): an AMD CPU of family >= 0x17 allows every host-bridge path; the whitelist is then not consulted (Hygon, Intel, others: false)",
      source: "(list archive) dea286bb71ba \"for v5.9\"; \(samsung510):\(p2pdmaC) cpu_supports_p2pdma", confirmed: true,
      note: nil),
    .init(
      id: .allowlistAMDEntriesRemoved, area: .p2pdma, landedIn: release(5, 9),
      summary: "whitelist: AMD 1450, 15d0, 1630 removed in favour of the CPU rule",
      source:
        "(list archive) dea286bb71ba (diff drops 1450/15d0/1630); \(samsung510):\(p2pdmaC) pci_p2pdma_whitelist[]",
      confirmed: true, note: nil),
    .init(
      id: .hostBridgeWarning, area: .p2pdma, landedIn: release(5, 15),
      summary:
        "calc_map_type_and_dist(); dmesg \"Host bridge not in P2PDMA whitelist: %04x:%04x\", printed only when ACS redirect was found",
      source: "\(intelLTS515):\(p2pdmaC) calc_map_type_and_dist, __host_bridge_whitelist", confirmed: false,
      note: "absent in 5.10.198, present in 5.15.147: landed in 5.11–5.15, UNCONFIRMED which; modelled from 5.15",
      uncertainIn: release(5, 11)...release(5, 15)),
    .init(
      id: .dmaVirtOpsMessageRemoved, area: .p2pdma, landedIn: release(5, 15),
      summary: "dmesg: the dma_virt_ops message is gone",
      source: "\(intelLTS515):\(p2pdmaC) calc_map_type_and_dist", confirmed: false,
      note: "present in 5.10.198, absent in 5.15.147; exact release UNCONFIRMED; modelled from 5.15",
      uncertainIn: release(5, 11)...release(5, 15)),
    .init(
      id: .allowlistIntel09a2, area: .p2pdma, landedIn: release(5, 18),
      summary: "whitelist: Intel 8086:09a2 (Ice Lake-SP and later Xeon root buses, flags 0)",
      source: "(list archive) feaea1fe8b36 \"for v5.18\"; \(intelLTS515):\(p2pdmaC) pci_p2pdma_whitelist[]",
      confirmed: true,
      note: "also in the 5.15.147 intel-lts tree as a backport; plain 5.15.y/6.1.y having it is UNCONFIRMED",
      uncertainIn: release(5, 15)...release(5, 17)),
    .init(
      id: .rootPortLookup, area: .p2pdma, landedIn: release(5, 19),
      summary:
        "pci_host_bridge_dev(): a PCIe root port at any devfn also stands for the host bridge (before: only devfn 00.0)",
      source:
        "(list archive) 1af7c26c59eb, applied to pci/p2pdma Apr 2022; \(omajili66):\(p2pdmaC) pci_host_bridge_dev",
      confirmed: true, note: nil),
    .init(
      id: .mapTypeComputedOnUnknown, area: .p2pdma, landedIn: release(6, 2),
      summary:
        "pci_p2pdma_map_type() computes an UNKNOWN pair on the spot (verbose), so a map without a prior distance check works and may print warnings",
      source: "\(omajili66):\(p2pdmaC) pci_p2pdma_map_type; \(xcpng612):\(p2pdmaC) pci_p2pdma_map_type",
      confirmed: false,
      note: "6.0–6.2 era, present in 6.6; exact release UNCONFIRMED; modelled from 6.2",
      uncertainIn: release(6, 0)...release(6, 2)),
    .init(
      id: .allowlistGoogleWildcard, area: .p2pdma, landedIn: release(7, 1),
      summary: "whitelist: Google SoCs (vendor 1ae0, PCI_ANY_ID) through the device wildcard",
      source:
        "(list archive) 70cf146a674c, 1a1f96e3e2a8 (7.1 merge window); \(pciTree2026):\(p2pdmaC) __host_bridge_whitelist",
      confirmed: true, note: nil),
    .init(
      id: .allowlistIntelAccelerators, area: .p2pdma, landedIn: release(7, 2),
      summary:
        "whitelist: Intel DSA/IAX/QAT accelerator root-bus devices (0b25, 0cfe, 11fb, 1212, 1216, 4940–4948; flags 0)",
      source:
        "(list archive) 0ba76b19fd4c (Cc: stable; \"[PATCH 7.1 035/120]\" 2026-07-02); \(pciTree2026):\(p2pdmaC) pci_p2pdma_whitelist[]",
      confirmed: true,
      note:
        "also in a 7.1.y stable point release (which one UNCONFIRMED; modelled absent in 7.1.*); 6.x LTS backport UNCONFIRMED",
      uncertainIn: release(6, 1)...release(7, 1)),
    .init(
      id: .allowlistNvidiaVeraRubin, area: .p2pdma, landedIn: .mainline,
      summary: "whitelist: NVIDIA CPUs 10de:2f95, 2f96, 2f97, 2f98 (Vera Rubin)",
      source: "(list archive) 894a78088fc3; \(pciTree2026):\(p2pdmaC) pci_p2pdma_whitelist[]", confirmed: false,
      note: "release UNCONFIRMED; only in the 2026 PCI tree, so modelled in mainline only",
      uncertainIn: release(7, 3)...release(9, 40)),
    .init(
      id: .allowlistZhaoxin, area: .p2pdma, landedIn: .mainline,
      summary: "whitelist: Zhaoxin 1d17:1003, 1005, 1006, 1007 (REQ_SAME_HOST_BRIDGE) and 1008",
      source: "(list archive) f7c220404700; \(pciTree2026):\(p2pdmaC) pci_p2pdma_whitelist[]", confirmed: false,
      note: "queued after 7.3-rc1 (7.4 candidate), UNCONFIRMED; modelled in mainline only",
      uncertainIn: release(7, 3)...release(9, 40)),

    // MARK: dma-buf core (§2)
    .init(
      id: .dmabufDynamicAttach, area: .dmaBufCore, landedIn: release(5, 7),
      summary:
        "dma_buf_dynamic_attach() with importer ops (move_notify), exporter pin/unpin, CONFIG_DMABUF_MOVE_NOTIFY (default n); without it the core pins a dynamic exporter on map, and a static importer of a dynamic exporter is pinned and mapped at attach",
      source:
        "(list archive) bb42df4662a4 \"Cc: stable # v5.7+\"; \(samsung510):drivers/dma-buf/dma-buf.c dma_buf_dynamic_attach, dma_buf_map_attachment",
      confirmed: true, note: nil),
    .init(
      id: .dmabufPeer2Peer, area: .dmaBufCore, landedIn: release(5, 8),
      summary:
        "attach->peer2peer = importer_ops->allow_peer2peer; the exporter's attach may clear it; static importers never get it",
      source:
        "(list archive) \"[PULL] drm-misc-next … for 5.8\" (dma-buf: add peer2peer flag); \(samsung510):include/linux/dma-buf.h",
      confirmed: true, note: nil),
    .init(
      id: .dmabufResvForAllImporters, area: .dmaBufCore, landedIn: release(6, 2),
      summary: "map/unmap require the reservation lock for all importers; *_unlocked wrappers",
      source: "(list archive) 47e982d5195d", confirmed: false, note: "v5 posted 2022-09-13 → 6.2, UNCONFIRMED exact",
      uncertainIn: release(6, 1)...release(6, 2)),
    .init(
      id: .dmabufNoAttachTimeMap, area: .dmaBufCore, landedIn: release(6, 15),
      summary:
        "attach no longer maps or pins for static importers and sg tables are not cached; dma_buf_pin_on_map() = pin && (static importer || !MOVE_NOTIFY)",
      source: "(list archive) b72f66f22c0e, de68b17d5d07 (Feb 2025)", confirmed: false,
      note: "→ 6.15, UNCONFIRMED exact", uncertainIn: release(6, 14)...release(6, 15)),
    .init(
      id: .dmabufMoveNotifyRemoved, area: .dmaBufCore, landedIn: release(7, 1),
      summary: "CONFIG_DMABUF_MOVE_NOTIFY removed (always on): the core pins on map only for static importers",
      source: "(list archive) linux-next 2026-02-25 ef246da8e63c, 95308225e5ba, 609fc8766d68", confirmed: true,
      note: nil),
    .init(
      id: .dmabufInvalidateMappingsRename, area: .dmaBufCore, landedIn: release(7, 1),
      summary:
        "importer callback move_notify → invalidate_mappings; dma_buf_move_notify() → dma_buf_invalidate_mappings()",
      source: "(list archive) linux-next 2026-02-25; \(leon2026):drivers/dma-buf/dma-buf.c", confirmed: true, note: nil),
    .init(
      id: .dmabufPinWarnsWithoutImporterOps, area: .dmaBufCore, landedIn: release(7, 1),
      summary: "dma_buf_pin() WARNs when the attachment has no importer ops",
      source: "(list archive) linux-next 2026-02-25", confirmed: true, note: nil),

    // MARK: amdgpu (§3)
    .init(
      id: .amdgpuVRAMExport, area: .amdgpu, landedIn: release(5, 8),
      summary:
        "amdgpu exports VRAM to peer2peer importers (pin GTT only); attach clears peer2peer when pci_p2pdma_distance_many(…, verbose=true) < 0",
      source:
        "(list archive) drm-misc-next for 5.8; \(samsung510):drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c amdgpu_dma_buf_attach, amdgpu_dma_buf_map",
      confirmed: true, note: nil),
    .init(
      id: .amdgpuAttachQuiet, area: .amdgpu, landedIn: release(6, 1),
      summary: "amdgpu attach checks pci_p2pdma_distance(…, verbose=false): no dmesg lines at attach",
      source:
        "(list archive) \"drm/amdgpu: Disable verbose for p2p dist calc\" (2022-09-21); projectceladon/linux-intel-lts2022-chromium@083d7dfa4b1e:drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c amdgpu_dma_buf_attach",
      confirmed: false, note: "verbose until about 6.0; 6.1.86 is quiet; exact release UNCONFIRMED; modelled from 6.1",
      uncertainIn: release(6, 0)...release(6, 1)),
    .init(
      id: .amdgpuVRAMPin, area: .amdgpu, landedIn: release(6, 15),
      summary: "amdgpu pins in VRAM when every attachment has peer2peer, else GTT",
      source: "(list archive) f5e7fabd1f5c (amd-drm-fixes-6.15)", confirmed: true,
      note: "not in 6.12.y: the stable backport was dropped"),
    .init(
      id: .amdgpuXGMIKeepsVRAM, area: .amdgpu, landedIn: release(6, 16),
      summary: "amdgpu attach keeps peer2peer for an XGMI-reachable importer that fails the PCIe check",
      source: "(list archive) Felix Kuehling's XGMI patch", confirmed: false, note: "~6.16, UNCONFIRMED",
      uncertainIn: release(6, 15)...release(6, 17)),
    .init(
      id: .amdgpuNoVRAMPinWithoutMoveNotify, area: .amdgpu, landedIn: release(6, 16),
      summary: "amdgpu does not pin in VRAM without CONFIG_DMABUF_MOVE_NOTIFY",
      source: "(list archive) \"Don't pin VRAM without DMABUF_MOVE_NOTIFY\" (2025-04-17)", confirmed: false,
      note: "~6.16, UNCONFIRMED", uncertainIn: release(6, 15)...release(6, 17)),
    .init(
      id: .amdgpuGFX12DCCNoP2P, area: .amdgpu, landedIn: release(7, 1),
      summary: "amdgpu attach clears peer2peer for GFX12+ buffers with AMDGPU_GEM_CREATE_GFX12_DCC",
      source: "\(leon2026):drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c amdgpu_dma_buf_attach", confirmed: false,
      note: "seen in a 2026 (7.1-era) developer tree; release UNCONFIRMED", uncertainIn: release(7, 0)...release(7, 2)),

    // MARK: importers and other exporters (§4)
    .init(
      id: .rdmaDmabufImport, area: .rdma, landedIn: release(5, 12),
      summary:
        "RDMA imports dma-bufs (umem_dmabuf.c): a dynamic importer with allow_peer2peer=true that needs move_notify (ODP)",
      source: "(list archive) 368c0159d492 (rdma for-next Dec 2020)", confirmed: true, note: nil),
    .init(
      id: .rdmaPinnedImport, area: .rdma, landedIn: release(5, 16),
      summary: "ib_umem_dmabuf_get_pinned(): pinned RDMA import for non-ODP NICs (pins through dma_buf_pin)",
      source: "(list archive) 1e4df4a21c5a (5.16 RDMA pull)", confirmed: true,
      note: "the 5.16 pinned-ops body itself was not read"),
    .init(
      id: .xeDriver, area: .xe, landedIn: release(6, 8),
      summary:
        "xe exports dma-bufs: keeps peer2peer only if pci_p2pdma_distance(…, false) >= 0; no p2p and cannot move to TT → -EOPNOTSUPP; pins TT only",
      source: "torvalds/linux@4f9786035f9e:drivers/gpu/drm/xe/xe_dma_buf.c xe_dma_buf_attach, xe_dma_buf_pin",
      confirmed: false, note: "xe merged in 6.8 (general knowledge; UNCONFIRMED in the history)",
      uncertainIn: release(6, 7)...release(6, 8)),
    .init(
      id: .xeP2PPin, area: .xe, landedIn: release(6, 19),
      summary: "xe pins in VRAM when every attachment is p2p and MOVE_NOTIFY is on (\"Allow pinning of p2p dma-buf\")",
      source: "(list archive) first drm-xe-next PR towards 6.19", confirmed: true, note: nil),
    .init(
      id: .i915SystemMemoryOnlyExport, area: .i915, landedIn: release(4, 20),
      summary:
        "i915 is a static exporter that migrates to system memory on attach (-EOPNOTSUPP if it cannot): never exports LMEM peer-to-peer upstream",
      source: "(list archive) i915_gem_dmabuf_attach", confirmed: true,
      note: "true in every release covered; the p2p_distance variant is out-of-tree"),
    .init(
      id: .vfioDmabufExport, area: .vfio, landedIn: release(6, 19),
      summary:
        "VFIO exports MMIO regions as dma-bufs: attach needs peer2peer (-EOPNOTSUPP), map: BUS_ADDR → bus address, THRU_HOST_BRIDGE → IOVA, NOT_SUPPORTED → -EINVAL",
      source:
        "torvalds/linux@1f97d9dcf536:drivers/vfio/pci/vfio_pci_dmabuf.c (5d74781ebc86); kernelorg-mirror/linux_kernel_git_leon_linux-rdma@7533c862f5c4:drivers/dma-buf/dma-buf-mapping.c dma_buf_phys_vec_to_sgt",
      confirmed: true, note: nil),
    .init(
      id: .vfioPinRefused, area: .vfio, landedIn: release(6, 19),
      summary: "VFIO's pin returns -EOPNOTSUPP: pinned importers (static, pinned RDMA) are refused",
      source: "torvalds/linux@1f97d9dcf536:drivers/vfio/pci/vfio_pci_dmabuf.c (fix 61ceaf236115 on v6.19-rc6)",
      confirmed: true, note: "PENDING/7.1 candidate dma_buf_attach_revocable() would permit them; not modelled"),
  ]

  static let entryByID: [KernelChange: KernelChangeEntry] = Dictionary(
    uniqueKeysWithValues: all.map { ($0.id, $0) })

  /// The changes that separate two releases (those in `newer` and not in `older`), in table order.
  public static func changes(between older: KernelRelease, and newer: KernelRelease) -> [KernelChangeEntry] {
    all.filter { newer.has($0.id) != older.has($0.id) }
  }
}
