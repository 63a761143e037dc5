import Foundation

// Policy distillation (docs/algorithm.md sections 3 and 6): the distiller
// that trains a student on the teacher's experience, and the training of a
// shrunk dense student until it is accepted.

/// Trains a student network to match a teacher with the PoPS distillation
/// loss (KL with temperature), RMSProp, and the student's pruning masks.
public struct Distiller {
  public var student: Network
  public var optimizer: RMSProp
  public let temperature: Float
  public let epsilon: Float
  public let batchSize: Int
  private let cache = Network.Cache()
  private var gradients: [Tensor] = []
  private var states: [Float] = []
  private var targets: [Float] = []

  public init(student: Network, config: PoPSConfig.DistillationConfig, learningRate: Float) {
    self.student = student
    optimizer = RMSProp(learningRate: learningRate, rho: config.rho)
    temperature = config.temperature
    epsilon = config.epsilon
    batchSize = config.batchSize
  }

  /// One minibatch: sample, forward, loss, backward, RMSProp (masks kept).
  @discardableResult
  public mutating func step(on buffer: ExperienceBuffer, using rng: inout SeededGenerator) -> Float {
    buffer.sample(batchSize, states: &states, teacherOutputs: &targets, using: &rng)
    let logits = student.forward(states, batch: batchSize, cache: cache)
    let loss = Loss.distillation(
      teacher: targets, student: logits, actionCount: buffer.actionCount,
      temperature: temperature, epsilon: epsilon)
    student.backward(loss.gradient, cache: cache, into: &gradients)
    optimizer.update(&student, along: gradients)
    return loss.value
  }
}

/// One evaluation while a dense student is distilled.
public struct StudentEvaluation: Codable, Sendable, Equatable {
  public var epoch: Int
  /// Which initialisation of the student (1 unless `restart_epochs` drew it
  /// again; absent in records written before restarts).
  public var start: Int?
  public var minibatch: Int
  public var learningRate: Float
  public var mean: Double
  public var std: Double
  /// Dormant hidden units re-initialised since the previous evaluation
  /// (absent in records written before they were).
  public var recycledUnits: Int?
  /// Mean distillation loss over the minibatches since the last evaluation
  /// (absent in records written before it was kept).
  public var loss: Double?
  /// The acceptance evaluation this evaluation led to (it met the
  /// objective), passed or not; absent when none ran.
  public var acceptance: AcceptanceTry?
}

/// An acceptance evaluation of a student during its distillation.
public struct AcceptanceTry: Codable, Sendable, Equatable {
  public var episodes: Int
  public var mean: Double
  public var std: Double
  public var passed: Bool

  public init(_ score: EvaluationResult, passed: Bool) {
    episodes = score.episodes
    mean = score.mean
    std = score.std
    self.passed = passed
  }

  /// "19.10 +- 1.51 over 10 episodes: passed".
  public var summary: String {
    String(format: "%.2f +- %.2f over %d episodes: ", mean, std, episodes) + (passed ? "passed" : "failed")
  }
}

/// Where a student's distillation stands: everything its loop carries from
/// one minibatch to the next besides the network and optimiser (what a stage
/// checkpoint saves).
struct DistillationProgress: Codable {
  var epoch = 0
  /// Minibatches done in `epoch` (0: its refill is still to come).
  var minibatchInEpoch = 0
  /// Which initialisation of the student (see `StudentEvaluation.start`).
  var start = 1
  var startEpoch = 0
  var minibatches = 0
  var lossSum = 0.0
  var recycled = 0
  var evaluationSeed = Seeds.studentEvaluations
  var evaluations: [StudentEvaluation] = []
  var initRNG: SeededGenerator
  var rng: SeededGenerator
  var recyclingRNG: SeededGenerator

  /// Why this state cannot be one of a distillation under `config`, naming the field, or nil.
  func problem(_ config: PoPSConfig) -> String? {
    let d = config.distillation
    if !(0..<d.maxEpochs).contains(epoch) { return "epoch \(epoch) is outside 0..<\(d.maxEpochs)" }
    if !(0...epoch).contains(startEpoch) { return "startEpoch \(startEpoch) is outside 0...\(epoch)" }
    if !(0...d.minibatchesPerEpoch).contains(minibatchInEpoch) {
      return "minibatchInEpoch \(minibatchInEpoch) is outside 0...\(d.minibatchesPerEpoch)"
    }
    let (done, overflow) = epoch.multipliedReportingOverflow(by: d.minibatchesPerEpoch)
    if overflow || minibatches != done + minibatchInEpoch {
      return "minibatches \(minibatches) is not epoch x distillation.minibatches_per_epoch + minibatchInEpoch"
    }
    if start < 1 || recycled < 0 { return "start \(start) or recycled \(recycled) is out of range" }
    return nil
  }
}

