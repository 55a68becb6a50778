import DMABufSim
import P2PDMA
import PCITopology

/// The real kernel model behind the UI: `P2PEngine` for pairs and (once available) the dma-buf
/// simulator for shares. Built once per topology and knob setting.
public struct KernelBackend: ShareBackend {
  public let engine: P2PEngine
  /// How system-memory buffers are laid out in pages (the simulator's default unless a caller,
  /// such as the benchmark's worst case, asks for another).
  public let pageLayout: SystemPageLayout

  public init(
    topology: Topology, configuration: P2PConfiguration, pageLayout: SystemPageLayout = .partlyContiguous
  ) {
    engine = P2PEngine(topology: topology, configuration: configuration)
    self.pageLayout = pageLayout
  }

  /// The factory the app uses: a new backend for each what-if.
  public static let factory: ShareBackendFactory = { topology, configuration in
    KernelBackend(topology: topology, configuration: configuration)
  }

  /// A factory whose shares use `pageLayout` for system memory.
  public static func factory(pageLayout: SystemPageLayout) -> ShareBackendFactory {
    { topology, configuration in
      KernelBackend(topology: topology, configuration: configuration, pageLayout: pageLayout)
    }
  }

  public func mapTypeAndDistance(provider: Int, client: Int) -> (mapType: MapType, distance: Int)? {
    let count = engine.topology.count
    guard provider >= 0, provider < count, client >= 0, client < count else { return nil }
    let (mapType, distance) = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
    return (mapType, distance)
  }

  public func exportableBuffers(of function: Int) -> [BufferSpec]? {
    guard function >= 0, function < engine.topology.count else { return nil }
    return DMABufSimulator.buffers(for: engine.topology[function].bdf, in: engine.topology)
  }

  public func driverProfile(of function: Int) -> String? {
    guard function >= 0, function < engine.topology.count else { return nil }
    return DMABufSimulator.profile(for: engine.topology[function].bdf, in: engine.topology)?.name
  }

  public func explain(provider: Int, client: Int) throws -> PairExplanation {
    let count = engine.topology.count
    guard provider >= 0, provider < count, client >= 0, client < count else {
      throw ExplorerError("no such pair (\(provider), \(client))")
    }
    // verbose: the matrix shows what the kernel would print for a verbose caller (VFIO).
    let verdict = engine.verdict(providerIndex: provider, clientIndex: client, verbose: true)
    return PairExplanation(
      mapType: verdict.mapType, distance: verdict.distance >= 0 ? verdict.distance : nil,
      reason: verdict.reason, fix: verdict.fix, dmesg: verdict.dmesg,
      topologyClass: "\(verdict.topoClass.rawValue) (\(verdict.topoClass.meaning))")
  }
}
