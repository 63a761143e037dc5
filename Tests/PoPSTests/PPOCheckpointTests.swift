import Foundation
import PoPS
import Testing

struct PPOCheckpointTests {
  func config() -> PPOConfig {
    var config = PPOConfig()
    config.actorHidden = [16]
    config.criticHidden = [16]
    config.environments = 2
    config.rolloutSteps = 64
    config.batchSize = 32
    config.evaluationInterval = 0
    return config
  }

  /// A PPO agent rebuilt from its checkpoint writes the same checkpoint
  /// back, and both then train identically.
  @Test func aRestoredAgentEqualsTheSavedOne() throws {
    var agent = PPO(config: config(), observationCount: 4, actionCount: 2, seed: 3)
    var evalEnv = try Environments.make("CartPole-v0", seed: 2)
    func environments(_ base: UInt64) -> (Int) throws -> any Environment {
      { try Environments.make("CartPole-v0", seed: base + UInt64($0)) }
    }
    try agent.learn(makeEnvironment: environments(10), totalSteps: 512, evaluationEnvironment: &evalEnv)
    #expect(agent.steps == 512 && agent.updates > 0 && agent.episodes > 0)
    let url = temporaryRunFolder().appendingPathComponent("checkpoint.safetensors")
    defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
    try agent.checkpoint().write(to: url)
    var restored = try PPO(
      resumingFrom: try TensorArchive.read(from: url), config: config(), observationCount: 4, actionCount: 2)
    #expect(restored.checkpoint().arrays == agent.checkpoint().arrays)
    #expect(restored.steps == 512 && restored.updates == agent.updates && restored.episodes == agent.episodes)
    #expect(restored.recentReturns == agent.recentReturns.map { Double(Float($0)) })
    try agent.learn(makeEnvironment: environments(20), totalSteps: 256, evaluationEnvironment: &evalEnv)
    try restored.learn(makeEnvironment: environments(20), totalSteps: 256, evaluationEnvironment: &evalEnv)
    #expect(restored.actor == agent.actor && restored.critic == agent.critic, "the same updates after the restore")
    var other = config()
    other.clipRange = 0.3
    let error = #expect(throws: ModelFileError.self) {
      try PPO(resumingFrom: try TensorArchive.read(from: url), config: other, observationCount: 4, actionCount: 2)
    }
    #expect("\(error.map { "\($0)" } ?? "")".contains("clip_range"))
  }

  /// `pops train` with a PPO teacher checkpoints and resumes like DQN.
  @Test func aStoppedPPOTrainingRunResumesWhereItsCheckpointIs() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    func options(steps: Int) throws -> TeacherTrainingOptions {
      var options = try TeacherTrainingOptions(environment: "CartPole-v0", output: folder, seed: 4, steps: steps)
      options.teacher.algorithm = .ppo
      options.teacher.ppo = config()
      options.stopAtThreshold = false
      options.checkpointInterval = 256
      return options
    }
    // Checkpoints after the rollouts that cross 256 and 512 steps; "killed" at 640.
    _ = try trainTeacher(options(steps: 640))
    let saved = try TensorArchive.read(from: folder.appendingPathComponent("checkpoint.safetensors"))
    #expect(try saved.int64s("counters")[0] == 512)
    #expect(saved.metadata["format"] == "pops-ppo-checkpoint" && saved.metadata["seed"] == "4")
    var resumed = try options(steps: 1_024)
    resumed.resume = true
    let result = try trainTeacher(resumed)
    #expect(result.steps == 1_024)
    let rows = try String(contentsOf: folder.appendingPathComponent("metrics.csv"), encoding: .utf8)
      .split(separator: "\n").dropFirst().map { Int($0.prefix { $0 != "," })! }
    #expect(rows == stride(from: 128, through: 1_024, by: 128).map { $0 }, "rows after 512 were redone once: \(rows)")
  }

  /// PPO with convolutions (the recipe Pong's PPO teacher uses, at Catch's
  /// size): it learns the pixel game, and a run killed after a checkpoint
  /// resumes from it with its convolutional networks.
  @Test func aConvolutionalPPOLearnsCatchAndResumesFromItsCheckpoint() throws {
    var config = PPOConfig()
    config.convolutions = [[16, 3, 1]]
    config.actorHidden = [32]
    config.criticHidden = [32]
    config.environments = 4
    config.rolloutSteps = 128
    config.gamma = 0.99
    config.learningRate = 1e-3
    config.evaluationInterval = 5_000
    config.evaluationEpisodes = 20
    func options(_ folder: URL, steps: Int, stop: Bool) throws -> TeacherTrainingOptions {
      var options = try TeacherTrainingOptions(environment: "Catch-v0", output: folder, seed: 0, steps: steps)
      options.teacher.algorithm = .ppo
      options.teacher.ppo = config
      options.stopAtThreshold = stop
      options.checkpointInterval = 2_048
      return options
    }
    let solved = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: solved) }
    let learned = try trainTeacher(options(solved, steps: 100_000, stop: true))
    #expect(learned.solved, "best greedy evaluation: \(learned.bestEvaluation?.summary ?? "none")")
    let best = try ModelFile.load(from: URL(fileURLWithPath: learned.bestModel))
    #expect(best.network.architecture.summary == "1x10x10-c16k3s1-32-3")

    // Killed after the checkpoint at 2048 steps, resumed to 4096 (the
    // environments start new episodes, as for every resumed teacher).
    let resumed = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: resumed) }
    _ = try trainTeacher(options(resumed, steps: 3_000, stop: false))
    let saved = try TensorArchive.read(from: resumed.appendingPathComponent("checkpoint.safetensors"))
    #expect(try saved.int64s("counters")[0] == 2_048)
    var rest = try options(resumed, steps: 4_096, stop: false)
    rest.resume = true
    let result = try trainTeacher(rest)
    #expect(result.steps == 4_096)
    let final = try ModelFile.load(from: resumed.appendingPathComponent("final.safetensors"))
    #expect(final.network.architecture.summary == "1x10x10-c16k3s1-32-3")
  }
}
