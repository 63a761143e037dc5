import Foundation

/// The built-in presets: one recipe per environment, each explained where it
/// departs from the reference (docs/algorithm.md section 10).
extension PoPSConfig {
  /// The built-in preset for an environment id: the recipe of its family
  /// for a built-in environment, the Atari recipe for `gym:ALE/...`, and the
  /// generic one for any other Gymnasium environment.
  public static func preset(for environment: String) throws -> PoPSConfig {
    let id = try EnvironmentID(parsing: environment)
    let spec = try Environments.spec(for: environment)
    switch spec.family {
    case .cartPole:
      return .cartPole(spec)
    case .lunarLander:
      return .lunarLander(spec)
    case .catchGame:
      return .catchGame(spec)
    case nil:
      return id.isAtari ? .atari(spec) : .generic(spec)
    }
  }

  /// CartPole: the reference's objective 190 / lower bound 80 (scaled with
  /// the time limit for v1), pruning every 10 minibatches to 99% sparsity.
  /// The schedule is 10x shorter than the reference's 5e5 minibatches: the
  /// same sparsities, reached in minutes on two cores.
  static func cartPole(_ spec: EnvironmentSpec) -> PoPSConfig {
    let scale = Double(spec.maxEpisodeSteps) / 200
    return PoPSConfig(
      environment: spec.id,
      objective: 190 * scale,
      lowerBound: 80 * scale,
      acceptanceScore: spec.rewardThreshold,
      acceptanceEpisodes: 100,
      acceptanceConfidence: 1,
      teacher: TeacherConfig(algorithm: .dqn, steps: 100_000, dqn: DQNConfig(), ppo: PPOConfig()),
      experience: ExperienceConfig(refillSteps: 10_000, capacity: 50_000, exploration: 0.05),
      distillation: DistillationConfig(
        batchSize: 64, temperature: 0.1, epsilon: 1e-5, rho: 0.9,
        baseLearningRate: 1e-4, sizeExponent: 0.5, maxLearningRate: 3e-3,
        minibatchesPerEpoch: 2_000, maxEpochs: 30, evaluationInterval: 500, evaluationEpisodes: 25,
        decayEpochs: [10, 20], decayFactors: [0.5, 0.2], restartEpochs: 10),
      pruning: PruningConfig(
        initialSparsity: 0, finalSparsity: 0.99, beginStep: 0, endStep: 40_000, frequency: 10,
        minibatchesPerIteration: 4_000, evaluationInterval: 1_000, evaluationEpisodes: 25,
        maxIterations: 30, badEvaluationsPerIteration: 5, patience: 3),
      shrinking: ShrinkingConfig(minimumWidth: 2, convergenceThreshold: 0.05, maxSteps: 8, convergenceFraction: 0.2))
  }

  /// LunarLander: the reference's objective 200 / lower bound 100, a PPO
  /// actor-critic teacher (actor 8-64-64-64-4, its logits distilled).
  static func lunarLander(_ spec: EnvironmentSpec) -> PoPSConfig {
    var ppo = PPOConfig()
    ppo.evaluationEpisodes = 100
    return PoPSConfig(
      environment: spec.id,
      objective: 200,
      lowerBound: 100,
      acceptanceScore: spec.rewardThreshold,
      acceptanceEpisodes: 200,
      acceptanceConfidence: 1,
      teacher: TeacherConfig(algorithm: .ppo, steps: 3_000_000, dqn: DQNConfig(), ppo: ppo),
      experience: ExperienceConfig(refillSteps: 10_000, capacity: 100_000, exploration: 0.05),
      distillation: DistillationConfig(
        batchSize: 64, temperature: 0.01, epsilon: 1e-5, rho: 0.9,
        baseLearningRate: 1e-4, sizeExponent: 0.5, maxLearningRate: 3e-3,
        minibatchesPerEpoch: 2_000, maxEpochs: 40, evaluationInterval: 1_000, evaluationEpisodes: 25,
        decayEpochs: [15, 30], decayFactors: [0.5, 0.2]),
      pruning: PruningConfig(
        initialSparsity: 0, finalSparsity: 0.99, beginStep: 0, endStep: 40_000, frequency: 10,
        minibatchesPerIteration: 4_000, evaluationInterval: 1_000, evaluationEpisodes: 25,
        maxIterations: 30, badEvaluationsPerIteration: 5, patience: 3),
      shrinking: ShrinkingConfig(minimumWidth: 4, convergenceThreshold: 0.05, maxSteps: 6))
  }

