import Foundation
import PoPSAgents
import Testing

struct ReplayBufferTests {
  @Test func ringOverwritesTheOldest() {
    var buffer = ReplayBuffer(capacity: 3, observationCount: 2)
    for i in 0..<5 {
      let x = Float(i)
      buffer.add(observation: [x, x], action: i % 2, reward: x, nextObservation: [x + 1, x + 1], terminated: i == 4)
    }
    #expect(buffer.count == 3)
    #expect(buffer.position == 2)
    var rng = SeededGenerator(seed: 1)
    var batch = TransitionBatch(size: 200, observationCount: 2)
    buffer.sample(into: &batch, using: &rng)
    let rewards = Set(batch.rewards)
    #expect(rewards == [2, 3, 4], "only the three newest transitions remain: \(rewards)")
    for b in 0..<batch.size {
      let r = batch.rewards[b]
      #expect(batch.observations[2 * b] == r && batch.nextObservations[2 * b + 1] == r + 1)
      #expect(batch.actions[b] == Int(r) % 2)
      #expect(batch.terminated[b] == (r == 4 ? 1 : 0))
    }
  }

  @Test func linearScheduleClampsAtTheEnd() {
    let s = LinearSchedule(start: 1, end: 0.05, duration: 100)
    #expect(s.value(at: 0) == 1)
    #expect(abs(s.value(at: 50) - 0.525) < 1e-12)
    #expect(s.value(at: 100) == 0.05)
    #expect(s.value(at: 10_000) == 0.05)
  }

  @Test func configValidationNamesTheField() {
    var config = DQNConfig()
    #expect(config.validationError() == nil)
    config.batchSize = 0
    #expect(config.validationError()?.contains("batchSize") == true)
    config = DQNConfig()
    config.gamma = 1.5
    #expect(config.validationError()?.contains("gamma") == true)
  }
}

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

struct FrameReplayTests {
  /// Episodes whose frames encode (episode, step); observations stacked the
  /// way Gymnasium's FrameStackObservation does (the first frame repeated).
  @Test func reconstructsStacksAcrossEpisodesAndWrapAround() {
    let stack = 4, frameSize = 3
    var buffer = FrameReplayBuffer(capacity: 37, stack: stack, frameSize: frameSize)
    func frame(_ episode: Int, _ t: Int) -> [Float] { [Float(episode * 20 + t), Float(t), Float(episode)] }
    func observation(_ episode: Int, _ t: Int) -> [Float] {
      (0..<stack).flatMap { k in frame(episode, max(0, t - (stack - 1) + k)) }
    }
    var truth: [String: ([Float], [Float], Int, Float)] = [:]
    var rng = SeededGenerator(seed: 3)
    for episode in 0..<9 {
      let length = 2 + rng.index(below: 7)
      for t in 0..<length {
        let last = t == length - 1
        let action = (episode + t) % 3
        buffer.add(
          observation: observation(episode, t), action: action, reward: Float(t), nextObservation: observation(episode, t + 1),
          terminated: last && episode % 2 == 0, episodeEnded: last)
        truth["\(episode)-\(t)"] = (observation(episode, t), observation(episode, t + 1), action, last && episode % 2 == 0 ? 1 : 0)
      }
    }
    var batch = TransitionBatch(size: 300, observationCount: stack * frameSize)
    buffer.sample(into: &batch, using: &rng)
    var seenEpisodes = Set<Int>()
    for b in 0..<batch.size {
      let obs = Array(batch.observations[(b * 12)..<((b + 1) * 12)])
      let episode = Int(obs[11]), t = Int(obs[10])
      seenEpisodes.insert(episode)
      guard let expected = truth["\(episode)-\(t)"] else {
        Issue.record("sampled an unknown transition \(obs)")
        continue
      }
      #expect(obs == expected.0, "observation of episode \(episode) step \(t)")
      #expect(Array(batch.nextObservations[(b * 12)..<((b + 1) * 12)]) == expected.1, "next observation")
      #expect(batch.actions[b] == expected.2 && batch.rewards[b] == Float(t) && batch.terminated[b] == expected.3)
    }
    #expect(!seenEpisodes.contains(0), "the oldest episodes were overwritten by the ring")
    #expect(seenEpisodes.contains(8))
  }

  @Test func storesEachFrameOnceAsBytes() {
    var buffer = FrameReplayBuffer(capacity: 10, stack: 4, frameSize: 2)
    let obs: [Float] = [0, 0, 0, 0, 0, 0, 255, 300]
    buffer.add(observation: obs, action: 1, reward: 1, nextObservation: obs.map { min($0 + 1, 255) }, terminated: false, episodeEnded: false)
    buffer.add(observation: obs.map { min($0 + 1, 255) }, action: 0, reward: 0, nextObservation: obs, terminated: true, episodeEnded: true)
    #expect(buffer.transitions == 2)
    var rng = SeededGenerator(seed: 1)
    var batch = TransitionBatch(size: 8, observationCount: 8)
    buffer.sample(into: &batch, using: &rng)
    #expect(batch.observations.allSatisfy { (0...255).contains($0) }, "values are clamped bytes")
  }
}

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
