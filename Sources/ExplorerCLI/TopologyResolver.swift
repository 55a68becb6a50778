import PCITopology

/// Turns a `--topology SPEC` (or none: the default built-in scenario) into a topology.
/// (Stub: built-in names are resolved by the scenarios work; files and sysfs by the loaders.)
public enum TopologyResolver {
  public static func resolve(_ spec: String?) throws -> Topology {
    throw CLIFailure("topology loading is not implemented yet")
  }
}
