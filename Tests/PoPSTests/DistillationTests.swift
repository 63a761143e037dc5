import Foundation
import PoPS
import Testing

struct ExperienceBufferTests {
  @Test func theRingKeepsTheNewestEntriesAndSamplesThemWhole() {
    var buffer = ExperienceBuffer(capacity: 3, observationCount: 2, actionCount: 2)
    for i in 0..<5 {
      let x = Float(i)
      buffer.add(state: [x, -x], teacherOutput: [10 * x, 100 * x], action: i % 2)
    }
    #expect(buffer.count == 3)
    var states: [Float] = [], outputs: [Float] = []
    var rng = SeededGenerator(seed: 1)
    buffer.sample(200, states: &states, teacherOutputs: &outputs, using: &rng)
    #expect(states.count == 400 && outputs.count == 400)
    var seen = Set<Float>()
    for b in 0..<200 {
      let x = states[2 * b]
      #expect(states[2 * b + 1] == -x, "a state stays whole")
      #expect(outputs[2 * b] == 10 * x && outputs[2 * b + 1] == 100 * x, "each state keeps its own teacher output")
      seen.insert(x)
    }
    #expect(seen == [2, 3, 4], "the two oldest entries were overwritten; every kept one is drawn")
  }

  @Test func aRefillStoresTheTeachersOutputForEveryVisitedState() throws {
    let teacher = handMadeTeacher()
    var env = try Environments.make("CartPole-v0", seed: 1)
    var buffer = ExperienceBuffer(capacity: 1_000, observationCount: 4, actionCount: 2)
    var rng = SeededGenerator(seed: 2)
    try buffer.refill(from: teacher, in: &env, steps: 300, exploration: 0, using: &rng)
    #expect(buffer.count == 300)
    var states: [Float] = [], outputs: [Float] = []
    buffer.sample(50, states: &states, teacherOutputs: &outputs, using: &rng)
    for b in 0..<50 {
      let state = Array(states[(4 * b)..<(4 * b + 4)])
      #expect(Array(outputs[(2 * b)..<(2 * b + 2)]) == teacher.predict(state))
    }
  }
}

struct DistillerTests {
  /// One minibatch on a one-entry buffer, checked against the KL gradient
  /// and the RMSProp step written out by hand for a 2-2 linear student.
  @Test func oneStepFollowsTheHandComputedKLGradient() throws {
    let w: [Float] = [0.5, -0.25, 0.125, 0.75]  // [out, in]
    let bias: [Float] = [0.1, -0.2]
    var student = Network(.mlp(inputs: 2, hidden: [], outputs: 2), parameters: [
      Tensor(shape: [2, 2], scalars: w), Tensor(shape: [2], scalars: bias),
    ])
    student.masks[0] = Tensor(shape: [2, 2], scalars: [1, 1, 0, 1])  // weight (1, 0) is pruned
    student.applyMasks()
    let x: [Float] = [1, -2]
    let teacherOutput: [Float] = [2, 0]
    var buffer = ExperienceBuffer(capacity: 1, observationCount: 2, actionCount: 2)
    buffer.add(state: x, teacherOutput: teacherOutput, action: 0)
    var config = try PoPSConfig.preset(for: "CartPole-v0").distillation
    config.temperature = 1
    config.epsilon = 1e-5
    config.batchSize = 3
    config.rho = 0.9
    let lr: Float = 0.01
    var distiller = Distiller(student: student, config: config, learningRate: lr)
    var rng = SeededGenerator(seed: 1)
    let loss = distiller.step(on: buffer, using: &rng)

    // By hand: z = W x + b, p_T = softmax(t / tau) + eps, p_S = softmax(z) + eps.
    let masked: [Double] = [0.5, -0.25, 0, 0.75]
    let z = [masked[0] * 1 + masked[1] * -2 + 0.1, masked[2] * 1 + masked[3] * -2 - 0.2]
    func softmax(_ v: [Double]) -> [Double] {
      let e = v.map { exp($0 - v.max()!) }
      return e.map { $0 / e.reduce(0, +) }
    }
    let q = softmax(z)
    let pT = softmax([2, 0]).map { $0 + 1e-5 }
    let pS = q.map { $0 + 1e-5 }
    let klPerSample = zip(pT, pS).map { $0 * log($0 / $1) }.reduce(0, +)
    #expect(abs(Double(loss) - 3 * klPerSample) < 1e-4, "the loss sums the KL over the batch")
    // dKL/dz_j = sum_i (-pT_i / pS_i) * q_i * (delta_ij - q_j)
    let dz = (0..<2).map { j in (0..<2).map { i in -pT[i] / pS[i] * q[i] * ((i == j ? 1 : 0) - q[j]) }.reduce(0, +) }
    let gradW = [3 * dz[0] * 1, 3 * dz[0] * -2, 3 * dz[1] * 1, 3 * dz[1] * -2]
    let gradB = [3 * dz[0], 3 * dz[1]]
    func rmsprop(_ p: Double, _ g: Double) -> Double { p - Double(lr) * g / ((0.1 * g * g).squareRoot() + 1e-7) }
    let expectedW = zip(masked, gradW).map(rmsprop)
    let expectedB = zip(bias.map(Double.init), gradB).map(rmsprop)
    let after = distiller.student.parameters
    for j in 0..<4 where j != 2 {
      #expect(abs(Double(after[0][j]) - expectedW[j]) < 1e-5, "weight \(j): \(after[0][j]) vs \(expectedW[j])")
    }
    #expect(after[0][2] == 0, "a pruned weight stays zero")
    for j in 0..<2 { #expect(abs(Double(after[1][j]) - expectedB[j]) < 1e-5, "bias \(j)") }
    // The step moves the student towards the teacher.
    let newZ = distiller.student.predict(x).map(Double.init)
    let newKL = zip(pT, softmax(newZ).map { $0 + 1e-5 }).map { $0 * log($0 / $1) }.reduce(0, +)
    #expect(newKL < klPerSample)
  }
}

/// IPP's loop as `PoPSRun.prune` runs it, on the hand-made teacher.
struct IPPLoopTests {
  func run(objective: Double, lowerBound: Double, folder: URL) throws -> PoPSRun {
    var config = try tinyConfig()
    config.objective = objective
    config.lowerBound = lowerBound
    config.pruning.maxIterations = 2
    config.pruning.patience = 5
    let teacherURL = try handMadeTeacherFile(in: folder)
    return try PoPSRun(PoPSOptions(config: config, output: folder, seed: 3, teacher: teacherURL))
  }

