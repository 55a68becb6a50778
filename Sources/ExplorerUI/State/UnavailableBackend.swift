import P2PDMA
import PCITopology

/// A backend that answers nothing: used when the kernel model is not available, so the UI still
/// opens and says why instead of failing.
public struct UnavailableBackend: ShareBackend {
  public var reason: String
  public init(reason: String) { self.reason = reason }
  public func mapTypeAndDistance(provider: Int, client: Int) -> (mapType: MapType, distance: Int)? { nil }
  public func explain(provider: Int, client: Int) throws -> PairExplanation { throw ExplorerError(reason) }
  public func simulate(_ selection: ShareSelection) throws -> ShareRun { throw ExplorerError(reason) }
}
