import Foundation

/// The cubic sparsity schedule of Zhu & Gupta (2017) used by PoPS:
/// `s(t) = s_f + (s_i - s_f) (1 - (t - t0) / (t_end - t0))^3`, constant
/// before t0 and after t_end.
public struct PruningSchedule: Sendable, Equatable {
  public var initialSparsity: Double
  public var finalSparsity: Double
  public var beginStep: Int
  public var endStep: Int

  public init(initialSparsity: Double, finalSparsity: Double, beginStep: Int, endStep: Int) {
    precondition(endStep > beginStep, "PruningSchedule: endStep must be after beginStep")
    self.initialSparsity = initialSparsity
    self.finalSparsity = finalSparsity
    self.beginStep = beginStep
    self.endStep = endStep
  }

  public init(_ config: PoPSConfig.PruningConfig) {
    self.init(
      initialSparsity: config.initialSparsity, finalSparsity: config.finalSparsity,
      beginStep: config.beginStep, endStep: config.endStep)
  }

  public func sparsity(at step: Int) -> Double {
    if step <= beginStep { return initialSparsity }
    if step >= endStep { return finalSparsity }
    let progress = Double(step - beginStep) / Double(endStep - beginStep)
    let remaining = 1 - progress
    return finalSparsity + (initialSparsity - finalSparsity) * remaining * remaining * remaining
  }
}

/// The pause / resume rules of IPP applied to a stream of evaluation scores
/// (docs/algorithm.md section 4, step 3).
public struct PruningController: Sendable, Equatable {
  public let objective: Double
  public let lowerBound: Double
  public let badEvaluationsPerIteration: Int
  /// While paused the schedule's step counter is frozen.
  public private(set) var paused = false
  public private(set) var consecutiveBad = 0

  public init(objective: Double, lowerBound: Double, badEvaluationsPerIteration: Int) {
    self.objective = objective
    self.lowerBound = lowerBound
    self.badEvaluationsPerIteration = badEvaluationsPerIteration
  }

  public struct Decision: Equatable, Sendable {
    /// The score met the objective: keep this model as a candidate.
    public var save: Bool
    /// Too many consecutive evaluations under the lower bound.
    public var endIteration: Bool
  }

  public mutating func observe(score: Double) -> Decision {
    if score >= objective {
      paused = false
      consecutiveBad = 0
      return Decision(save: true, endIteration: false)
    }
    if score < lowerBound {
      paused = true
      consecutiveBad += 1
      return Decision(save: false, endIteration: consecutiveBad >= badEvaluationsPerIteration)
    }
    consecutiveBad = 0
    return Decision(save: false, endIteration: false)
  }

  /// A new iteration starts with a fresh count of bad evaluations.
  public mutating func startIteration() { consecutiveBad = 0 }
}

/// When IPP as a whole ends (docs/algorithm.md section 4, step 4): `patience`
/// consecutive iterations ending under the lower bound, or `patience`
/// iterations in a row without a change in non-zero weights while the
/// schedule is paused or finished.
public struct IPPStopRule: Sendable, Equatable {
  public let patience: Int
  public private(set) var failingIterations = 0
  public private(set) var unchangedIterations = 0
  private var lastNonZero: Int? = nil

  public init(patience: Int) { self.patience = patience }

  /// Records the end of an iteration; returns true when IPP should stop.
  public mutating func endIteration(lastScore: Double, lowerBound: Double, nonZero: Int, frozen: Bool) -> Bool {
    failingIterations = lastScore < lowerBound ? failingIterations + 1 : 0
    if frozen && lastNonZero == nonZero {
      unchangedIterations += 1
    } else {
      unchangedIterations = 0
    }
    lastNonZero = nonZero
    return failingIterations >= patience || unchangedIterations >= patience
  }
}

/// One evaluation during IPP.
public struct PruningEvaluation: Codable, Sendable, Equatable {
  public var iteration: Int
  public var minibatch: Int
  public var scheduleStep: Int
  public var sparsity: Double
  public var mean: Double
  public var std: Double
  public var paused: Bool
  public var saved: Bool
}

/// The rule that picks IPP's result (docs/algorithm.md section 4): of the
/// models whose evaluation met the objective, the sparsest; on a tie the
/// later one.
public struct SparsestModel: Sendable {
  public private(set) var network: Network?
  public private(set) var score: EvaluationResult?

