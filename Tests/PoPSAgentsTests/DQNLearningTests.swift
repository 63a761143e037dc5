import Foundation
import PoPSAgents
import Testing

struct DQNLearningTests {
  /// A short seeded run on CartPole must beat a random policy (mean ~22) by far.
  @Test func shortSeededRunLearnsCartPole() throws {
    var config = DQNConfig()
    config.hidden = [64, 64]
    config.learningStarts = 500
    config.epsilonDecaySteps = 3_000
    config.evaluationInterval = 1_000
    config.evaluationEpisodes = 20
    config.batchSize = 64
    var agent = DQN(config: config, observationCount: 4, actionCount: 2, seed: 3)
    var env = try Environments.make("CartPole-v0", seed: 3)
    var evalEnv = try Environments.make("CartPole-v0", seed: 4)
    var best = 0.0
    try agent.learn(in: &env, totalSteps: 12_000, evaluationEnvironment: &evalEnv) { report in
      if let e = report.evaluation { best = max(best, e.mean) }
      return best < 195
    }
    let random = try evaluate(RandomPolicy(seed: 1), environment: "CartPole-v0", episodes: 50, seed: 9)
    #expect(random.mean < 40)
    #expect(best > 120, "best greedy evaluation \(best)")
  }

  @Test func sameSeedSameTraining() throws {
    var config = DQNConfig()
    config.hidden = [16]
    config.learningStarts = 100
    config.evaluationInterval = 0
    func train() throws -> Network {
      var agent = DQN(config: config, observationCount: 4, actionCount: 2, seed: 5)
      var env = try Environments.make("CartPole-v0", seed: 5)
      var evalEnv = try Environments.make("CartPole-v0", seed: 6)
      try agent.learn(in: &env, totalSteps: 600, evaluationEnvironment: &evalEnv)
      return agent.online
    }
    #expect(try train() == train())
  }
}

/// Uniformly random actions, the baseline a trained policy must beat.
struct RandomPolicy: Policy {
  let state: Box
  final class Box: @unchecked Sendable { var rng: SeededGenerator; init(_ r: SeededGenerator) { rng = r } }
  init(seed: UInt64) { state = Box(SeededGenerator(seed: seed)) }
  func action(for observation: [Float]) -> Int { state.rng.index(below: 2) }
}
