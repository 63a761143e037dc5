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
public struct PruningController: Sendable, Equatable, Codable {
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
public struct IPPStopRule: Sendable, Equatable, Codable {
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

  /// The choice so far, as a stage checkpoint saved it.
  init(network: Network?, score: EvaluationResult?) {
    self.network = network
    self.score = score
  }

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

/// Where IPP stands: everything its loop carries from one minibatch to the
/// next besides the networks (what a stage checkpoint saves).
struct PruningProgress: Codable {
  var iteration = 0
  /// Minibatches done in `iteration` (0: its refill is still to come).
  var minibatchInIteration = 0
  var scheduleStep = 0
  var minibatches = 0
  var evaluations: [PruningEvaluation] = []
  var evaluationSeed = Seeds.pruningEvaluations
  var lastScore: Double
  var controller: PruningController
  var stopRule: IPPStopRule
  var bestScore: EvaluationResult?
  var rng: SeededGenerator

  /// Why this state cannot be one of IPP under `config`, naming the field, or nil.
  func problem(_ config: PoPSConfig) -> String? {
    let p = config.pruning
    let (most, overflow) = (iteration + 1).multipliedReportingOverflow(by: p.minibatchesPerIteration)
    if !(0..<p.maxIterations).contains(iteration) { return "iteration \(iteration) is outside 0..<\(p.maxIterations)" }
    if !(0...p.minibatchesPerIteration).contains(minibatchInIteration) {
      return "minibatchInIteration \(minibatchInIteration) is outside 0...\(p.minibatchesPerIteration)"
    }
    if overflow || !(0...most).contains(minibatches) { return "minibatches \(minibatches) is outside 0...\(most)" }
    if !(0...minibatches).contains(scheduleStep) { return "scheduleStep \(scheduleStep) is outside 0...\(minibatches)" }
    let fresh = PruningController(
      objective: config.objective, lowerBound: config.lowerBound, badEvaluationsPerIteration: p.badEvaluationsPerIteration)
    if controller.objective != fresh.objective || controller.lowerBound != fresh.lowerBound
      || controller.badEvaluationsPerIteration != fresh.badEvaluationsPerIteration || controller.consecutiveBad < 0
    {
      return "its pause controller does not match the config"
    }
    if stopRule.patience != p.patience || stopRule.failingIterations < 0 || stopRule.unchangedIterations < 0 {
      return "its stop rule does not match the config"
    }
    return nil
  }
}

extension PoPSRun {
  /// Iterative policy pruning of PoPS step `step`: distil `start` from the
  /// teacher while its weight matrices are pruned on the cubic schedule
  /// (docs/algorithm.md section 4). Reports every evaluation as an event.
  /// Saves its state every `options.checkpoints` and continues from the
  /// output folder's checkpoint of this stage if there is one.
  public mutating func prune(_ start: Network, step: Int) throws -> PruningResult {
    let p = config.pruning
    let schedule = PruningSchedule(p)
    let key = StageKey(kind: .pruning, step: step, architecture: start.architecture)
    let learningRate = config.learningRate(sizeFraction: Double(start.weightCount) / Double(teacherWeights), epoch: 0)
    var distiller = Distiller(student: start, config: config.distillation, learningRate: learningRate)
    var best = SparsestModel()
    var s: PruningProgress
    if let saved = try resumeStage(
      key, as: PruningProgress.self, networks: ["student"], optional: ["best"], optimizer: distiller.optimizer,
      problem: { [config] in $0.problem(config) }), let student = saved.networks["student"]
    {
      s = saved.state
      distiller.student = student
      distiller.optimizer = saved.optimizer
      best = SparsestModel(network: saved.networks["best"], score: s.bestScore)
      events(.resumingStage(step: step, stage: .pruning, minibatch: s.minibatches))
    } else {
      try startStage(.pruning, step: step)
      s = PruningProgress(
        lastScore: config.objective,
        controller: PruningController(
          objective: config.objective, lowerBound: config.lowerBound, badEvaluationsPerIteration: p.badEvaluationsPerIteration),
        stopRule: IPPStopRule(patience: p.patience), rng: seeds.generator(.pruning, step: step))
    }
    var clock = CheckpointClock(options.checkpoints)
    func checkpoint() throws {
      s.bestScore = best.score
      var networks = ["student": distiller.student]
      if let network = best.network { networks["best"] = network }
      try writeStageCheckpoint(key, StageSnapshot(state: s, networks: networks, optimizer: distiller.optimizer))
    }
    var stopReason = IPPStopReason.maxIterations(p.maxIterations)
    while s.iteration < p.maxIterations {
      if s.minibatchInIteration == 0 {
        try refillBuffer(using: &s.rng)
        s.controller.startIteration()
        s.lastScore = config.objective
      }
      var endIteration = false
      while s.minibatchInIteration < p.minibatchesPerIteration && !endIteration {
        if s.minibatches % p.frequency == 0 && !s.controller.paused {
          distiller.student.pruneByMagnitude(sparsity: schedule.sparsity(at: s.scheduleStep))
        }
        distiller.step(on: buffer, using: &s.rng)
        s.minibatches += 1
        s.minibatchInIteration += 1
        if !s.controller.paused { s.scheduleStep += 1 }
        if s.minibatches % p.evaluationInterval == 0 {
          let score = try evaluate(distiller.student, episodes: p.evaluationEpisodes, seed: s.evaluationSeed)
          s.evaluationSeed &+= UInt64(p.evaluationEpisodes)
          s.lastScore = score.mean
          let decision = s.controller.observe(score: score.mean)
          if decision.save { best.offer(distiller.student, score: score) }
          let evaluation = PruningEvaluation(
            iteration: s.iteration, minibatch: s.minibatches, scheduleStep: s.scheduleStep,
            sparsity: distiller.student.sparsity, mean: score.mean, std: score.std, paused: s.controller.paused,
            saved: decision.save)
          s.evaluations.append(evaluation)
          events(.pruning(step: step, evaluation))
          endIteration = decision.endIteration
        }
        // Not at an iteration's early end: the checkpoint resumes inside the loop.
        if !endIteration { try stageBoundary(&clock, minibatches: s.minibatches, checkpoint: checkpoint) }
      }
      let frozen = s.controller.paused || s.scheduleStep >= p.endStep
      let stop = s.stopRule.endIteration(
        lastScore: s.lastScore, lowerBound: config.lowerBound,
        nonZero: distiller.student.nonZeroWeightCount, frozen: frozen)
      s.iteration += 1
      s.minibatchInIteration = 0
      if stop {
        stopReason = s.stopRule.failingIterations >= p.patience
          ? .failingIterations(p.patience)
          : .unchangedNonZeros(iterations: p.patience, schedulePaused: s.controller.paused)
        break
      }
    }
    return PruningResult(
      best: best.network, bestScore: best.score, evaluations: s.evaluations, iterations: s.iteration,
      minibatches: s.minibatches, stopReason: stopReason)
  }
}
