import ArgumentParser
import Foundation
import PCITopology

/// `dmabuf-explorer buffers`: the dma-bufs a machine has, from `bufinfo`, with the exporter and
/// the attached devices mapped to PCI functions.
public struct BuffersCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "buffers",
    abstract: "List live dma-bufs from /sys/kernel/debug/dma_buf/bufinfo (or a saved copy) with their importers.",
    discussion: """
      Reads every layout the kernel has printed (the old five columns, the later inode and name \
      columns, fences, attached devices), also when a mailer wrapped the lines. Attached devices \
      that are PCI functions are mapped to the topology (--topology, default: sysfs when reading \
      the live file, none for a saved file); the exporter is mapped when exactly one function is \
      bound to a driver of that name. Reading the live file needs root (debugfs).
      """)

  /// `--bufinfo`: shared with the explorer's root command, which parses it first.
  @OptionGroup public var bufinfoOption: BufinfoOption
  public var bufinfo: String? { bufinfoOption.bufinfo }

  /// `--topology`: the machine to map devices to (the shared option, so it is parsed here).
  @OptionGroup public var options: TopologyOptions

  @Option(name: .long, help: "Output format: text or json.")
  public var format: OutputFormat = .text

  public init() {}

  public mutating func run() async throws {
    let path = bufinfo ?? BufinfoParser.livePath
    let data: Data
    do {
      data = try TopologyMerger.readFile(path)
    } catch let error as TopologyError {
      if bufinfo == nil {
        throw CLIFailure(
          "\(error.description) (debugfs is readable by root only; run as root or give --bufinfo FILE)")
      }
      throw error
    }
    let parsed = try BufinfoParser.parse(String(decoding: data, as: UTF8.self), path: path)
    var machine: Topology?
    if !options.topology.isEmpty {
      machine = try TopologyResolver.resolve(options.topology)
    } else if bufinfo == nil {
      machine = try? TopologyLoader.load(spec: "sysfs")
    }
    print(BuffersRenderer.render(parsed, topology: machine, source: path, format: format), terminator: "")
  }
}

/// Text and JSON renderings of `buffers`; public so tests can render without a process.
public enum BuffersRenderer {
  public static func render(_ bufinfo: Bufinfo, topology: Topology?, source: String, format: OutputFormat) -> String {
    switch format {
    case .json: return json(bufinfo, topology: topology, source: source)
    case .text, .summary: return text(bufinfo, topology: topology, source: source, summary: format == .summary)
    }
  }

  static func text(_ bufinfo: Bufinfo, topology: Topology?, source: String, summary: Bool) -> String {
    let total = bufinfo.buffers.reduce(UInt64(0)) { $0 + $1.size }
    var text = "bufinfo: \(source) (\(bufinfo.buffers.count) buffers, \(total) bytes, \(bufinfo.layout) layout)\n"
    text += "topology: \(topology.map { $0.source.title } ?? "none (devices mapped by address only)")\n"
    if summary { return text }
    for (number, buffer) in bufinfo.buffers.enumerated() {
      var line = "\n#\(number + 1)  \(buffer.size) bytes  exporter \(buffer.exporter)"
      if let function = BufinfoParser.exporterFunction(buffer.exporter, in: topology) { line += " (\(function))" }
      if let name = buffer.name { line += "  name \(name)" }
      if let inode = buffer.inode { line += "  ino \(inode)" }
      text += line + "  refs \(buffer.count)\n"
      for fence in buffer.fences { text += "    \(fence)\n" }
      if buffer.attachedDevices.isEmpty { text += "    attached: none\n" }
      for device in buffer.attachedDevices {
        let function = BufinfoParser.function(forDevice: device, in: topology)
        let what = function.flatMap { topology?.function($0) }.map { " \($0.idPair) \($0.displayName)" } ?? ""
        text += "    attached: \(device)" + (function == nil ? " (not a PCI function here)" : what) + "\n"
      }
    }
    return text
  }

  static func json(_ bufinfo: Bufinfo, topology: Topology?, source: String) -> String {
    let document = BuffersJSON(
      buffers: bufinfo.buffers.map { buffer in
        BuffersJSON.Buffer(
          attachments: buffer.attachedDevices.map {
            .init(device: $0, function: BufinfoParser.function(forDevice: $0, in: topology)?.description)
          },
          count: buffer.count, exporter: buffer.exporter,
          exporter_function: BufinfoParser.exporterFunction(buffer.exporter, in: topology)?.description,
          fences: buffer.fences, flags: "0x" + hex(buffer.flags, width: 8), inode: buffer.inode,
          mode: "0x" + hex(buffer.mode, width: 8), name: buffer.name, size: buffer.size)
      },
      layout: bufinfo.layout, source: source, topology: topology?.source.title)
    return (try? JSONOutputEncoder(layout: .pretty).encode(document)).map { $0 + "\n" } ?? "{}\n"
  }
}