  public init() {}

  /// Offers a model whose evaluation met the objective; returns true when it
  /// is kept (at least as sparse as the one kept so far).
  @discardableResult
  public mutating func offer(_ candidate: Network, score: EvaluationResult) -> Bool {
    if let network, candidate.sparsity < network.sparsity { return false }
    network = candidate
    self.score = score
    return true
  }
}

/// What IPP found.
public struct PruningResult: Sendable {
  /// The sparsest model that met the objective (nil if none did).
  public var best: Network?
  public var bestScore: EvaluationResult?
  public var evaluations: [PruningEvaluation]
  public var iterations: Int
  public var minibatches: Int
  public var stopReason: IPPStopReason

  public init(
    best: Network?, bestScore: EvaluationResult?, evaluations: [PruningEvaluation], iterations: Int, minibatches: Int,
    stopReason: IPPStopReason
  ) {
    self.best = best
    self.bestScore = bestScore
    self.evaluations = evaluations
    self.iterations = iterations
    self.minibatches = minibatches
    self.stopReason = stopReason
  }
}

extension PoPSRun {
  /// Iterative policy pruning of PoPS step `step`: distil `start` from the
  /// teacher while its weight matrices are pruned on the cubic schedule
  /// (docs/algorithm.md section 4). Reports every evaluation as an event.
  public mutating func prune(_ start: Network, step: Int) throws -> PruningResult {
    let p = config.pruning
    let schedule = PruningSchedule(p)
    try startStage(.pruning, step: step)
    var rng = seeds.generator(.pruning, step: step)
    let learningRate = config.learningRate(sizeFraction: Double(start.weightCount) / Double(teacherWeights), epoch: 0)
    var distiller = Distiller(student: start, config: config.distillation, learningRate: learningRate)
    var controller = PruningController(
      objective: config.objective, lowerBound: config.lowerBound, badEvaluationsPerIteration: p.badEvaluationsPerIteration)
    var stopRule = IPPStopRule(patience: p.patience)
    var t = 0
    var minibatches = 0
    var evaluations: [PruningEvaluation] = []
    var best = SparsestModel()
    var stopReason = IPPStopReason.maxIterations(p.maxIterations)
    var evaluationSeed = Seeds.pruningEvaluations
    var iterations = 0
    for iteration in 0..<p.maxIterations {
      iterations = iteration + 1
      try refillBuffer(using: &rng)
      controller.startIteration()
      var lastScore = config.objective
      for _ in 0..<p.minibatchesPerIteration {
        if minibatches % p.frequency == 0 && !controller.paused {
          distiller.student.pruneByMagnitude(sparsity: schedule.sparsity(at: t))
        }
        distiller.step(on: buffer, using: &rng)
        minibatches += 1
        if !controller.paused { t += 1 }
        if minibatches % p.evaluationInterval == 0 {
          let score = try evaluate(distiller.student, episodes: p.evaluationEpisodes, seed: evaluationSeed)
          evaluationSeed &+= UInt64(p.evaluationEpisodes)
          lastScore = score.mean
          let decision = controller.observe(score: score.mean)
          if decision.save { best.offer(distiller.student, score: score) }
          let evaluation = PruningEvaluation(
            iteration: iteration, minibatch: minibatches, scheduleStep: t, sparsity: distiller.student.sparsity,
            mean: score.mean, std: score.std, paused: controller.paused, saved: decision.save)
          evaluations.append(evaluation)
          events(.pruning(step: step, evaluation))
          if decision.endIteration { break }
        }
      }
      let frozen = controller.paused || t >= p.endStep
      if stopRule.endIteration(
        lastScore: lastScore, lowerBound: config.lowerBound,
        nonZero: distiller.student.nonZeroWeightCount, frozen: frozen)
      {
        stopReason = stopRule.failingIterations >= p.patience
          ? .failingIterations(p.patience)
          : .unchangedNonZeros(iterations: p.patience, schedulePaused: controller.paused)
        break
      }
    }
    return PruningResult(
      best: best.network, bestScore: best.score, evaluations: evaluations, iterations: iterations,
      minibatches: minibatches, stopReason: stopReason)
  }
}