/// What distilling a dense student produced.
public struct StudentResult: Sendable {
  /// The student, set once it passed the acceptance evaluation.
  public var accepted: Network?
  /// The acceptance evaluation of the accepted student.
  public var acceptance: EvaluationResult?
  public var evaluations: [StudentEvaluation]
  public var epochs: Int
  public var minibatches: Int

  public init(
    accepted: Network?, acceptance: EvaluationResult?, evaluations: [StudentEvaluation], epochs: Int, minibatches: Int
  ) {
    self.accepted = accepted
    self.acceptance = acceptance
    self.evaluations = evaluations
    self.epochs = epochs
    self.minibatches = minibatches
  }
}

extension PoPSRun {
  /// Starts a stage (an IPP stage or a student's distillation) from a
  /// buffer that depends on nothing but the run's seed, the step and the
  /// stage: emptied, then filled to capacity by the teacher's play. A run
  /// resumed at a stage boundary then continues exactly as the uninterrupted
  /// run (issue 13: a buffer carried over from earlier stages made them differ).
  mutating func startStage(_ stage: Seeds.Stage, step: Int) throws {
    buffer.removeAll()
    refills = []
    var rng = seeds.generator(.experience, step: step &* 8 &+ Int(stage.rawValue))
    let refills = (config.experience.capacity + config.experience.refillSteps - 1) / config.experience.refillSteps
    for _ in 0..<refills { try refillBuffer(using: &rng) }
  }

  /// The teacher plays `experience.refill_steps` steps into the buffer.
  /// Each refill is recorded (`refills`) for the stage's checkpoints.
  mutating func refillBuffer(using rng: inout SeededGenerator) throws {
    let before = rng, position = buffer.position, count = buffer.count
    try buffer.refill(
      from: teacher, in: &environment, steps: config.experience.refillSteps,
      exploration: config.experience.exploration, using: &rng)
    refills.append(ExperienceRefill(
      before: before, after: rng, position: position, count: count, steps: config.experience.refillSteps))
    // Only the refills whose entries the buffer still holds.
    while refills.count > 1 && refills.dropFirst().reduce(0, { $0 + $1.steps }) >= buffer.capacity {
      refills.removeFirst()
    }
  }

