import Foundation

/// How a teacher is trained when none is given.
public enum TeacherAlgorithm: String, Codable, Sendable, CaseIterable, ConfigChoice {
  /// Deep Q-learning: the Q-values are the teacher's outputs.
  case dqn
  /// PPO actor-critic: the actor's logits are the teacher's outputs.
  case ppo
}

/// Everything a PoPS run needs, per environment (the role of the
/// reference's configs.py). `pops config show ENV` prints the preset as YAML;
/// `--config FILE.yaml` overrides any subset of fields.
public struct PoPSConfig: Codable, Sendable, Equatable {
  /// Environment id.
  public var environment: String
  /// Score a student must reach in a periodic evaluation to be kept
  /// (reference: CartPole 190, LunarLander 200, Pong 18).
  public var objective: Double
  /// Score under which pruning pauses (reference: CartPole 80).
  public var lowerBound: Double
  /// Score a dense student must reach on `acceptance_episodes` episodes to be
  /// accepted as the result of a PoPS step (default: the environment's threshold).
  public var acceptanceScore: Double
  /// Episodes of the acceptance evaluation.
  public var acceptanceEpisodes: Int
  /// How many standard errors the acceptance mean must clear
  /// `acceptance_score` by. Returns of tasks like LunarLander vary a lot
  /// between episodes; without a margin the first student that passes is
  /// often one that got lucky (0: the mean alone decides).
  public var acceptanceConfidence: Double
  /// How a teacher is trained when none is given.
  public var teacher: TeacherConfig
  public var experience: ExperienceConfig
  public var distillation: DistillationConfig
  public var pruning: PruningConfig
  public var shrinking: ShrinkingConfig

  /// The teacher: a DQN (Q-values are its outputs) or a PPO actor-critic
  /// (the actor's logits are its outputs).
  public struct TeacherConfig: Codable, Sendable, Equatable {
    public var algorithm: TeacherAlgorithm
    /// Environment-step budget; training stops early at the threshold.
    public var steps: Int
    public var dqn: DQNConfig
    public var ppo: PPOConfig
  }

  /// The teacher's experience, replayed for supervised distillation.
  public struct ExperienceConfig: Codable, Sendable, Equatable {
    /// Teacher steps added per refill (reference: 25k CartPole, 10k LunarLander).
    public var refillSteps: Int
    /// Buffer capacity in transitions (reference: 100k).
    public var capacity: Int
    /// Probability that the teacher acts randomly while filling, so the
    /// student also sees recoveries from off-policy states (reference: 0).
    public var exploration: Double
  }

  /// The distillation loss and its optimiser (RMSProp, as the reference).
  public struct DistillationConfig: Codable, Sendable, Equatable {
    /// Minibatch size.
    public var batchSize: Int
    /// Softmax temperature applied to the teacher's outputs (reference 0.01).
    public var temperature: Float
    /// Added to both distributions in the KL (reference 1e-5).
    public var epsilon: Float
    /// RMSProp decay.
    public var rho: Float
    /// Learning rate at the teacher's size. Smaller students get
    /// `base / fraction^size_exponent` (clamped to `max_learning_rate`), where
    /// fraction is the student's share of the teacher's weights: the rule
    /// behind the reference's per-size tables (1e-5 at full size, 1e-4 at
    /// 10%, 1e-3 under ~1%).
    public var baseLearningRate: Float
    public var sizeExponent: Float
    public var maxLearningRate: Float
    /// Minibatches per epoch of student training (one refill per epoch).
    public var minibatchesPerEpoch: Int
    /// Epochs before a student that never passes is given up (reference 100).
    public var maxEpochs: Int
    /// Minibatches between student evaluations.
    public var evaluationInterval: Int
    /// Episodes per student evaluation.
    public var evaluationEpisodes: Int
    /// Within an epoch range the rate steps down: after `decay_epochs[i]`
    /// epochs it is multiplied by `decay_factors[i]` (reference: 20, 50, 80
    /// epochs -> 0.5, 0.2, 0.1).
    public var decayEpochs: [Int]
    public var decayFactors: [Float]
    /// Re-initialise hidden units of a dense student that output zero on
    /// every sampled state (ReDo), checked after each refill and before each
    /// evaluation; false trains as the reference (docs/algorithm.md,
    /// "Dormant units").
    public var recycleDormantUnits: Bool = true
    /// A student not accepted after this many epochs is drawn again (new
    /// initial weights, fresh optimiser and learning-rate schedule) within
    /// the same `max_epochs` budget; 0 keeps one initialisation, as the
    /// reference (docs/algorithm.md, "Restarts").
    public var restartEpochs: Int = 0
  }

