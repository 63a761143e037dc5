/// Every hyperparameter of `PPO`, defaulting to a recipe that trains a
/// LunarLander actor (8-64-64-64-4) past 200 in a few minutes on two cores
/// (the rl-zoo settings for LunarLander, with the reference's network sizes).
public struct PPOConfig: Codable, Sendable, Equatable {
  /// Hidden widths of the actor (policy logits). Reference: [64, 64, 64].
  public var actorHidden: [Int] = [64, 64, 64]
  /// Hidden widths of the critic (state value). Reference: [64, 64, 64].
  public var criticHidden: [Int] = [64, 64, 64]
  /// Convolutions in front of both networks' hidden layers for image
  /// observations, as `[out_channels, kernel, stride]` (the Nature CNN:
  /// [[32, 8, 4], [64, 4, 2], [64, 3, 1]] with hidden [512]); empty: none.
  /// Actor and critic each have their own.
  public var convolutions: [[Int]] = []
  /// Adam step size for both networks.
  public var learningRate: Float = 3e-4
  /// Lower the step size linearly to zero over the training budget
  /// (`teacher.steps`), set at the start of each rollout, as CleanRL's
  /// `anneal_lr` does.
  public var annealLearningRate: Bool = false
  /// Discount factor.
  public var gamma: Float = 0.999
  /// GAE lambda.
  public var gaeLambda: Float = 0.98
  /// Parallel environments collecting each rollout.
  public var environments: Int = 16
  /// Steps per environment per rollout.
  public var rolloutSteps: Int = 1024
  /// Passes over each rollout.
  public var epochs: Int = 4
  /// Minibatch size.
  public var batchSize: Int = 64
  /// PPO clip range epsilon.
  public var clipRange: Float = 0.2
  /// Entropy bonus coefficient.
  public var entropyCoefficient: Float = 0.01
  /// Global gradient-norm clip per network (0: off).
  public var maxGradientNorm: Float = 0.5
  /// Normalise advantages within each minibatch.
  public var normalizeAdvantages: Bool = true
  /// Environment steps between greedy evaluations (0: never).
  public var evaluationInterval: Int = 50_000
  /// Episodes per greedy evaluation.
  public var evaluationEpisodes: Int = 50

  public init() {}

  /// Fields a file leaves out keep their defaults (records and checkpoints
  /// written before `convolutions` existed read as before).
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = PPOConfig()
    actorHidden = try c.decodeIfPresent([Int].self, forKey: .actorHidden) ?? d.actorHidden
    criticHidden = try c.decodeIfPresent([Int].self, forKey: .criticHidden) ?? d.criticHidden
    convolutions = try c.decodeIfPresent([[Int]].self, forKey: .convolutions) ?? d.convolutions
    learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
    annealLearningRate = try c.decodeIfPresent(Bool.self, forKey: .annealLearningRate) ?? d.annealLearningRate
    gamma = try c.decodeIfPresent(Float.self, forKey: .gamma) ?? d.gamma
    gaeLambda = try c.decodeIfPresent(Float.self, forKey: .gaeLambda) ?? d.gaeLambda
    environments = try c.decodeIfPresent(Int.self, forKey: .environments) ?? d.environments
    rolloutSteps = try c.decodeIfPresent(Int.self, forKey: .rolloutSteps) ?? d.rolloutSteps
    epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
    batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
    clipRange = try c.decodeIfPresent(Float.self, forKey: .clipRange) ?? d.clipRange
    entropyCoefficient = try c.decodeIfPresent(Float.self, forKey: .entropyCoefficient) ?? d.entropyCoefficient
    maxGradientNorm = try c.decodeIfPresent(Float.self, forKey: .maxGradientNorm) ?? d.maxGradientNorm
    normalizeAdvantages = try c.decodeIfPresent(Bool.self, forKey: .normalizeAdvantages) ?? d.normalizeAdvantages
    evaluationInterval = try c.decodeIfPresent(Int.self, forKey: .evaluationInterval) ?? d.evaluationInterval
    evaluationEpisodes = try c.decodeIfPresent(Int.self, forKey: .evaluationEpisodes) ?? d.evaluationEpisodes
  }

  /// Checks every field; returns a message naming the first bad one.
  public func validationError() -> String? {
    if actorHidden.isEmpty || actorHidden.contains(where: { $0 <= 0 }) { return "actorHidden must be positive widths" }
    if criticHidden.isEmpty || criticHidden.contains(where: { $0 <= 0 }) { return "criticHidden must be positive widths" }
    if !convolutions.allSatisfy({ $0.count == 3 && $0.allSatisfy { $0 > 0 } }) {
      return "convolutions must be [out_channels, kernel, stride] triples of positive integers, got \(convolutions)"
    }
    if !(learningRate > 0) { return "learningRate must be positive, got \(learningRate)" }
    if !(gamma >= 0 && gamma <= 1) { return "gamma must be in [0, 1], got \(gamma)" }
    if !(gaeLambda >= 0 && gaeLambda <= 1) { return "gaeLambda must be in [0, 1], got \(gaeLambda)" }
    if environments <= 0 || rolloutSteps <= 0 { return "environments and rolloutSteps must be positive" }
    if epochs <= 0 || batchSize <= 0 { return "epochs and batchSize must be positive" }
    let (rollout, overflow) = environments.multipliedReportingOverflow(by: rolloutSteps)
    if overflow || rollout > 1 << 31 {
      return "environments x rolloutSteps must be at most 2^31, got \(environments) x \(rolloutSteps)"
    }
    if batchSize > rollout { return "batchSize must not exceed environments * rolloutSteps" }
    if !(clipRange > 0) { return "clipRange must be positive, got \(clipRange)" }
    if !(entropyCoefficient >= 0) { return "entropyCoefficient must be non-negative" }
    if !(maxGradientNorm >= 0) { return "maxGradientNorm must be non-negative" }
    if evaluationInterval < 0 || evaluationEpisodes <= 0 { return "evaluationInterval must be >= 0 and evaluationEpisodes positive" }
    return nil
  }
}
