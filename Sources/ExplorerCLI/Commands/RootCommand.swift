import ArgumentParser
import Foundation
import P2PDMA
import PCITopology

/// `dmabuf-explorer`: with no subcommand, the interactive explorer; subcommands are headless.
public struct DMABufExplorerCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "dmabuf-explorer",
    abstract: "See how Linux shares a buffer between PCI devices: P2PDMA verdicts, dma-buf steps, sg tables.",
    discussion: """
      Without a subcommand, opens the interactive explorer on the built-in default topology \
      (or --topology SPEC). SPEC is a file (lspci -x/-xxx/-xxxx dump, lspci -vvv text, lspci -tv \
      tree, plain lspci listing, scenario JSON), 'sysfs', 'sysfs:ROOT', or a built-in scenario \
      name (see 'dmabuf-explorer scenarios').
      """,
    subcommands: [
      TreeCommand.self, MatrixCommand.self, ExplainCommand.self, SimulateCommand.self,
      ScenariosCommand.self, KernelsCommand.self, GenerateCommand.self, BenchCommand.self, LessonsCommand.self,
      BuffersCommand.self, CaptureCommand.self,
    ]
  )

  @OptionGroup public var topology: TopologyOptions
  @Flag(name: .customLong("no-color"), help: "Monochrome: no colours (NO_COLOR is honoured too).")
  public var noColor = false
  @Flag(name: .customLong("ascii"), help: "ASCII rails and boxes instead of UTF-8 line drawing.")
  public var ascii = false
  @Option(
    name: .customLong("lesson"),
    help: ArgumentHelp("Open the explorer on a lesson (NAME.steps.json or NAME.md).", valueName: "FILE"))
  public var lesson: String?
  /// `--bufinfo FILE` for the Buffers view (`b`).
  @OptionGroup public var bufinfo: BufinfoOption

  public init() {}

  public mutating func run() async throws {
    let frontEnd = try InteractiveFrontEnds.required(for: "the interactive explorer")
    try await frontEnd.launchExplorer(
      topology: topology, noColor: noColor, ascii: ascii, lessonFile: lesson, bufinfoFile: bufinfo.bufinfo)
  }
}

/// `--bufinfo FILE`, one type for the root command (the explorer's Buffers view) and `buffers`:
/// the parser decodes a group once, in the first command that has it, and hands it on to the
/// subcommand, whereas a plain option of the same name in both would stay with the root.
public struct BufinfoOption: ParsableArguments, Sendable {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "A saved /sys/kernel/debug/dma_buf/bufinfo (default: the live debugfs file; the explorer reads it only with --topology sysfs).",
      valueName: "FILE"))
  public var bufinfo: String?

  public init() {}
}

/// A failure to report as one line on stderr with exit status 2 (bad input, unknown BDF...).
public struct CLIFailure: Error, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Entry point used by `main.swift`: parses, runs, and turns input errors into one line + exit 2.
public enum CommandLineEntry {
  /// `frontEnd` is the interactive explorer (the terminal app); without one, the root command and
  /// `bench --case ui` fail with one line.
  package static func main(
    _ arguments: [String] = Array(CommandLine.arguments.dropFirst()), frontEnd: (any InteractiveFrontEnd)?
  ) async -> Int32 {
    await InteractiveFrontEnds.$current.withValue(frontEnd) { await run(arguments) }
  }

  private static func run(_ arguments: [String]) async -> Int32 {
    do {
      var command = try DMABufExplorerCommand.parseAsRoot(arguments)
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      return try finishStandardOutput()
    } catch let failure as OutputWriteFailure {
      printError(failure.message)
      return 1
    } catch let failure as CLIFailure {
      printError(failure.message)
      return 2
    } catch let error as UserFacingError {
      printError(error.description)
      return 2
    } catch {
      let code = DMABufExplorerCommand.exitCode(for: error)
      let message = DMABufExplorerCommand.fullMessage(for: error)
      if !message.isEmpty {
        if code == .success {
          do {
            try writeOutput(message + "\n", json: false)
          } catch {
            printError("\(error)")
            return 1
          }
        } else {
          printError(message)
        }
      }
      // Usage errors (bad option values) are bad input too: exit 2 like other input errors.
      return code == .validationFailure ? 2 : code.rawValue
    }
  }