  /// Iterative policy pruning (docs/algorithm.md section 4).
  public struct PruningConfig: Codable, Sendable, Equatable {
    /// Sparsity at the schedule's start (s_i, reference 0).
    public var initialSparsity: Double
    /// Sparsity at its end (s_f, reference 0.99).
    public var finalSparsity: Double
    /// Minibatch at which pruning starts (t0, reference 0).
    public var beginStep: Int
    /// Minibatch at which the schedule reaches s_f (reference 5e5 for MLPs;
    /// the preset uses a shorter one that reaches the same sparsities).
    public var endStep: Int
    /// Minibatches between mask updates (reference 10 for MLPs).
    public var frequency: Int
    /// Minibatches per IPP iteration (reference ~20k), one refill each.
    public var minibatchesPerIteration: Int
    /// Minibatches between evaluations (reference 1000).
    public var evaluationInterval: Int
    /// Episodes per evaluation (reference 25 for MLPs).
    public var evaluationEpisodes: Int
    /// Upper bound on IPP iterations (reference 100-125).
    public var maxIterations: Int
    /// Consecutive evaluations under the lower bound that end an iteration (reference 5).
    public var badEvaluationsPerIteration: Int
    /// Consecutive failing iterations, or paused iterations without a change
    /// in non-zeros, that end IPP (reference 5).
    public var patience: Int
  }

  /// Shrinking and the outer loop (docs/algorithm.md sections 5-7).
  public struct ShrinkingConfig: Codable, Sendable, Equatable {
    /// No hidden width goes below this.
    public var minimumWidth: Int
    /// Stop when the size (in % of the teacher) changes by less than this
    /// many percentage points between steps (reference 0.05 for MLPs).
    public var convergenceThreshold: Double
    /// Upper bound on PoPS steps.
    public var maxSteps: Int
    /// When a shrunk student never passes, how many sizes between it and the
    /// last accepted network are tried (each halving the gap in log width)
    /// before the run stops; 0 stops at the first failure, as the reference.
    public var backoffAttempts: Int = 3
    /// When positive, a step whose size drop is under `convergence_threshold`
    /// still does not end the run if it cut the network by at least this
    /// fraction of its weights: near the end the teacher's size makes
    /// percentage points coarse (0.05 points of CartPole's 99,584 weights
    /// are 50 weights). 0 is the reference's rule.
    public var convergenceFraction: Double = 0
  }

  /// Checks every field; the message names the first bad one.
  public func validationError() -> String? {
    if let p = teacher.dqn.validationError() { return "teacher.dqn.\(p)" }
    if let p = teacher.ppo.validationError() { return "teacher.ppo.\(p)" }
    if !(objective > lowerBound) { return "objective (\(objective)) must be above lower_bound (\(lowerBound))" }
    if acceptanceEpisodes <= 0 { return "acceptance_episodes must be positive, got \(acceptanceEpisodes)" }
    if !(acceptanceConfidence >= 0) { return "acceptance_confidence must be non-negative, got \(acceptanceConfidence)" }
    if teacher.steps <= 0 { return "teacher.steps must be positive, got \(teacher.steps)" }
    if experience.refillSteps <= 0 { return "experience.refill_steps must be positive, got \(experience.refillSteps)" }
    if experience.capacity < experience.refillSteps { return "experience.capacity must be at least refill_steps" }
    if experience.capacity > 1 << 40 { return "experience.capacity must be at most 2^40, got \(experience.capacity)" }
    if !(0...1).contains(experience.exploration) { return "experience.exploration must be in [0, 1]" }
    let d = distillation
    if d.batchSize <= 0 || d.batchSize > 1 << 24 { return "distillation.batch_size must be in 1...2^24, got \(d.batchSize)" }
    if !(d.temperature > 0) { return "distillation.temperature must be positive, got \(d.temperature)" }
    if !(d.epsilon >= 0) { return "distillation.epsilon must be non-negative" }
    if !(0..<1).contains(d.rho) { return "distillation.rho must be in [0, 1), got \(d.rho)" }
    if !(d.baseLearningRate > 0) || !(d.maxLearningRate >= d.baseLearningRate) {
      return "distillation.base_learning_rate must be positive and at most max_learning_rate"
    }
    if d.minibatchesPerEpoch <= 0 || d.maxEpochs <= 0 || d.evaluationInterval <= 0 || d.evaluationEpisodes <= 0 {
      return "distillation.minibatches_per_epoch, max_epochs, evaluation_interval and evaluation_episodes must be positive"
    }
    if d.restartEpochs < 0 { return "distillation.restart_epochs must be 0 (never) or positive, got \(d.restartEpochs)" }
    if d.decayEpochs.count != d.decayFactors.count { return "distillation.decay_epochs and decay_factors differ in length" }
    let p = pruning
    if !(0..<1).contains(p.initialSparsity) || !(p.initialSparsity...1).contains(p.finalSparsity) {
      return "pruning.initial_sparsity must be in [0, 1) and final_sparsity in [initial_sparsity, 1]"
    }
    if p.beginStep < 0 || p.endStep <= p.beginStep { return "pruning.end_step must be after begin_step" }
    if p.frequency <= 0 || p.minibatchesPerIteration <= 0 || p.evaluationInterval <= 0 || p.evaluationEpisodes <= 0 {
      return "pruning.frequency, minibatches_per_iteration, evaluation_interval and evaluation_episodes must be positive"
    }
    if p.maxIterations <= 0 || p.badEvaluationsPerIteration <= 0 || p.patience <= 0 {
      return "pruning.max_iterations, bad_evaluations_per_iteration and patience must be positive"
    }
    if shrinking.minimumWidth <= 0 { return "shrinking.minimum_width must be positive" }
    if !(shrinking.convergenceThreshold >= 0) { return "shrinking.convergence_threshold must be non-negative" }
    if shrinking.maxSteps <= 0 { return "shrinking.max_steps must be positive" }
    if !(0...1).contains(shrinking.convergenceFraction) {
      return "shrinking.convergence_fraction must be in [0, 1], got \(shrinking.convergenceFraction)"
    }
    if shrinking.backoffAttempts < 0 || shrinking.backoffAttempts > 20 { return "shrinking.backoff_attempts must be in 0...20, got \(shrinking.backoffAttempts)" }
    return nil
  }

