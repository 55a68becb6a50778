import P2PDMA
import PCITopology

/// The matrix overlay and the what-if knobs: their keys, the cells and the highlighted pair's
/// explanation (computed here, kept in state, only read by the views).
extension ExplorerState {
  mutating func performInMatrix(_ action: Action) {
    let count = matrix.endpoints.count
    switch action {
    case .closeOverlay:
      overlay = nil
      return
    case .move(.by(let delta)): matrix.row = clampedAdd(matrix.row, delta, upper: count - 1)
    case .stepBackward: matrix.column -= 1
    case .stepForward: matrix.column += 1
    case .pageUp: matrix.row -= 10
    case .pageDown: matrix.row += 10
    case .move(.first):
      matrix.row = 0
      matrix.column = 0
    case .move(.last):
      matrix.row = count - 1
      matrix.column = count - 1
    case .matrixShowAll:
      matrix.showAll.toggle()
      let provider = matrix.endpoints.indices.contains(matrix.row) ? matrix.endpoints[matrix.row] : nil
      let client = matrix.endpoints.indices.contains(matrix.column) ? matrix.endpoints[matrix.column] : nil
      matrix.endpoints = matrixEndpoints(showAll: matrix.showAll)
      matrix.row = provider.flatMap { matrix.endpoints.firstIndex(of: $0) } ?? 0
      matrix.column = client.flatMap { matrix.endpoints.firstIndex(of: $0) } ?? 0
      computeMatrixCells()
      message =
        matrix.showAll
        ? "matrix: all \(matrix.endpoints.count) non-bridge functions (A: only devices that share)"
        : "matrix: \(matrix.endpoints.count) devices that share buffers (A: all functions)"
    case .whatIf(let whatIf): apply(whatIf)
    case .activate:
      // Enter takes the pair back to the tree: the matrix closes, the provider highlighted.
      if matrix.endpoints.indices.contains(matrix.row) {
        let provider = matrix.endpoints[matrix.row]
        tree.reveal(provider, topology: topology)
        focus = .tree
        overlay = nil
        message = "provider \(topology[provider].bdf) highlighted (m reopens the matrix)"
        return
      }
    default: break
    }
    matrix.row = min(max(0, matrix.row), max(0, count - 1))
    matrix.column = min(max(0, matrix.column), max(0, count - 1))
    explainMatrixPair()
  }

  mutating func openMatrix() {
    if matrix.endpoints.isEmpty { matrix.endpoints = matrixEndpoints(showAll: matrix.showAll) }
    if let function = selectedFunction, let row = matrix.endpoints.firstIndex(of: function) { matrix.row = row }
    computeMatrixCells()
    explainMatrixPair()
    overlay = .matrix
  }

  /// Devices that take part in dma-buf sharing: display, network, storage, multimedia (capture),
  /// processors/accelerators. Host-bridge class, bridges and platform (uncore, class 08/11)
  /// functions are left out unless `showAll`.
  func matrixEndpoints(showAll: Bool) -> [Int] {
    let sharingClasses: Set<UInt8> = [0x01, 0x02, 0x03, 0x04, 0x0b, 0x12]
    return (0..<topology.count).filter { index in
      let function = topology[index]
      guard function.isEndpointForMatrix else { return false }
      return showAll || sharingClasses.contains(function.baseClass)
    }
  }

  /// Every cell of the matrix from the backend (the fast path), kept in state for rendering.
  mutating func computeMatrixCells() {
    let endpoints = matrix.endpoints
    var cells: [MatrixCell?] = []
    cells.reserveCapacity(endpoints.count * endpoints.count)
    for provider in endpoints {
      for client in endpoints {
        cells.append(
          backend.mapTypeAndDistance(provider: provider, client: client).map {
            MatrixCell(mapType: $0.mapType, distance: $0.distance)
          })
      }
    }
    matrix.cells = cells
  }

  /// The highlighted pair's explanation, kept in state for rendering.
  mutating func explainMatrixPair() {
    matrix.explanation = nil
    matrix.explanationError = nil
    let endpoints = matrix.endpoints
    guard endpoints.indices.contains(matrix.row), endpoints.indices.contains(matrix.column) else { return }
    let provider = endpoints[matrix.row]
    let client = endpoints[matrix.column]
    guard provider != client else { return }
    do {
      matrix.explanation = try backend.explain(provider: provider, client: client)
    } catch {
      matrix.explanationError = "\(error)"
    }
  }