  /// One line on stderr, `dmabuf-explorer: ` first, control characters escaped.
  public static func printError(_ message: String) {
    StandardError.writeLine("dmabuf-explorer: \(message)")
  }

  /// A command's whole standard output, escaped for its format and checked.
  static func writeOutput(_ text: String, json: Bool) throws {
    var output = DescriptorWriter.standardOutput(mode: json ? .json : .text)
    output.write(text)
    try output.finish()
  }

  /// What `print` (bench) left in the C library's buffer: flushed, and a failure reported
  /// instead of being dropped at exit.
  static func finishStandardOutput() throws -> Int32 {
    let code = flushCStandardOutput()
    if code != 0 {
      throw OutputWriteFailure(message: "cannot write to standard output: \(DescriptorWriter.describe(errno: code))")
    }
    return 0
  }
}

/// Output format shared by the headless subcommands.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case text, json, summary
}

/// `--topology` and the what-if knobs shared by every subcommand.
public struct TopologyOptions: ParsableArguments, Sendable {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "File, 'sysfs', 'sysfs:ROOT' or built-in scenario name; repeat to merge several lspci files of one machine.",
      valueName: "SPEC"))
  public var topology: [String] = []

  @Option(name: .long, help: "CPU rule for cpu_supports_p2pdma(): amd-zen, intel or other (default: from the input).")
  public var cpu: String?

  @Option(name: .long, help: "IOMMU mode: on, off or pt (default: from the input, else off).")
  public var iommu: String?

  @Option(
    name: .customLong("disable-acs-redir"),
    help: ArgumentHelp("What-if: clear RR/CR/EC on these devices, as pci=disable_acs_redir=.", valueName: "'BDF;BDF'"))
  public var disableACSRedir: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Kernel release to model: mainline, X.Y, X.Y.Z or a 'uname -r' string (default: the running kernel for sysfs, the scenario's, else mainline).",
      valueName: "RELEASE"))
  public var kernel: String?

  @Option(
    name: .customLong("dmabuf-move-notify"),
    help: ArgumentHelp(
      "CONFIG_DMABUF_MOVE_NOTIFY, where the release has it (5.7-7.0): y or n (default: the running kernel's config for sysfs, else n).",
      valueName: "y|n"))
  public var dmabufMoveNotify: String?

  public init() {}
}

extension TopologyOptions {
  /// The P2P configuration from `--cpu`, `--iommu` and `--disable-acs-redir`, with everything
  /// not given taken from the topology's platform facts or inferred (and marked as inferred).
  public func p2pConfiguration(for topology: Topology) throws -> P2PConfiguration {
    var cpuRule: CPURule?
    if let cpu {
      guard let parsed = CPURule(rawValue: cpu.lowercased()) else {
        throw CLIFailure("--cpu: '\(cpu)' is not one of \(CPURule.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      cpuRule = parsed
    }
    var iommuMode: IOMMUMode?
    if let iommu {
      guard let parsed = IOMMUMode(rawValue: iommu.lowercased()) else {
        throw CLIFailure("--iommu: '\(iommu)' is not one of on, off, pt")
      }
      iommuMode = parsed
    }
    var disabled: [BDF] = []
    if let disableACSRedir {
      do {
        disabled = try P2PConfiguration.parseACSRedirectList(disableACSRedir)
      } catch let error as P2PError {
        throw CLIFailure("--disable-acs-redir: \(error.description)")
      }
    }
    let kernelContext = try KernelResolution.context(kernel: kernel, moveNotify: dmabufMoveNotify, topology: topology)
    var configuration = P2PConfiguration(
      inferringFrom: topology, cpu: cpuRule, iommu: iommuMode, disableACSRedirect: disabled, kernel: kernelContext)
    if cpuRule != nil { configuration.cpuSource = "given with --cpu" }
    return configuration
  }
}