  /// True when an acceptance evaluation clears `acceptance_score` by
  /// `acceptance_confidence` standard errors.
  public func accepts(_ evaluation: EvaluationResult) -> Bool {
    accepts(mean: evaluation.mean, std: evaluation.std, episodes: evaluation.episodes)
  }

  /// The same rule for a score recorded as its mean, std and episodes.
  public func accepts(mean: Double, std: Double, episodes: Int) -> Bool {
    mean - acceptanceConfidence * std / Double(max(episodes, 1)).squareRoot() >= acceptanceScore
  }

  /// These settings judging students against a teacher's own measured
  /// score (`--objective teacher`): a student is accepted when it does as
  /// well as the teacher under the same rule; the periodic objective and the
  /// lower bound move down with it when they were above.
  public func judgedAgainst(teacherMean mean: Double, std: Double, episodes: Int) -> PoPSConfig {
    var config = self
    config.acceptanceScore = mean - acceptanceConfidence * std / Double(max(episodes, 1)).squareRoot()
    config.objective = min(objective, config.acceptanceScore)
    if !(config.lowerBound < config.objective) { config.lowerBound = config.objective - max(1, 0.4 * abs(config.objective)) }
    return config
  }

  /// The learning rate for a student holding `fraction` of the teacher's
  /// weights, in epoch `epoch` of its training.
  public func learningRate(sizeFraction fraction: Double, epoch: Int) -> Float {
    let d = distillation
    let scaled = d.baseLearningRate / pow(Float(max(fraction, 1e-9)), d.sizeExponent)
    var rate = min(scaled, d.maxLearningRate)
    for (after, factor) in zip(d.decayEpochs, d.decayFactors) where epoch >= after { rate = min(scaled, d.maxLearningRate) * factor }
    return rate
  }
}

extension PoPSConfig.ShrinkingConfig {
  /// The stop reason when a step from a network of `fromWeights` weights
  /// (`fromPercent` % of the teacher) to one of `toWeights` means the size
  /// converged: it fell by less than `convergence_threshold` percentage
  /// points and, when `convergence_fraction` is positive, by less than that
  /// fraction of the network. Nil: keep shrinking.
  public func convergence(fromPercent: Double, toPercent: Double, fromWeights: Int, toWeights: Int) -> StopReason? {
    let drop = fromPercent - toPercent
    guard drop < convergenceThreshold else { return nil }
    guard convergenceFraction > 0 else { return .converged(sizeDrop: drop, threshold: convergenceThreshold) }
    let fraction = 1 - Double(toWeights) / Double(max(fromWeights, 1))
    guard fraction < convergenceFraction else { return nil }
    return .convergedRelative(
      sizeDrop: drop, threshold: convergenceThreshold, fraction: fraction, fractionThreshold: convergenceFraction)
  }
}

