import Foundation
import PoPSAgents
import Testing

struct PPOTests {
  /// Central differences of the clipped surrogate in both regimes (inside and
  /// outside the clip range) and with the entropy bonus.
  @Test func clippedSurrogateGradientMatchesFiniteDifferences() {
    var rng = SeededGenerator(seed: 8)
    let logits = (0..<16).map { _ in rng.uniform(-1.5, 1.5) }
    let actions = [0, 3, 1, 2]
    // Old log-probs far from the current ones put some samples outside the clip range.
    let old: [Float] = [-1.2, -0.2, -3.0, -1.4]
    let adv: [Float] = [1.0, -0.8, 0.6, -1.5]
    func loss(_ x: [Float]) -> Double {
      Double(Loss.clippedSurrogate(
        logits: x, actions: actions, oldLogProbs: old, advantages: adv, actionCount: 4,
        clipRange: 0.2, entropyCoefficient: 0.05).value)
    }
    let analytic = Loss.clippedSurrogate(
      logits: logits, actions: actions, oldLogProbs: old, advantages: adv, actionCount: 4,
      clipRange: 0.2, entropyCoefficient: 0.05).gradient
    for i in logits.indices {
      var plus = logits, minus = logits
      plus[i] += 1e-3
      minus[i] -= 1e-3
      let numeric = (loss(plus) - loss(minus)) / 2e-3
      #expect(abs(Double(analytic[i]) - numeric) < 2e-3, "logit \(i): \(analytic[i]) vs \(numeric)")
    }
  }

  /// CleanRL's anneal_lr: the step size of each rollout is
  /// `lr * (1 - steps before it / budget)`, continuing across a resume; off,
  /// it stays `lr`.
  @Test func annealedLearningRateFallsLinearlyOverTheBudget() throws {
    var config = PPOConfig()
    config.environments = 2
    config.rolloutSteps = 16
    config.batchSize = 16
    config.evaluationInterval = 0
    config.learningRate = 1e-3
    func rates(_ config: PPOConfig, resumeAfter: Int?) throws -> [Float] {
      var agent = PPO(config: config, observationCount: 4, actionCount: 2, seed: 1)
      var evalEnv = try Environments.make("CartPole-v1", seed: 9)
      var rates: [Float] = []
      let budget = 320
      if let resumeAfter {
        // Stopped (as by a kill) after `resumeAfter` steps, resumed with the rest of the budget.
        try agent.learn(makeEnvironment: { try Environments.make("CartPole-v1", seed: UInt64($0)) },
                        totalSteps: budget, evaluationEnvironment: &evalEnv) {
          rates.append($0.learningRate ?? -1)
          return $0.step < resumeAfter
        }
        agent = try PPO(resumingFrom: agent.checkpoint(), config: config, observationCount: 4, actionCount: 2)
      }
      try agent.learn(makeEnvironment: { try Environments.make("CartPole-v1", seed: UInt64($0)) },
                      totalSteps: budget - agent.steps, evaluationEnvironment: &evalEnv) {
        rates.append($0.learningRate ?? -1)
        return true
      }
      return rates
    }
    // 10 rollouts of 32 steps: rollout k starts after 32k steps.
    let expected = (0..<10).map { Float(1 - Double(32 * $0) / 320) * 1e-3 }
    config.annealLearningRate = true
    let annealed = try rates(config, resumeAfter: nil)
    #expect(annealed.count == 10)
    for (a, b) in zip(annealed, expected) { #expect(abs(a - b) < 1e-9, "\(annealed) vs \(expected)") }
    #expect(try rates(config, resumeAfter: 128) == annealed, "a resumed run continues the schedule")
    config.annealLearningRate = false
    #expect(try rates(config, resumeAfter: nil) == [Float](repeating: 1e-3, count: 10))
  }

  @Test func shortRunImprovesOnLunarLander() throws {
    var config = PPOConfig()
    config.environments = 8
    config.rolloutSteps = 256
    config.evaluationInterval = 0
    var agent = PPO(config: config, observationCount: 8, actionCount: 4, seed: 1)
    var evalEnv = try Environments.make("LunarLander-v3", seed: 9)
    let before = try evaluate(agent.actor, in: &evalEnv, episodes: 10, seed: 5).mean
    var lastMean = -1000.0
    try agent.learn(makeEnvironment: { try Environments.make("LunarLander-v3", seed: UInt64($0)) },
                    totalSteps: 60_000, evaluationEnvironment: &evalEnv) { progress in
      lastMean = progress.meanReturn
      return true
    }
    let after = try evaluate(agent.actor, in: &evalEnv, episodes: 10, seed: 5).mean
    #expect(after > before + 50, "greedy return \(before) -> \(after), training mean \(lastMean)")
  }
}
