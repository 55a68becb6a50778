import P2PDMA
import PCITopology
import Testing

@testable import ExplorerUI

/// A small machine built in code:
///
/// ```
/// [0000:00] 00:00.0 host bridge (AMD)
///           00:01.1 root port ─ 01:00.0 switch upstream ─┬ 02:00.0 downstream ─ 03:00.0 GPU (2 buffers)
///                                                         └ 02:01.0 downstream (ACS RR CR) ─ 04:00.0 NIC
///           00:03.1 root port (ACS RR CR) ─ 05:00.0 NVMe
/// ```
enum Fixtures {
  static func bdf(_ text: String) -> BDF {
    guard let bdf = BDF(text) else { fatalError("bad BDF literal \(text) in a test fixture") }
    return bdf
  }

  static let gpu = bdf("0000:03:00.0")
  static let nic = bdf("0000:04:00.0")
  static let nvme = bdf("0000:05:00.0")
  static let redirectingSwitchPort = bdf("0000:02:01.0")
  static let rootPortWithRedirect = bdf("0000:00:03.1")

  static let redirect: ACSState = .present(
    capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding, .egressControl],
    control: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
  static let noRedirect: ACSState = .present(
    capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding, .egressControl],
    control: [])

  static func bridge(
    _ text: String, secondary: UInt8, subordinate: UInt8, port: PCIePortType, acs: ACSState = .absent,
    name: String
  ) -> PCIFunction {
    let address = bdf(text)
    return PCIFunction(
      bdf: address, vendorID: 0x1022, deviceID: 0x14ab, classCode: 0x060400, headerType: 1, portType: port,
      primaryBus: address.bus, secondaryBus: secondary, subordinateBus: subordinate, acs: acs, iommuGroup: 1,
      driver: "pcieport", name: name)
  }

  static let topology: Topology = {
    let functions = [
      PCIFunction(
        bdf: bdf("0000:00:00.0"), vendorID: 0x1022, deviceID: 0x14a4, classCode: 0x060000, name: "Root Complex",
        vendorName: "AMD"),
      bridge("0000:00:01.1", secondary: 1, subordinate: 4, port: .rootPort, acs: noRedirect, name: "GPP Bridge A"),
      bridge("0000:01:00.0", secondary: 2, subordinate: 4, port: .upstreamPort, name: "Switch Upstream"),
      bridge(
        "0000:02:00.0", secondary: 3, subordinate: 3, port: .downstreamPort, acs: noRedirect, name: "Switch Down 0"),
      bridge("0000:02:01.0", secondary: 4, subordinate: 4, port: .downstreamPort, acs: redirect, name: "Switch Down 1"),
      PCIFunction(
        bdf: gpu, vendorID: 0x1002, deviceID: 0x744c, classCode: 0x030000, portType: .endpoint,
        bars: [BAR(index: 0, address: 0x70_0000_0000, size: 16 << 30)], acs: .absent, iommuGroup: 12,
        driver: "amdgpu", name: "Navi 31 GPU", vendorName: "AMD",
        extras: DeviceExtras(
          driverProfile: "amdgpu", vramSize: 16 << 30, visibleVRAMSize: 16 << 30,
          buffers: [
            BufferSpec(name: "frame", size: 256 << 20, preferredPlacement: .vram, vramOffset: 0),
            BufferSpec(name: "staging", size: 64 << 20, preferredPlacement: .system),
          ])),
      PCIFunction(
        bdf: nic, vendorID: 0x15b3, deviceID: 0x1021, classCode: 0x020000, portType: .endpoint,
        bars: [BAR(index: 0, address: 0x60_0000_0000, size: 32 << 20)], iommuGroup: 13, driver: "mlx5_core",
        name: "ConnectX-7 NIC"),
      bridge("0000:00:03.1", secondary: 5, subordinate: 5, port: .rootPort, acs: redirect, name: "GPP Bridge B"),
      PCIFunction(
        bdf: nvme, vendorID: 0x144d, deviceID: 0xa80a, classCode: 0x010802, portType: .endpoint, iommuGroup: 14,
        driver: "nvme", name: "NVMe SSD"),
    ]
    return Topology(
      functions: functions, source: TopologySource(kind: .builtin, location: "fixture", title: "UI test fixture"),
      platform: PlatformInfo(cpuVendor: .amd, cpuFamily: 0x19, iommu: .off, kernel: "mainline"))
  }()

  static let configuration = P2PConfiguration(cpu: .amdZen, iommu: .off)

  /// A state at `width`×`height` over the fixture, with the scripted backend unless told otherwise.
  static func state(
    width: Int = 120, height: Int = 40, glyphs: Glyphs = .unicode,
    backend: @escaping ShareBackendFactory = { topology, configuration in
      ScriptedBackend(topology: topology, configuration: configuration)
    }
  ) -> ExplorerState {
    ExplorerState(
      topology: topology, configuration: configuration, width: width, height: height,
      display: DisplayOptions(glyphs: glyphs), backendFactory: backend)
  }

  static func index(_ address: BDF) -> Int {
    guard let index = topology.index(of: address) else { fatalError("\(address) not in the fixture") }
    return index
  }
}

/// A backend that answers from a script, so view tests know exactly what to expect: GPU → NIC goes
/// through the host bridge (the switch port redirects), GPU → NVMe is refused under the intel rule.
struct ScriptedBackend: ShareBackend {
  var topology: Topology
  var configuration: P2PConfiguration

  func mapTypeAndDistance(provider: Int, client: Int) -> (mapType: MapType, distance: Int)? {
    (configuration.cpu == .amdZen ? .thruHostBridge : .notSupported, 4)
  }

