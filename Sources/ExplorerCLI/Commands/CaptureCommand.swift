import ArgumentParser
import Foundation
import PCITopology

/// `dmabuf-explorer capture`: one file holding this machine's config space and the facts the
/// verdicts depend on; `--topology FILE` replays it.
public struct CaptureCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "capture",
    abstract:
      "Save this machine for replay: config space (lspci -xxxx format) plus kernel, CPU, IOMMU, drivers, bufinfo.",
    discussion: """
      Read-only: reads sysfs, procfs and debugfs, never writes to them. The file is an \
      lspci -xxxx dump ('lspci -F FILE' reads it) with a '# ' header block: kernel release and \
      the config options that matter, the boot command line, CPU vendor/family/model, IOMMU \
      groups and their domain types, and bufinfo when readable; per function the bound driver, \
      IOMMU group, BAR sizes and NUMA node. 'dmabuf-explorer matrix --topology FILE' then gives \
      the same answer as 'matrix --topology sysfs' on this machine. Run as root for full config \
      space (ACS); as another user it captures what it can and lists what it could not read. \
      Device Serial Numbers are zeroed unless --include-serials is given.
      """)

  @Option(name: .long, help: ArgumentHelp("Root of the machine to read (tests use a fake one).", valueName: "DIR"))
  public var root: String = "/"

  @Option(name: .long, help: ArgumentHelp("Write the capture here instead of standard output.", valueName: "FILE"))
  public var output: String?

  @Flag(name: .customLong("include-serials"), help: "Keep Device Serial Numbers (identify the hardware).")
  public var includeSerials = false

  public init() {}

  public mutating func run() async throws {
    let result = try MachineCapture.capture(
      root: root, includeSerials: includeSerials, gunzip: KernelResolution.gunzip)
    for entry in result.unreadable { CommandLineEntry.printError("note: could not read \(entry)") }
    if let output {
      guard FileManager.default.createFile(atPath: output, contents: Data(result.text.utf8)) else {
        throw CLIFailure("--output: cannot write \(output)")
      }
      CommandLineEntry.printError("captured \(result.functionCount) functions to \(output)")
    } else {
      print(result.text, terminator: "")
    }
  }
}
