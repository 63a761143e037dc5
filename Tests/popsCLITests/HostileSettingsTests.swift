import Foundation
import PoPS
import Testing

/// Settings that trapped or aborted in the allocator (issue 13 case 2) are
/// clear errors naming the field, exit non-zero and write nothing.
struct HostileSettingsTests {
  static let cases: [(command: String, env: String, sets: [String], message: String)] = [
    ("run", "CartPole-v0", ["teacher.algorithm=ppo", "teacher.ppo.environments=4611686018427387904"], "environments x rolloutSteps must be at most 2^31"),
    ("train", "CartPole-v0", ["teacher.algorithm=ppo", "teacher.ppo.environments=40000", "teacher.ppo.rollout_steps=40000"], "teacher.ppo.environments x rollout_steps 1600000000 needs"),
    ("run", "CartPole-v0", ["distillation.batch_size=4611686018427387904"], "distillation.batch_size must be in 1...2^24"),
    ("train", "CartPole-v0", ["teacher.dqn.buffer_size=4611686018427387904"], "bufferSize must be in 1...2^40"),
    ("train", "CartPole-v0", ["teacher.dqn.buffer_size=1000000000000"], "teacher.dqn.buffer_size 1000000000000 needs"),
    ("run", "CartPole-v0", ["experience.capacity=1000000000000"], "experience.capacity 1000000000000 needs"),
    ("run", "CartPole-v0", ["distillation.base_learning_rate=.nan"], "'distillation.base_learning_rate' must be a finite number"),
    ("train", "CartPole-v0", ["teacher.dqn.learning_rate=.inf"], "'teacher.dqn.learning_rate' must be a finite number"),
    ("train", "CartPole-v0", ["teacher.dqn.convolutions=[[32,8,4]]"], "teacher.dqn.convolutions need image observations"),
    ("train", "Catch-v0", ["teacher.dqn.convolutions=[[16,30,1]]"], "has a 30x30 kernel but its input is"),
  ]

  @Test(arguments: 0..<cases.count)
  func aHostileSettingIsAClearErrorThatWritesNothing(_ index: Int) throws {
    let c = Self.cases[index]
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("pops-hostile-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let result = try pops([c.command, "--env", c.env, "--out", out] + c.sets.flatMap { ["--set", $0] })
    #expect(result.status != 0, "\(c.sets): exit 0\n\(result.output)")
    #expect(result.output.contains(c.message), "\(c.sets): \(result.output)")
    #expect(!result.output.contains("Fatal error") && !result.output.contains("Swift runtime failure"), "\(result.output)")
    #expect(!FileManager.default.fileExists(atPath: out), "\(c.sets): \(out) was created")
  }
}

/// The smaller rough edges of issue 13 (list 9): each a clear error.
struct RoughEdgeTests {
  @Test func badPathsFlagsAndIdsAreClearErrors() throws {
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = "\(folder)/a.safetensors"
    try FileManager.default.createDirectory(atPath: "\(folder)/dir", withIntermediateDirectories: true)
    #expect(mkfifo("\(folder)/fifo", 0o644) == 0)
    let cases: [([String], String)] = [
      (["evaluate", "\(folder)/dir", "--env", "CartPole-v0"], "dir: is a folder, not a file"),
      (["evaluate", "\(folder)/fifo", "--env", "CartPole-v0"], "fifo: is not a regular file"),
      (["run", "--out", "\(folder)/o1", "--set", "pruning..x=1"], "field name part 2 of 'pruning..x' is empty"),
      (["evaluate", model, "--env", "CartPole-v0", "--episodes", "-5"], "--episodes must be positive, got -5"),
      (["train", "--out", "\(folder)/o2", "--steps", "9223372036854775000"], "--steps must be in 1...2^40"),
      (["run", "--out", "\(folder)/o3", "--hidden", "4,4"], "--hidden sets the student of --mode distill-only"),
      (["evaluate", model, "--env", "gym:CartPole-v1?bogus=1", "--episodes", "1"], "unknown option 'bogus=1'"),
      (["evaluate", model, "--env", "gym:CartPole-v1?actions=a,b", "--episodes", "1"], "must be integers separated by commas"),
    ]
    for (arguments, message) in cases {
      let result = try pops(arguments)
      #expect(result.status != 0 && result.output.contains(message), "\(arguments): \(result.output)")
      #expect(!result.output.contains("NSCocoaErrorDomain") && !result.output.contains("Fatal error"), "\(result.output)")
    }
  }

  @Test func aRefusedResumeNamesTheFieldThatDiffers() throws {
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let base = ["compress", "--teacher", "\(folder)/a.safetensors", "--env", "CartPole-v0", "--out", "\(folder)/out", "--config", "\(folder)/tiny.yaml"]
    #expect(try pops(base).status == 0)
    let other = try pops(base + ["--set", "pruning.end_step=400"])
    #expect(other.status != 0 && other.output.contains("pruning.end_step is 300 there, 400 here"), "\(other.output)")
  }

  @Test func inspectShowsControlCharactersInsteadOfSendingThem() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var rng = SeededGenerator(seed: 1)
    let network = Network(.mlp(inputs: 4, hidden: [3], outputs: 2), using: &rng)
    let hostile = "CartPole-v0\u{1B}[2J\u{1B}]0;owned\u{07}"
    try ModelFile.save(
      Model(network: network, provenance: Provenance(environment: hostile, summary: ["note": "\u{1B}[31mred"])),
      to: URL(fileURLWithPath: "\(folder)/m.safetensors"))
    let result = try pops(["inspect", "\(folder)/m.safetensors"])
    #expect(result.status == 0, "\(result.output)")
    #expect(!result.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(result.output)")
    #expect(result.output.contains("CartPole-v0\\u{1b}[2J"), "\(result.output)")
  }
}

/// Divergence (issue 13 case 4): training stops at the first non-finite
/// loss or weight with the step named, keeps the last finite checkpoint and
/// writes no model.
struct DivergenceTests {
  @Test func aDivergingTeacherStopsNamingTheStepAndKeepsTheFiniteCheckpoint() throws {
    let out = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let result = try pops([
      "train", "--env", "CartPole-v0", "--out", out, "--steps", "5000", "--checkpoint-every", "500",
      "--set", "teacher.dqn.learning_rate=1e30",
    ])
    #expect(result.status != 0 && result.output.contains("training diverged at step "), "\(result.output)")
    #expect(result.output.contains("kept: checkpoint.safetensors"), "\(result.output)")
    for name in ["best.safetensors", "final.safetensors"] {
      #expect(!FileManager.default.fileExists(atPath: "\(out)/\(name)"), "\(name) was written")
    }
    let checkpoint = try TensorArchive.read(from: URL(fileURLWithPath: "\(out)/checkpoint.safetensors"))
    for (name, array) in checkpoint.arrays {
      if case .float(let values) = array {
        let finite = values.allSatisfy { $0.isFinite }
        #expect(finite, "\(name) holds a non-finite value")
      }
    }
  }
}