  func explain(provider: Int, client: Int) throws -> PairExplanation {
    PairExplanation(mapType: .thruHostBridge, distance: 4, reason: "scripted reason", fix: "scripted fix")
  }

  func simulate(_ selection: ShareSelection) throws -> ShareRun {
    var steps: [ShareStep] = [
      ShareStep(lane: .exporterDriver, function: "dma_buf_export", explanation: "The exporter wraps its buffer.")
    ]
    var attachments: [AttachmentSummary] = []
    for (number, importer) in selection.importers.enumerated() {
      let redirect = { (index: Int) -> Bool in
        guard let control = configuration.acsControlOverrides[topology[index].bdf] ?? topology[index].acs.control else {
          return false
        }
        return !control.isDisjoint(with: .p2pRedirect)
      }
      let walk = WalkPath.scripted(
        topology: topology, provider: selection.exporter, client: importer, hasRedirect: redirect)
      // Like the kernel: a redirect on the path, or no common upstream device, means the host bridge.
      let peer = walk.culprits.isEmpty && walk.commonUpstream != nil
      steps.append(
        ShareStep(
          lane: .importerDriver, function: "dma_buf_dynamic_attach", explanation: "Importer \(number + 1) attaches.",
          importer: importer))
      steps.append(
        ShareStep(
          lane: .p2pdma, function: "pci_p2pdma_distance", explanation: "The kernel walks up from the provider.",
          outcome: peer ? "BUS_ADDR" : "THRU_HOST_BRIDGE", importer: importer, walk: walk))
      steps.append(
        ShareStep(
          lane: .dmaAPI, function: "dma_map_resource", explanation: "Entries are mapped.", importer: importer,
          sgEntriesVisible: 1))
      steps.append(
        ShareStep(
          lane: .exporterDriver, function: "amdgpu_dma_buf_map", explanation: "Done.", outcome: "sg_table",
          importer: importer, sgEntriesVisible: 2))
      let rows = [
        SGRow(
          dmaAddress: 0x70_0000_0000 + UInt64(number) * 0x1000_0000, dmaLength: 2 << 30, page: "NULL",
          target: "BAR0 of 0000:03:00.0"),
        SGRow(dmaAddress: 0x70_8000_0000, dmaLength: 1 << 20, page: "NULL", target: "BAR0 of 0000:03:00.0"),
      ]
      attachments.append(
        AttachmentSummary(
          importer: importer, allowPeer2peer: true, peer2peer: true, mapType: peer ? .busAddress : .thruHostBridge,
          distance: 4, placement: "VRAM",
          culprit: walk.culprits.isEmpty ? nil : "0000:02:01.0 ACS RR CR",
          fix: walk.culprits.isEmpty ? nil : "pci=disable_acs_redir=0000:02:01.0",
          sgTable: ArraySGRows(rows: rows)))
    }
    return ShareRun(steps: steps, attachments: attachments)
  }
}

/// Test helpers on the state.
extension ExplorerState {
  mutating func press(_ keys: Key...) {
    for key in keys { handle(.key(key)) }
  }

  mutating func type(_ text: String) {
    for character in text { handle(.key(.character(character))) }
  }

  /// Moves the tree cursor onto a function.
  mutating func highlight(_ address: BDF) {
    tree.reveal(Fixtures.index(address), topology: topology)
    keepCursorsVisible()
  }

  var screen: CellScreen { ExplorerRenderer.render(self) }
}

extension CellScreen {
  /// Cell position of the first occurrence of `needle`, scanning rows top to bottom.
  func find(_ needle: String) -> (x: Int, y: Int)? {
    let pattern = Array(needle.unicodeScalars)
    guard !pattern.isEmpty else { return nil }
    for row in 0..<height {
      let scalars = Array(line(row).unicodeScalars)
      guard scalars.count >= pattern.count else { continue }
      for start in 0...(scalars.count - pattern.count) where Array(scalars[start..<(start + pattern.count)]) == pattern
      {
        return (start, row)
      }
    }
    return nil
  }
}

/// Records an issue naming the missing text and showing the whole screen as the user sees it.
func expectOnScreen(
  _ screen: CellScreen, _ needles: String..., sourceLocation: SourceLocation = #_sourceLocation
) {
  for needle in needles where !screen.contains(needle) {
    Issue.record("'\(needle)' is not on the screen:\n\(screen.text)", sourceLocation: sourceLocation)
  }
}

extension WalkPath {
  /// The test double's walk: the provider's chain up to the first device also on the client's
  /// chain, then down; redirecting devices on it are culprits. (The app takes its walk from
  /// `P2PEngine`'s verdict; this copy only feeds `ScriptedBackend`.)
  static func scripted(topology: Topology, provider: Int, client: Int, hasRedirect: (Int) -> Bool) -> WalkPath {
    let providerChain = topology.pathToRoot(from: provider)
    let clientChain = topology.pathToRoot(from: client)
    var upward: [Int] = []
    var culprits = Set<Int>()
    for node in providerChain {
      upward.append(node)
      if hasRedirect(node) { culprits.insert(node) }
      if let position = clientChain.firstIndex(of: node) {
        let downward = clientChain[..<position].reversed()
        for below in downward where hasRedirect(below) { culprits.insert(below) }
        return WalkPath(nodes: upward + downward, culprits: culprits, commonUpstream: node)
      }
    }
    return WalkPath(nodes: providerChain + clientChain.reversed(), culprits: [], commonUpstream: nil)
  }
}