  @Test func scoresUnderTheLowerBoundPauseTheSchedule() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    // No policy scores 1000 on CartPole-v0: the first evaluation pauses pruning for good.
    var popsRun = try run(objective: 2_000, lowerBound: 1_000, folder: folder)
    let result = try popsRun.prune(popsRun.teacher, step: 1)
    let evaluations = result.evaluations
    #expect(evaluations.count >= 4)
    #expect(evaluations.allSatisfy(\.paused) && !evaluations.contains(where: \.saved))
    let frozen = evaluations[0].scheduleStep
    #expect(frozen == evaluations[0].minibatch, "the schedule ran until the first evaluation")
    #expect(evaluations.allSatisfy { $0.scheduleStep == frozen }, "then its step stays frozen")
    #expect(Set(evaluations.map(\.sparsity)).count == 1, "and no more weights are pruned")
    #expect(result.best == nil)
    #expect(result.stopReason == .maxIterations(2), "\(result.stopReason)")
  }

  @Test func scoresAtTheObjectiveKeepTheSparsestModel() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    // Every score meets an objective of -1: pruning never pauses, every evaluation is saved.
    var popsRun = try run(objective: -1, lowerBound: -2, folder: folder)
    let result = try popsRun.prune(popsRun.teacher, step: 1)
    let evaluations = result.evaluations
    #expect(evaluations.allSatisfy { !$0.paused && $0.saved && $0.scheduleStep == $0.minibatch })
    let sparsest = try #require(evaluations.map(\.sparsity).max())
    #expect(sparsest > 0.5)
    #expect(result.best?.sparsity == sparsest)
    #expect(result.bestScore?.mean == evaluations.last { $0.sparsity == sparsest }?.mean, "on a tie the later model")
  }

  @Test func theSparsestRuleKeepsTheSparserAndOnATieTheLater() {
    let score = EvaluationResult(returns: [1], lengths: [1])
    let later = EvaluationResult(returns: [2], lengths: [1])
    var dense = handMadeTeacher()
    var half = dense
    half.pruneByMagnitude(sparsity: 0.5)
    var rule = SparsestModel()
    let first = rule.offer(half, score: score)
    #expect(first)
    let denser = rule.offer(dense, score: later)
    #expect(!denser, "a denser model is not kept")
    #expect(rule.network?.sparsity == half.sparsity)
    let tie = rule.offer(half, score: later)
    #expect(tie, "an equally sparse later model replaces it")
    #expect(rule.score == later)
    dense.pruneByMagnitude(sparsity: 0.75)
    let sparser = rule.offer(dense, score: score)
    #expect(sparser && rule.network?.sparsity == dense.sparsity)
  }
}

/// A student's distillation records every acceptance evaluation it tried.
struct AcceptanceTryTests {
  @Test func everyAcceptanceEvaluationIsRecordedPassedOrFailed() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var config = try tinyConfig()
    // Every evaluation meets an objective of -1, so each one is tried on the
    // 20 acceptance episodes (a 2-unit student after 500 minibatches fails them
    // with this seed).
    config.objective = -1
    config.lowerBound = -2
    config.distillation.maxEpochs = 1
    let teacherURL = try handMadeTeacherFile(in: folder)
    var popsRun = try PoPSRun(PoPSOptions(config: config, output: folder, seed: 3, teacher: teacherURL))
    let result = try popsRun.distil(.mlp(inputs: 4, hidden: [2], outputs: 2), step: 1)
    // The student fails every try (with this seed): each of the two
    // evaluations of its one epoch is tried and recorded as failed.
    let evaluations = result.evaluations
    #expect(result.accepted == nil, "the 2-unit student was accepted")
    #expect(evaluations.count == 2)
    for (index, evaluation) in evaluations.enumerated() {
      let tried = try #require(evaluation.acceptance, "an evaluation meeting the objective was not tried")
      #expect(tried.episodes == 20)
      #expect(tried.passed == config.accepts(mean: tried.mean, std: tried.std, episodes: tried.episodes))
      #expect(tried.passed == (index == evaluations.count - 1 && result.accepted != nil))
    }
    // The same tries in metrics.jsonl.
    let lines = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
      .split(separator: "\n").filter { $0.contains("distillation_evaluation") }
    #expect(lines.count == evaluations.count)
    for (line, evaluation) in zip(lines, evaluations) {
      #expect(line.contains("\"acceptance_episodes\":20"))
      #expect(line.contains("\"acceptance_passed\":\(evaluation.acceptance?.passed == true ? 1 : 0)"))
    }
  }
}
