import PCITopology

/// The dma-bufs a machine has (`/sys/kernel/debug/dma_buf/bufinfo`) as the Buffers view (`b`)
/// lists them, or why there are none. Parsed by `BufinfoParser`, the one copy of the format that
/// `dmabuf-explorer buffers` uses too.
public struct LiveBuffers: Sendable {
  /// The parsed listing; nil when none could be read (`unavailable` says why).
  public var bufinfo: Bufinfo?
  /// Where it came from: the file given with `--bufinfo`, or the live debugfs path.
  public var source: String
  /// Why there is no listing, in words the view shows.
  public var unavailable: String?

  public init(bufinfo: Bufinfo, source: String) {
    self.bufinfo = bufinfo
    self.source = source
    self.unavailable = nil
  }

  public init(unavailable reason: String, source: String = BufinfoParser.livePath) {
    self.bufinfo = nil
    self.source = source
    self.unavailable = reason
  }

  /// What a start without `--bufinfo` on a topology that is not this machine gets.
  public static let notGiven = LiveBuffers(
    unavailable:
      "No bufinfo loaded. Start the explorer with --bufinfo FILE (a saved copy of "
      + "/sys/kernel/debug/dma_buf/bufinfo), or as root with --topology sysfs to read the live one.")

  /// `--bufinfo FILE` when given (a read or parse error is thrown: it names the file and line);
  /// else the live debugfs file, but only when the topology is this machine (`sysfs`), since
  /// the devices a live listing names belong to it. A live file that cannot be read is not an
  /// error: the view says why (debugfs is readable by root only).
  public static func load(file: String?, topology: Topology, livePath: String = BufinfoParser.livePath) throws
    -> LiveBuffers
  {
    if let file {
      return LiveBuffers(bufinfo: try parse(path: file), source: file)
    }
    guard topology.source.kind == .sysfs else { return .notGiven }
    do {
      return LiveBuffers(bufinfo: try parse(path: livePath), source: livePath)
    } catch let error as TopologyError {
      return LiveBuffers(
        unavailable: "\(error.description). debugfs is readable by root only: run as root, or give --bufinfo FILE.",
        source: livePath)
    }
  }

  private static func parse(path: String) throws -> Bufinfo {
    let bytes = try BoundedRead.readFile(path: path, limit: TopologyLoader.inputLimit)
    return try BufinfoParser.parse(String(decoding: bytes, as: UTF8.self), path: path)
  }

  /// One buffer with its exporter and attached devices mapped to functions of `topology`.
  public struct Row: Sendable, Equatable {
    public var number: Int
    public var buffer: BufinfoBuffer
    /// The function that exported it, when exactly one is bound to a driver of that name.
    public var exporter: Int?
    /// Each attached device (`dev_name()`) with its function index (nil: not a PCI function here).
    public var attachments: [(device: String, function: Int?)]

    public static func == (lhs: Row, rhs: Row) -> Bool {
      lhs.number == rhs.number && lhs.buffer == rhs.buffer && lhs.exporter == rhs.exporter
        && lhs.attachments.map(\.device) == rhs.attachments.map(\.device)
        && lhs.attachments.map(\.function) == rhs.attachments.map(\.function)
    }

    /// The attached functions that can import: mapped, not the exporter, each once, in order.
    public var importers: [Int] {
      var seen = Set<Int>()
      return attachments.compactMap(\.function).filter { $0 != exporter && seen.insert($0).inserted }
    }
  }

  /// The rows the view lists, in file order.
  public func rows(in topology: Topology) -> [Row] {
    guard let bufinfo else { return [] }
    return bufinfo.buffers.enumerated().map { number, buffer in
      Row(
        number: number + 1, buffer: buffer,
        exporter: BufinfoParser.exporterFunction(buffer.exporter, in: topology).flatMap { topology.index(of: $0) },
        attachments: buffer.attachedDevices.map { device in
          (device, BufinfoParser.function(forDevice: device, in: topology).flatMap { topology.index(of: $0) })
        })
    }
  }
}
