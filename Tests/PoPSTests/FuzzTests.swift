import Foundation
import PoPS
import Testing

/// A seeded fuzzer for the two loaders that take files from users: the
/// model loader (safetensors) and the configuration loader (YAML). Each
/// iteration mutates a valid input (bit flips, bytes set to edge values,
/// cuts, insertions, and numbers in the text swapped for extremes such as
/// 2^62, -1, 0 and 1e308) and loads it: any outcome but a return or a thrown
/// error (a trap, a crash, a hang) fails the suite, since it kills the
/// process. `make fuzz` runs it longer (POPS_FUZZ_ITERATIONS, POPS_FUZZ_SEED).
struct FuzzTests {
  static let iterations: Int = {
    if let text = ProcessInfo.processInfo.environment["POPS_FUZZ_ITERATIONS"], let n = Int(text), n > 0 { return n }
    return 4000
  }()
  static let seed: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["POPS_FUZZ_SEED"], let n = UInt64(text) { return n }
    return 2026
  }()

  static let extremes = [
    "4611686018427387904", "-9223372036854775808", "9223372036854775807", "-1", "0", "1e308", "-1e308", "2147483648",
    "4294967296", "65536", "1.5", "null", "[]", "{}", "\"\"", ".nan", ".inf", "999999999999999999999",
  ]

  /// One random mutation of `bytes`.
  static func mutate(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
    var out = bytes
    let rounds = 1 + rng.index(below: 4)
    for _ in 0..<rounds where !out.isEmpty {
      let at = rng.index(below: out.count)
      switch rng.index(below: 7) {
      case 0: out[at] ^= UInt8(1 << rng.index(below: 8))
      case 1: out[at] = [0, 0xFF, 0x7F, 0x80, 0x22, 0x5B, 0x7D, 0x2C][rng.index(below: 8)]
      case 2: out.removeSubrange(at..<min(out.count, at + 1 + rng.index(below: 16)))
      case 3: out.insert(contentsOf: (0..<(1 + rng.index(below: 8))).map { _ in UInt8(truncatingIfNeeded: rng.index(below: 256)) }, at: at)
      case 4: out = Array(out.prefix(at))
      case 5:
        // A number in the text (header JSON or YAML) becomes an extreme.
        if let start = out[at...].firstIndex(where: { (0x30...0x39).contains($0) }) {
          var end = start
          while end < out.count, (0x30...0x39).contains(out[end]) || out[end] == 0x2E { end += 1 }
          out.replaceSubrange(start..<end, with: Array(extremes[rng.index(below: extremes.count)].utf8))
        }
      default:
        // A copy of another stretch of the input (duplicated keys and entries).
        let from = rng.index(below: out.count)
        let chunk = Array(out[from..<min(out.count, from + 1 + rng.index(below: 64))])
        out.insert(contentsOf: chunk, at: at)
      }
    }
    return out
  }

  static func validModels() throws -> [Data] {
    var rng = SeededGenerator(seed: 1)
    let mlp = Network(.mlp(inputs: 4, hidden: [6, 5], outputs: 2), using: &rng)
    let cnn = Network(
      .convNet(inputShape: [2, 8, 8], convolutions: [[3, 3, 2]], hidden: [4], outputs: 3), using: &rng)
    return try [mlp, cnn].map { try ModelFile.encode(Model(network: $0, provenance: Provenance(environment: "CartPole-v0"))) }
  }

  @Test func theModelLoaderOnlyReturnsOrThrows() throws {
    var rng = SeededGenerator(seed: Self.seed)
    let inputs = try Self.validModels().map { [UInt8]($0) }
    var loaded = 0, refused = 0
    for i in 0..<Self.iterations {
      let bytes = Self.mutate(inputs[i % inputs.count], using: &rng)
      do {
        let model = try ModelFile.decode(Data(bytes), path: "fuzz.safetensors")
        // What loads must also run.
        _ = model.network.predict([Float](repeating: 0.5, count: model.network.architecture.inputCount))
        loaded += 1
      } catch is ModelFileError {
        refused += 1
      } catch {
        Issue.record("iteration \(i): an error that is not a ModelFileError: \(error)")
      }
    }
    #expect(loaded + refused == Self.iterations)
    #expect(refused > Self.iterations / 2, "the mutations hardly change anything: \(refused) refused")
  }

  @Test func theConfigLoaderOnlyReturnsOrThrows() throws {
    var rng = SeededGenerator(seed: Self.seed &+ 1)
    let valid = try PoPSConfig.resolved(for: "CartPole-v0", file: nil, assignments: []).yaml
    let base = try PoPSConfig.preset(for: "CartPole-v0")
    let inputs = [Array(valid.utf8)]
    var accepted = 0, refused = 0
    for i in 0..<max(1, Self.iterations / 4) {
      let text = String(decoding: Self.mutate(inputs[0], using: &rng), as: UTF8.self)
      do {
        let config = try base.overridden(byYAML: text, source: "fuzz.yaml")
        _ = Resources.distillationProblem(config, observations: 4, actions: 2)
        accepted += 1
      } catch is ConfigError {
        refused += 1
      } catch {
        // YAML syntax errors come from the YAML parser; they must still be errors, not traps.
        refused += 1
      }
      _ = i
    }
    #expect(accepted > 0 && refused > 0, "accepted \(accepted), refused \(refused)")
  }
}
