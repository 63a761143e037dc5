import Foundation

/// One evaluation while a dense student is distilled.
public struct StudentEvaluation: Codable, Sendable, Equatable {
  public var epoch: Int
  public var minibatch: Int
  public var learningRate: Float
  public var mean: Double
  public var std: Double
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
}

/// Distils a randomly initialised dense `architecture` from `teacher`
/// (ALGORITHM.md section 6): epochs of refill + minibatches, evaluations
/// every `evaluation_interval` minibatches, and once an evaluation meets the
/// objective an acceptance evaluation on `acceptance_episodes` episodes that
/// must clear `acceptance_score` (see `PoPSConfig.accepts`). The learning rate follows the size rule.
public func distilStudent(
  _ architecture: Architecture, teacher: Network, config: PoPSConfig,
  environment: inout any Environment, evaluationEnvironment: inout any Environment,
  buffer: inout ExperienceBuffer, rng: inout SeededGenerator,
  report: (StudentEvaluation) -> Void = { _ in }
) -> StudentResult {
  let d = config.distillation
  var initRNG = rng.split()
  let student = Network(architecture, using: &initRNG)
  let fraction = Double(student.weightCount) / Double(teacher.weightCount)
  var distiller = Distiller(student: student, config: d, learningRate: config.learningRate(sizeFraction: fraction, epoch: 0))
  var evaluations: [StudentEvaluation] = []
  var minibatches = 0
  var evaluationSeed: UInt64 = 9_000_000
  for epoch in 0..<d.maxEpochs {
    distiller.optimizer.learningRate = config.learningRate(sizeFraction: fraction, epoch: epoch)
    buffer.refill(
      from: teacher, in: &environment, steps: config.experience.refillSteps,
      exploration: config.experience.exploration, using: &rng)
    for _ in 0..<d.minibatchesPerEpoch {
      distiller.step(on: buffer, using: &rng)
      minibatches += 1
      guard minibatches % d.evaluationInterval == 0 else { continue }
      let score = evaluate(distiller.student, in: &evaluationEnvironment, episodes: d.evaluationEpisodes, seed: evaluationSeed)
      evaluationSeed &+= UInt64(d.evaluationEpisodes)
      let record = StudentEvaluation(
        epoch: epoch, minibatch: minibatches, learningRate: distiller.optimizer.learningRate,
        mean: score.mean, std: score.std)
      evaluations.append(record)
      report(record)
      if score.mean >= config.objective {
        let acceptance = evaluate(
          distiller.student, in: &evaluationEnvironment, episodes: config.acceptanceEpisodes, seed: 123_456_789)
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
