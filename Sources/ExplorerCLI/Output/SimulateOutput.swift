import DMABufSim

/// The `simulate --format json` document: the `"kernel"` object first, then the report's
/// members in the same object.
struct SimulateOutput: Encodable {
  var kernel: KernelJSON
  var report: SimulationJSON

  enum CodingKeys: String, CodingKey { case kernel }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(kernel, forKey: .kernel)
    try report.encode(to: encoder)
  }
}
