import PCITopology

/// The Buffers view (`b`): the live dma-bufs from bufinfo; Enter sets up the share of the
/// highlighted one with its exporter and the functions its attached devices are.
extension ExplorerState {
  mutating func openLiveBuffers() {
    let count = liveBuffers.bufinfo?.buffers.count ?? 0
    liveBufferCursor = min(liveBufferCursor, max(0, count - 1))
    overlay = .liveBuffers
  }

  mutating func handleLiveBuffersKey(_ key: Key) {
    let count = liveBuffers.bufinfo?.buffers.count ?? 0
    switch key {
    case .escape, .character("b"): overlay = nil
    case .up, .character("k"): liveBufferCursor = clampedAdd(liveBufferCursor, -1, upper: count - 1)
    case .down, .character("j"): liveBufferCursor = clampedAdd(liveBufferCursor, 1, upper: count - 1)
    case .pageUp: liveBufferCursor = clampedAdd(liveBufferCursor, -10, upper: count - 1)
    case .pageDown: liveBufferCursor = clampedAdd(liveBufferCursor, 10, upper: count - 1)
    case .home: liveBufferCursor = 0
    case .end: liveBufferCursor = max(0, count - 1)
    case .enter: pickLiveBuffer()
    default: break
    }
  }

  /// Sets up the share bufinfo describes: its exporter's function and the functions of its
  /// attached devices. What bufinfo does not say is said, never guessed: the exporter when its
  /// name is not one bound driver here, and the placement (bufinfo prints none).
  private mutating func pickLiveBuffer() {
    let rows = liveBuffers.rows(in: topology)
    guard rows.indices.contains(liveBufferCursor) else { return }
    let row = rows[liveBufferCursor]
    let importers = row.importers.filter { !topology[$0].isBridge && !topology[$0].isHostBridgeClass }
    let unmapped = row.attachments.filter { $0.function == nil }.map(\.device)
    let skipped = unmapped.isEmpty ? "" : "; not PCI functions here: \(unmapped.joined(separator: ", "))"
    overlay = nil
    guard let exporter = row.exporter else {
      setShare(exporter: nil, bufferIndex: 0, importers: importers)
      message =
        "buffer #\(row.number): no single function here is bound to '\(row.buffer.exporter)'; "
        + "highlight the exporting device and press e, then Enter\(skipped)"
      return
    }
    // bufinfo gives the size, not the placement: a listed buffer of the same size if the
    // exporter has one, else its default buffer.
    let buffers = buffers(of: exporter)
    let sameSize = buffers.firstIndex { $0.size == row.buffer.size }
    setShare(exporter: exporter, bufferIndex: sameSize ?? 0, importers: importers)
    guard !importers.isEmpty else {
      message =
        "buffer #\(row.number): no attached PCI device in this topology to share with (mark importers with i)"
        + skipped
      return
    }
    beginShare()
    guard run != nil else { return }
    let simulated = buffers.indices.contains(bufferIndex) ? "'\(buffers[bufferIndex].name)'" : "the default buffer"
    let sizeNote = sameSize == nil ? " (bufinfo's size differs; its placement is not in bufinfo)" : ""
    message =
      "buffer #\(row.number) (\(row.buffer.exporter)): share with \(importers.count) importer(s) started, "
      + "simulating \(simulated)\(sizeNote)\(skipped)"
  }
}