  /// Catch: a small CNN teacher (conv 16@3x3, 64 units) on 10x10 pixels;
  /// the whole pipeline runs in well under a minute, which makes it the
  /// smoke test for PoPS on convolutional networks.
  static func catchGame(_ spec: EnvironmentSpec) -> PoPSConfig {
    var config = cartPole(EnvironmentSpec(id: spec.id, maxEpisodeSteps: 200, rewardThreshold: spec.rewardThreshold))
    config.objective = 0.9
    config.lowerBound = 0.2
    config.acceptanceScore = 0.9
    config.teacher.steps = 30_000
    config.teacher.dqn.convolutions = [[16, 3, 1]]
    config.teacher.dqn.hidden = [64]
    config.teacher.dqn.batchSize = 32
    config.teacher.dqn.learningStarts = 500
    config.teacher.dqn.epsilonDecaySteps = 3_000
    config.teacher.dqn.evaluationInterval = 1_000
    config.teacher.dqn.evaluationEpisodes = 100
    config.teacher.dqn.targetUpdateInterval = 250
    config.pruning.endStep = 10_000
    config.pruning.minibatchesPerIteration = 1_000
    config.pruning.evaluationInterval = 500
    config.pruning.evaluationEpisodes = 50
    config.distillation.minibatchesPerEpoch = 1_000
    config.distillation.evaluationInterval = 500
    config.distillation.evaluationEpisodes = 50
    config.distillation.maxEpochs = 10
    config.experience.refillSteps = 2_000
    config.experience.capacity = 20_000
    config.shrinking.minimumWidth = 2
    config.shrinking.maxSteps = 4
    return config
  }

  /// Atari through the bridge (`gym:ALE/Pong-v5?actions=1,2,3` is the
  /// reference's 3-action Pong): the Nature-CNN DQN on 4 stacked 84x84 frames
  /// scaled to [0, 1], one update of batch 32 every 4 steps, the reference's
  /// objective 18 / lower bound 0 and pruning every 50 minibatches. The
  /// replay holds 100k transitions as bytes (0.7 GB; set
  /// `teacher.dqn.buffer_size: 1000000` for the full 7 GB); checkpoints let
  /// the hours-long teacher run resume. Students distil at the reference's
  /// temperature 0.01 from a 50k-state buffer (5.6 GB of float frames) with
  /// one draw (no restarts: a Pong student needs more than 10 epochs), see
  /// docs/algorithm.md section 10.
  static func atari(_ spec: EnvironmentSpec) -> PoPSConfig {
    var config = cartPole(EnvironmentSpec(id: spec.id, maxEpisodeSteps: 200, rewardThreshold: 18))
    config.objective = 18
    config.lowerBound = 0
    config.acceptanceScore = 18
    config.acceptanceEpisodes = 10
    var dqn = DQNConfig()
    dqn.convolutions = Architecture.natureConvolutions
    dqn.hidden = [512]
    dqn.frameStack = 4
    dqn.batchSize = 32
    dqn.learningRate = 1e-4
    dqn.bufferSize = 100_000
    dqn.learningStarts = 10_000
    dqn.trainFrequency = 4
    dqn.targetUpdateInterval = 1_000
    dqn.epsilonEnd = 0.01
    dqn.epsilonDecaySteps = 250_000
    dqn.doubleQLearning = false
    dqn.evaluationInterval = 50_000
    dqn.evaluationEpisodes = 5
    config.teacher = TeacherConfig(algorithm: .dqn, steps: 10_000_000, dqn: dqn, ppo: PPOConfig())
    config.experience = ExperienceConfig(refillSteps: 10_000, capacity: 50_000, exploration: 0.05)
    config.distillation.batchSize = 32
    config.distillation.temperature = 0.01
    config.distillation.restartEpochs = 0
    config.distillation.evaluationEpisodes = 5
    config.distillation.evaluationInterval = 2_000
    config.pruning.frequency = 50
    config.pruning.endStep = 75_000
    config.pruning.evaluationInterval = 2_500
    config.pruning.evaluationEpisodes = 5
    config.pruning.minibatchesPerIteration = 5_000
    config.shrinking.minimumWidth = 4
    return config
  }

  /// Any other environment (`gym:ID`): the CartPole recipe with the
  /// objective and acceptance score at the environment's reward threshold and
  /// the lower bound below it. Set `objective`, `lower_bound` and
  /// `acceptance_score` in a config file when the environment has no
  /// threshold or its returns are on another scale.
  static func generic(_ spec: EnvironmentSpec) -> PoPSConfig {
    var config = cartPole(EnvironmentSpec(id: spec.id, maxEpisodeSteps: 200, rewardThreshold: spec.rewardThreshold))
    let threshold = spec.rewardThreshold.isFinite ? spec.rewardThreshold : 0
    config.objective = threshold
    config.acceptanceScore = threshold
    config.lowerBound = threshold - max(50, 0.5 * abs(threshold))
    return config
  }
}