  /// Distils a randomly initialised dense `architecture` from the teacher in
  /// PoPS step `step` (docs/algorithm.md section 6): epochs of refill +
  /// minibatches, evaluations every `evaluation_interval` minibatches, and
  /// once an evaluation meets the objective an acceptance evaluation on
  /// `acceptance_episodes` episodes that must clear `acceptance_score` (see
  /// `PoPSConfig.accepts`). The learning rate follows the size rule.
  public mutating func distil(_ architecture: Architecture, step: Int) throws -> StudentResult {
    let d = config.distillation
    let key = StageKey(kind: .distillation, step: step, architecture: architecture)
    let fraction = Double(architecture.weightCount) / Double(teacherWeights)
    var rng = seeds.generator(.distillation, step: step)
    let initRNG = rng.split()
    var s = DistillationProgress(initRNG: initRNG, rng: rng, recyclingRNG: seeds.generator(.recycling, step: step))
    func freshDistiller() -> Distiller {
      Distiller(
        student: Network(architecture, using: &s.initRNG), config: d,
        learningRate: config.learningRate(sizeFraction: fraction, epoch: 0))
    }
    var distiller = freshDistiller()
    if let saved = try resumeStage(
      key, as: DistillationProgress.self, networks: ["student"], optimizer: distiller.optimizer,
      problem: { [config] in $0.problem(config) }), let student = saved.networks["student"]
    {
      s = saved.state
      distiller.student = student
      distiller.optimizer = saved.optimizer
      distiller.optimizer.learningRate = config.learningRate(sizeFraction: fraction, epoch: s.epoch - s.startEpoch)
      events(.resumingStage(step: step, stage: .distillation, minibatch: s.minibatches))
    } else {
      try startStage(.distillation, step: step)
    }
    var clock = CheckpointClock(options.checkpoints)
    func checkpoint() throws {
      try writeStageCheckpoint(key, StageSnapshot(state: s, networks: ["student": distiller.student], optimizer: distiller.optimizer))
    }
    while s.epoch < d.maxEpochs {
      if s.minibatchInEpoch == 0 {
        if d.restartEpochs > 0 && s.epoch - s.startEpoch == d.restartEpochs {
          distiller = freshDistiller()
          s.start += 1
          s.startEpoch = s.epoch
        }
        distiller.optimizer.learningRate = config.learningRate(sizeFraction: fraction, epoch: s.epoch - s.startEpoch)
        try refillBuffer(using: &s.rng)
        if d.recycleDormantUnits { s.recycled += recycleDormantUnits(of: &distiller.student, using: &s.recyclingRNG) }
      }
      while s.minibatchInEpoch < d.minibatchesPerEpoch {
        s.lossSum += Double(distiller.step(on: buffer, using: &s.rng))
        s.minibatches += 1
        s.minibatchInEpoch += 1
        if s.minibatches % d.evaluationInterval == 0 {
          if d.recycleDormantUnits { s.recycled += recycleDormantUnits(of: &distiller.student, using: &s.recyclingRNG) }
          let score = try evaluate(distiller.student, episodes: d.evaluationEpisodes, seed: s.evaluationSeed)
          s.evaluationSeed &+= UInt64(d.evaluationEpisodes)
          var evaluation = StudentEvaluation(
            epoch: s.epoch, start: s.start, minibatch: s.minibatches, learningRate: distiller.optimizer.learningRate,
            mean: score.mean, std: score.std, recycledUnits: s.recycled, loss: s.lossSum / Double(d.evaluationInterval))
          s.lossSum = 0
          s.recycled = 0
          // One that meets the objective is tried on the acceptance episodes.
          let acceptance = score.mean >= config.objective ? try acceptanceEvaluation(distiller.student) : nil
          if let acceptance { evaluation.acceptance = AcceptanceTry(acceptance, passed: config.accepts(acceptance)) }
          s.evaluations.append(evaluation)
          events(.student(step: step, evaluation))
          if let acceptance, evaluation.acceptance?.passed == true {
            return StudentResult(
              accepted: distiller.student, acceptance: acceptance, evaluations: s.evaluations,
              epochs: s.epoch + 1, minibatches: s.minibatches)
          }
        }
        try stageBoundary(&clock, minibatches: s.minibatches, checkpoint: checkpoint)
      }
      s.epoch += 1
      s.minibatchInEpoch = 0
    }
    return StudentResult(
      accepted: nil, acceptance: nil, evaluations: s.evaluations, epochs: d.maxEpochs, minibatches: s.minibatches)
  }

  /// Re-initialises the hidden units of `student` that are dormant on 1,024
  /// states drawn from the buffer; returns how many there were.
  func recycleDormantUnits(of student: inout Network, using rng: inout SeededGenerator) -> Int {
    guard buffer.count > 0 else { return 0 }
    var states: [Float] = [], outputs: [Float] = []
    let n = min(1024, buffer.count)
    buffer.sample(n, states: &states, teacherOutputs: &outputs, using: &rng)
    let dormant = student.dormantUnits(on: states, batch: n)
    if !dormant.isEmpty { student.recycle(dormant, using: &rng) }
    return dormant.count
  }

  /// Records a distilled student in `step`: its training and, when it
  /// passed, its model file `step-N-student.safetensors`. Returns the
  /// accepted student.
  mutating func recordStudent(
    _ result: StudentResult, of architecture: Architecture, startedAt started: Date, in step: inout StepRecord
  ) throws -> Network? {
    var model: NetworkRecord? = nil
    if let accepted = result.accepted {
      let name = "step-\(step.index)-student.safetensors"
      try save(accepted, as: name, role: .student, score: result.acceptance)
      model = NetworkRecord(accepted, teacherWeights: teacherWeights, score: result.acceptance, model: name)
    }
    step.record(student: result, architecture: architecture, seconds: Date().timeIntervalSince(started), model: model)
    return result.accepted
  }
}
