import Foundation
import PoPS
import Testing

/// A seeded fuzzer for the torch.save and Stable-Baselines3 readers, run
/// like `FuzzTests` and with its mutations, iteration count and seed
/// (`make fuzz` runs it longer: POPS_FUZZ_ITERATIONS, POPS_FUZZ_SEED). Every
/// entry is CRC-checked, so a mutated archive mostly fails its CRC: most
/// iterations therefore mutate one member (the pickle, above all) and zip the
/// members again with fresh CRCs, so the unpickler, the storages and the
/// layouts see the mutations. Any outcome but a load or a ModelFileError (a
/// trap, a crash, a hang) fails the suite.
struct TorchFuzzTests {
  typealias Members = [(name: String, bytes: [UInt8])]

  /// Valid torch.save archives as members: torch's own (a CleanRL fixture),
  /// the forged policy, and a forged one whose tensors share a storage
  /// (tied weights, an offset, a transposed view).
  static func seeds() throws -> [Members] {
    let cleanrl = try TorchForge.members(of: [UInt8](Data(contentsOf: ImportFixtures.url("cleanrl_dqn.cleanrl_model"))))
    let shared = [
      TorchForge.View("0.weight", key: "0", count: 12, shape: [2, 4], stride: [1, 2]),
      TorchForge.View("0.bias", key: "0", count: 12, offset: 8, shape: [2], stride: [1]),
      TorchForge.View("1.weight", key: "0", count: 12, offset: 8, shape: [2, 2], stride: [2, 1]),
      TorchForge.View("1.bias", key: "1", shape: [2]),
    ]
    let tied = TorchForge.torchMembers(
      pickle: TorchForge.statePickle(shared), storages: ["0": (0..<12).map { Float($0) / 12 }, "1": [1, -1]])
    return [cleanrl, try TorchForge.members(of: TorchHostileTests.policy), tied]
  }

  /// Loads `bytes` written to `file`: true when it loaded (and the network
  /// ran), false when refused with a ModelFileError; anything else is an issue.
  static func outcome(_ bytes: [UInt8], file: URL, iteration: Int) throws -> Bool {
    try Data(bytes).write(to: file)
    do {
      let model = try TeacherImport.load(file).model
      _ = model.network.predict([Float](repeating: 0.5, count: model.network.architecture.inputCount))
      return true
    } catch is ModelFileError {
      return false
    } catch {
      Issue.record("iteration \(iteration): an error that is not a ModelFileError: \(error)")
      return false
    }
  }

  /// One member of `members` (the pickle three times in four) mutated, and
  /// the archive zipped again.
  static func mutatedMember(_ members: Members, using rng: inout SeededGenerator) -> [UInt8] {
    var members = members
    let pickle = members.firstIndex { $0.name.hasSuffix("data.pkl") } ?? 0
    let which = rng.index(below: 4) == 0 ? rng.index(below: members.count) : pickle
    members[which].bytes = FuzzTests.mutate(members[which].bytes, using: &rng)
    return TorchForge.zip(members)
  }

  @Test func theTorchReaderOnlyReturnsOrThrows() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let file = folder.url.appendingPathComponent("fuzz.pt")
    var rng = SeededGenerator(seed: FuzzTests.seed &+ 26)
    let seeds = try Self.seeds()
    var refused = 0
    for i in 0..<FuzzTests.iterations {
      let bytes = Self.mutatedMember(seeds[i % seeds.count], using: &rng)
      if try !Self.outcome(bytes, file: file, iteration: i) { refused += 1 }
    }
    #expect(refused > FuzzTests.iterations / 4, "the mutations hardly change anything: \(refused) refused")
  }

  /// Whole archives mutated: the zip reader's own checks (directory,
  /// headers, offsets, sizes, names) see the mutations.
  @Test func theZipReaderOnlyReturnsOrThrows() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let file = folder.url.appendingPathComponent("fuzz.zip")
    var rng = SeededGenerator(seed: FuzzTests.seed &+ 27)
    let sb3 = [UInt8](try Data(contentsOf: ImportFixtures.url("sb3_dqn_mlp.zip")))
    let archives = try Self.seeds().map { TorchForge.zip($0) } + [sb3]
    var refused = 0
    let iterations = max(1, FuzzTests.iterations / 4)
    for i in 0..<iterations {
      // Mostly the zip's structure (its last bytes: the central directory); sometimes anywhere.
      let archive = archives[i % archives.count]
      let tail = rng.index(below: 2) == 0 ? 0 : max(0, archive.count - 200)
      let bytes = Array(archive[..<tail]) + FuzzTests.mutate(Array(archive[tail...]), using: &rng)
      if try !Self.outcome(bytes, file: file, iteration: i) { refused += 1 }
    }
    #expect(refused > iterations / 2, "the mutations hardly change anything: \(refused) refused")
  }

  /// Stable-Baselines3 zips: the JSON `data` member, or the pickle inside
  /// `policy.pth`, mutated and both archives zipped again.
  @Test func theStableBaselines3ReaderOnlyReturnsOrThrows() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let file = folder.url.appendingPathComponent("fuzz.zip")
    var rng = SeededGenerator(seed: FuzzTests.seed &+ 28)
    let members = try TorchForge.members(of: [UInt8](Data(contentsOf: ImportFixtures.url("sb3_dqn_mlp.zip"))))
    let data = try #require(members.firstIndex { $0.name == "data" })
    let policy = try #require(members.firstIndex { $0.name == "policy.pth" })
    let inner = try TorchForge.members(of: members[policy].bytes)
    var refused = 0
    let iterations = max(1, FuzzTests.iterations / 4)
    for i in 0..<iterations {
      var mutated = members
      if rng.index(below: 2) == 0 {
        mutated[data].bytes = FuzzTests.mutate(members[data].bytes, using: &rng)
      } else {
        mutated[policy].bytes = Self.mutatedMember(inner, using: &rng)
      }
      if try !Self.outcome(TorchForge.zip(mutated), file: file, iteration: i) { refused += 1 }
    }
    #expect(refused > 0, "the mutations never broke a file")
  }
}
