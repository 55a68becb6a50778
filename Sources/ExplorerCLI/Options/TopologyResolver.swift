import Assets
import Foundation
import PCITopology

/// Turns a `--topology SPEC` (or none) into a topology.
///
/// Order of lookup: no SPEC → the default built-in scenario; a built-in scenario name → that
/// scenario; anything else → a file or `sysfs[:ROOT]`. A name that is neither a built-in nor an
/// existing path gets the list of built-ins, since a typo in a name is the likely cause.
public enum TopologyResolver {
  public static func resolve(_ spec: String?) throws -> Topology {
    try resolveScenario(spec).topology
  }

  /// `--topology` given zero, one or several times. Several must all be lspci files of one
  /// machine (dumps, text, trees, listings); they are merged (TopologyMerger), with conflicts
  /// reported as warnings.
  public static func resolve(_ specs: [String]) throws -> Topology {
    guard specs.count > 1 else { return try resolve(specs.first) }
    for spec in specs
    where spec == "-" || spec == "sysfs" || spec.hasPrefix("sysfs:") || !FileManager.default.fileExists(atPath: spec) {
      throw CLIFailure(
        "--topology given \(specs.count) times: only lspci files of one machine can be merged, and '\(spec)' is "
          + (spec == "-" ? "standard input" : spec.hasPrefix("sysfs") ? "a live or copied sysfs" : "not a file")
          + " (give it alone, or save it to a file first)")
    }
    return try TopologyMerger.load(paths: specs)
  }

  /// Like `resolve`, but keeps a scenario's name and description when the input is one.
  public static func resolveScenario(_ spec: String?) throws -> ResolvedTopology {
    let name = spec ?? BuiltinAssets.defaultScenarioName
    if let data = BuiltinAssets.scenarioData(named: name) {
      let scenario = try ScenarioLoader.loadScenario(data: data, path: ScenarioLoader.builtinPathPrefix + name)
      return ResolvedTopology(topology: scenario.topology, scenario: scenario)
    }
    guard let spec else {
      throw CLIFailure("the default built-in scenario '\(name)' is missing from the program's resources")
    }
    if spec == "-" || spec == "sysfs" || spec.hasPrefix("sysfs:") || FileManager.default.fileExists(atPath: spec) {
      // Files and sysfs go to the loaders, which detect the format from the content.
      return ResolvedTopology(
        topology: try TopologyLoader.load(spec: spec, notice: StandardError.notice), scenario: nil)
    }
    let builtinSpelling =
      spec.hasPrefix(ScenarioLoader.builtinPathPrefix)
      ? String(spec.dropFirst(ScenarioLoader.builtinPathPrefix.count)) : spec
    if builtinSpelling != spec, let data = BuiltinAssets.scenarioData(named: builtinSpelling) {
      let scenario = try ScenarioLoader.loadScenario(data: data, path: spec)
      return ResolvedTopology(topology: scenario.topology, scenario: scenario)
    }
    throw TopologyError.unknownScenario(name: spec, known: BuiltinAssets.scenarioNames)
  }
}

/// A resolved `--topology`: the machine, plus the scenario's own words when it came from one.
public struct ResolvedTopology: Sendable {
  public var topology: Topology
  public var scenario: Scenario?
}
