import Foundation

/// Loads the project's own scenario files (JSON, schema in assets/topologies/README.md).
/// (Stub: implemented by the scenarios work.)
public enum ScenarioLoader {
  public static func load(data: Data, path: String) throws -> Topology {
    throw TopologyError.unrecognizedFormat(path: path, detail: "scenario files are not supported yet")
  }
}
