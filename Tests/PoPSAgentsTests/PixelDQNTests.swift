import Foundation
import PoPSAgents
import Testing

struct PixelDQNTests {
  /// A CNN DQN whose replay stores byte frames learns the Catch pixel game.
  @Test func convolutionalDQNWithFrameReplayLearnsCatch() throws {
    var config = DQNConfig()
    config.convolutions = [[8, 3, 1]]
    config.hidden = [32]
    config.frameStack = 1
    config.bufferSize = 5_000
    config.batchSize = 32
    config.learningStarts = 300
    config.epsilonDecaySteps = 2_000
    config.targetUpdateInterval = 250
    config.evaluationInterval = 1_000
    config.evaluationEpisodes = 50
    var agent = DQN(config: config, observationCount: 100, actionCount: 3, seed: 2, observationShape: [1, 10, 10])
    #expect(agent.online.architecture.summary == "1x10x10-c8k3s1-32-3")
    var env = try Environments.make("Catch-v0", seed: 2)
    var evalEnv = try Environments.make("Catch-v0", seed: 3)
    var best = -1.0
    try agent.learn(in: &env, totalSteps: 8_000, evaluationEnvironment: &evalEnv) { report in
      if let e = report.evaluation { best = max(best, e.mean) }
      return best < 0.9
    }
    #expect(best >= 0.6, "best greedy evaluation \(best) (random play scores about -0.6)")
  }
}
