import Assets
import Foundation
import Testing

@testable import PCITopology

extension ScenarioTests {
  /// Mutated scenario files must load or fail with a `TopologyError`; never trap, never hang.
  /// A few thousand seeded mutations run in CI. For a longer local run set
  /// `SCENARIO_FUZZ_ROUNDS=100000` (and `SCENARIO_FUZZ_SEED` for other mutations).
  @Suite("Scenario fuzzing")
  struct ScenarioFuzzTests {
    static let rounds = ProcessInfo.processInfo.environment["SCENARIO_FUZZ_ROUNDS"].flatMap(Int.init) ?? 3000
    static let seed = ProcessInfo.processInfo.environment["SCENARIO_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5CE7_A410

    /// Small edits a mailer, an editor or a tired person makes: flipped bytes, deleted and
    /// duplicated spans, truncation, and swapped-in tokens that are valid JSON but wrong values.
    static func mutate(_ original: [UInt8], random: inout SplitMix64) -> [UInt8] {
      var bytes = original
      let tokens: [String] = [
        "0", "-1", "256", "18446744073709551616", "1e400", "\"\"", "null", "true", "[]", "{}", "\"0x\"",
        "\"99999999999T\"", "\"ffff:ff:1f.7\"", "\"absent\"", "\"-0x8000000000000000\"", "[[[[", "\"\\ud800\"",
      ]
      for _ in 0..<random.int(in: 1...4) where !bytes.isEmpty {
        let position = random.int(in: 0...(bytes.count - 1))
        switch random.int(in: 0...5) {
        case 0: bytes[position] ^= UInt8(truncatingIfNeeded: 1 << random.int(in: 0...7))
        case 1: bytes.removeSubrange(position..<min(bytes.count, position + random.int(in: 1...40)))
        case 2:
          let end = min(bytes.count, position + random.int(in: 1...200))
          bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 3: bytes.removeSubrange(position..<bytes.count)
        case 4:
          let token = tokens[random.int(in: 0...(tokens.count - 1))]
          // Replace the value after the next colon, when there is one.
          if let colon = bytes[position...].firstIndex(of: UInt8(ascii: ":")) {
            let valueEnd =
              bytes[(colon + 1)...].firstIndex { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") } ?? bytes.count
            bytes.replaceSubrange((colon + 1)..<valueEnd, with: Array(" \(token)".utf8))
          }
        default: bytes[position] = UInt8(truncatingIfNeeded: random.next())
        }
      }
      return bytes
    }

    @Test func mutatedBuiltinsLoadOrFailWithANamedError() throws {
      var random = SplitMix64(seed: Self.seed)
      let originals = try BuiltinAssets.scenarioNames.map { try #require(BuiltinAssets.scenarioData(named: $0)) }
      var loaded = 0
      var rejected = 0
      for round in 0..<Self.rounds {
        let original = [UInt8](originals[round % originals.count])
        let mutated = Self.mutate(original, random: &random)
        do {
          _ = try ScenarioLoader.load(data: Data(mutated), path: "fuzz-\(round).json")
          loaded += 1
        } catch let error as TopologyError {
          rejected += 1
          // Every message names the file and is a single line.
          #expect(error.description.hasPrefix("fuzz-\(round).json"), "\(error)")
          #expect(!error.description.contains("\n"), "\(error)")
        } catch {
          Issue.record("round \(round): unexpected error type \(error)")
        }
      }
      #expect(loaded + rejected == Self.rounds)
      #expect(rejected > Self.rounds / 2, "the mutations should break most files")
    }
  }
}
