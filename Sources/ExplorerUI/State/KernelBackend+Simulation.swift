import P2PDMA
import PCITopology

extension KernelBackend {
  public func simulate(_ selection: ShareSelection) throws -> ShareRun {
    throw ExplorerError("the dma-buf simulator is not part of this build yet; the P2P matrix (m) works")
  }
}
