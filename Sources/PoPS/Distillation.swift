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
    var rng = seeds.generator(.experience, step: step &* 8 &+ Int(stage.rawValue))
    let refills = (config.experience.capacity + config.experience.refillSteps - 1) / config.experience.refillSteps
    for _ in 0..<refills { try refillBuffer(using: &rng) }
  }

  /// The teacher plays `experience.refill_steps` steps into the buffer.
  mutating func refillBuffer(using rng: inout SeededGenerator) throws {
    try buffer.refill(
      from: teacher, in: &environment, steps: config.experience.refillSteps,
      exploration: config.experience.exploration, using: &rng)
  }

  /// Distils a randomly initialised dense `architecture` from the teacher in
  /// PoPS step `step` (docs/algorithm.md section 6): epochs of refill +
  /// minibatches, evaluations every `evaluation_interval` minibatches, and
  /// once an evaluation meets the objective an acceptance evaluation on
  /// `acceptance_episodes` episodes that must clear `acceptance_score` (see
  /// `PoPSConfig.accepts`). The learning rate follows the size rule.
  public mutating func distil(_ architecture: Architecture, step: Int) throws -> StudentResult {
    let d = config.distillation
    try startStage(.distillation, step: step)
    var rng = seeds.generator(.distillation, step: step)
    var initRNG = rng.split()
    let fraction = Double(architecture.weightCount) / Double(teacherWeights)
    func freshDistiller() -> Distiller {
      Distiller(
        student: Network(architecture, using: &initRNG), config: d,
        learningRate: config.learningRate(sizeFraction: fraction, epoch: 0))
    }
    var distiller = freshDistiller()
    var start = 1, startEpoch = 0
    var evaluations: [StudentEvaluation] = []
    var minibatches = 0
    var lossSum = 0.0
    var recycled = 0
    var recyclingRNG = seeds.generator(.recycling, step: step)
    var evaluationSeed = Seeds.studentEvaluations
    for epoch in 0..<d.maxEpochs {
      if d.restartEpochs > 0 && epoch - startEpoch == d.restartEpochs {
        distiller = freshDistiller()
        start += 1
        startEpoch = epoch
      }
      distiller.optimizer.learningRate = config.learningRate(sizeFraction: fraction, epoch: epoch - startEpoch)
      try refillBuffer(using: &rng)
      if d.recycleDormantUnits { recycled += recycleDormantUnits(of: &distiller.student, using: &recyclingRNG) }
      for _ in 0..<d.minibatchesPerEpoch {
        lossSum += Double(distiller.step(on: buffer, using: &rng))
        minibatches += 1
        guard minibatches % d.evaluationInterval == 0 else { continue }
        if d.recycleDormantUnits { recycled += recycleDormantUnits(of: &distiller.student, using: &recyclingRNG) }
        let score = try evaluate(distiller.student, episodes: d.evaluationEpisodes, seed: evaluationSeed)
        evaluationSeed &+= UInt64(d.evaluationEpisodes)
        let evaluation = StudentEvaluation(
          epoch: epoch, start: start, minibatch: minibatches, learningRate: distiller.optimizer.learningRate,
          mean: score.mean, std: score.std, recycledUnits: recycled, loss: lossSum / Double(d.evaluationInterval))
        lossSum = 0
        recycled = 0
        evaluations.append(evaluation)
        events(.student(step: step, evaluation))
        if score.mean >= config.objective {
          let acceptance = try acceptanceEvaluation(distiller.student)
          if config.accepts(acceptance) {
            return StudentResult(
              accepted: distiller.student, acceptance: acceptance, evaluations: evaluations,
              epochs: epoch + 1, minibatches: minibatches)
          }
        }
      }
    }
    return StudentResult(accepted: nil, acceptance: nil, evaluations: evaluations, epochs: d.maxEpochs, minibatches: minibatches)
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
      try save(accepted, as: name, role: "pops-student", score: result.acceptance)
      model = NetworkRecord(accepted, teacherWeights: teacherWeights, score: result.acceptance, model: name)
    }
    step.record(student: result, architecture: architecture, seconds: Date().timeIntervalSince(started), model: model)
    return result.accepted
  }
}