  /// Applies a what-if knob; every pane, the matrix and the share are recomputed from it.
  mutating func apply(_ whatIf: WhatIf) {
    switch whatIf {
    case .toggleACS(.requestRedirect): toggleACS(.requestRedirect, name: "ReqRedir (RR)")
    case .toggleACS(.completionRedirect): toggleACS(.completionRedirect, name: "CmpltRedir (CR)")
    case .toggleACS(.egressControl): toggleACS(.egressControl, name: "EgressCtrl (EC)")
    case .clearAllRedirect: toggleAllRedirect()
    case .cycleIOMMU: cycleIOMMU()
    case .cycleCPURule: cycleCPURule()
    case .cycleKernelRelease: cycleKernelRelease()
    }
    if !matrix.endpoints.isEmpty {
      computeMatrixCells()
      explainMatrixPair()
    }
  }

  private mutating func toggleACS(_ bit: ACSBits, name: String) {
    guard let function = selectedFunction else {
      message = "highlight a bridge first"
      return
    }
    let target = topology[function]
    guard case .present(let capability, let control) = target.acs else {
      message =
        target.acs.isUnknown
        ? "\(target.bdf): ACS state unknown (the input lacks extended config space)"
        : "\(target.bdf) has no ACS capability: nothing to toggle"
      return
    }
    guard capability.contains(bit) else {
      message = "\(target.bdf): its ACS capability does not implement \(name)"
      return
    }
    var bits = configuration.acsControlOverrides[target.bdf] ?? control
    let nowSet = !bits.contains(bit)
    if nowSet { bits.insert(bit) } else { bits.remove(bit) }
    let failure = reconfigure { configuration in
      configuration.acsControlOverrides[target.bdf] = bits == control ? nil : bits
    }
    message = failure ?? "what-if: \(name) \(nowSet ? "set" : "cleared") on \(target.bdf); everything recomputed"
  }

  private mutating func toggleAllRedirect() {
    guard let function = selectedFunction else { return }
    let target = topology[function]
    guard case .present(_, let control) = target.acs else {
      message = "\(target.bdf) has no known ACS Control register"
      return
    }
    let restoring = configuration.acsControlOverrides[target.bdf] != nil
    let failure = reconfigure { configuration in
      if restoring {
        configuration.acsControlOverrides[target.bdf] = nil
      } else {
        configuration.acsControlOverrides[target.bdf] = control.subtracting(.p2pRedirect)
      }
    }
    message =
      failure
      ?? (restoring
        ? "what-if removed: \(target.bdf) ACS Control back to \(control.shortNames)"
        : "what-if: RR/CR/EC cleared on \(target.bdf) (as pci=disable_acs_redir=\(target.bdf))")
  }

  private mutating func cycleIOMMU() {
    let order: [IOMMUMode] = [.off, .on, .passthrough]
    let position = order.firstIndex(of: configuration.iommu) ?? 0
    let nextMode = order[(position + 1) % order.count]
    // An active IOMMU driver makes the kernel enable ACS (pci_request_acs, then pci_enable_acs):
    // on a machine that was not captured live the what-if does both, as `--iommu on` does in
    // the CLI; a capture's ACS Control already shows what its kernel enabled.
    let isCapture = topology.source.kind.isCapture
    let enablesACS = nextMode == .on && !isCapture
    let failure = reconfigure { configuration in
      configuration.iommu = nextMode
      if !isCapture { configuration.simulateKernelACSEnable = enablesACS }
    }
    message =
      failure
      ?? "what-if: IOMMU \(nextMode.rawValue)"
      + (enablesACS ? " and the kernel's ACS enable (SV/RR/CR/UF where offered)" : "") + "; everything recomputed"
  }

  /// Every pane is recomputed for the next release of `KernelRelease.interfaceCycle`, as the
  /// other what-ifs are; CONFIG_DMABUF_MOVE_NOTIFY takes that release's default.
  private mutating func cycleKernelRelease() {
    let next = configuration.kernel.nextInCycle()
    let failure = reconfigure { $0.kernel = next }
    message = failure ?? "what-if: kernel \(next.headerLine); everything recomputed"
  }

  private mutating func cycleCPURule() {
    let order = CPURule.allCases
    let position = order.firstIndex(of: configuration.cpu) ?? 0
    let nextRule = order[(position + 1) % order.count]
    let failure = reconfigure { configuration in
      configuration.cpu = nextRule
      configuration.cpuWasInferred = false
      configuration.cpuSource = "what-if (c)"
    }
    message = failure ?? "what-if: CPU rule \(nextRule.rawValue); everything recomputed"
  }

}
