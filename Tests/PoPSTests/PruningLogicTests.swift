import Foundation
import PoPS
import Testing

struct ScheduleTests {
  @Test func cubicScheduleMatchesTheFormula() {
    let s = PruningSchedule(initialSparsity: 0, finalSparsity: 0.99, beginStep: 0, endStep: 500_000)
    #expect(s.sparsity(at: 0) == 0)
    #expect(s.sparsity(at: -5) == 0)
    #expect(s.sparsity(at: 500_000) == 0.99)
    #expect(s.sparsity(at: 900_000) == 0.99)
    for t in [1, 1000, 125_000, 250_000, 499_999] {
      let expected = 0.99 + (0 - 0.99) * pow(1 - Double(t) / 500_000, 3)
      #expect(abs(s.sparsity(at: t) - expected) < 1e-12)
    }
    // Half way the cubic has already reached 7/8 of the final sparsity.
    #expect(abs(s.sparsity(at: 250_000) - 0.99 * 7 / 8) < 1e-12)
    let shifted = PruningSchedule(initialSparsity: 0.5, finalSparsity: 0.9, beginStep: 100, endStep: 200)
    #expect(shifted.sparsity(at: 50) == 0.5)
    #expect(abs(shifted.sparsity(at: 150) - (0.9 - 0.4 * 0.125)) < 1e-12)
  }
}

struct ControllerTests {
  @Test func pausesUnderTheLowerBoundAndResumesAboveTheObjective() {
    var c = PruningController(objective: 190, lowerBound: 80, badEvaluationsPerIteration: 5)
    let scripted: [(Double, Bool, Bool, Bool)] = [
      // score, save, paused after, end iteration
      (200, true, false, false),
      (150, false, false, false),  // between the bounds: keep pruning, don't save
      (70, false, true, false),  // under the lower bound: pause
      (120, false, true, false),  // recovering but not yet at the objective: stay paused
      (195, true, false, false),  // objective met: save and resume
      (10, false, true, false),
      (10, false, true, false),
      (10, false, true, false),
      (10, false, true, false),
      (10, false, true, true),  // fifth consecutive bad evaluation ends the iteration
    ]
    for (i, (score, save, paused, end)) in scripted.enumerated() {
      let d = c.observe(score: score)
      #expect(d.save == save, "evaluation \(i)")
      #expect(c.paused == paused, "evaluation \(i)")
      #expect(d.endIteration == end, "evaluation \(i)")
    }
  }

  @Test func anEvaluationBetweenTheBoundsResetsTheBadCount() {
    var c = PruningController(objective: 190, lowerBound: 80, badEvaluationsPerIteration: 3)
    for score in [50.0, 50, 100, 50, 50] {
      let ended = c.observe(score: score).endIteration
      #expect(!ended)
    }
    let r1 = c.observe(score: 50).endIteration
    #expect(r1)
    c.startIteration()
    #expect(c.paused, "a new iteration keeps the pause")
    let r2 = c.observe(score: 50).endIteration
    #expect(!r2)
  }

  @Test func ippStopsAfterFailingIterations() {
    var rule = IPPStopRule(patience: 3)
    let r3 = rule.endIteration(lastScore: 50, lowerBound: 80, nonZero: 100, frozen: false)
    #expect(!r3)
    let r4 = rule.endIteration(lastScore: 50, lowerBound: 80, nonZero: 90, frozen: false)
    #expect(!r4)
    let r5 = rule.endIteration(lastScore: 50, lowerBound: 80, nonZero: 80, frozen: false)
    #expect(r5)
  }

  @Test func ippStopsWhenFrozenWithoutChange() {
    var rule = IPPStopRule(patience: 2)
    let r6 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 100, frozen: true)
    #expect(!r6)
    let r7 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 100, frozen: true)
    #expect(!r7)
    let r8 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 90, frozen: false)
    #expect(!r8, "a change resets the count")
    let r9 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 90, frozen: true)
    #expect(!r9)
    let r10 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 90, frozen: true)
    #expect(r10)
  }
}

struct ShrinkTests {
  @Test func referenceCartPoleCase() {
    // ~84% redundancy per layer on 4-256-256-128-2, as the reference's first step found.
    let arch = Architecture.mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2)
    let shrunk = Redundancy.shrink(arch, redundancy: [0.84, 0.84, 0.84, 0.84], minimumWidth: 2)
    let widths = shrunk.hiddenWidths
    let weights = [4 * widths[0], widths[0] * widths[1], widths[1] * widths[2], widths[2] * 2]
    let targets = [1024.0, 65536, 32768, 256].map { $0 * 0.16 }
    // The large layers (99% of the weights) land within 5% of their targets.
    #expect(abs(Double(weights[1]) / targets[1] - 1) < 0.05, "\(widths)")
    #expect(abs(Double(weights[2]) / targets[2] - 1) < 0.05, "\(widths)")
    // The total is close to 16% of the teacher and the shape is kept (no bottleneck).
    let total = Double(weights.reduce(0, +))
    #expect(abs(total / 99_584 - 0.16) < 0.01, "\(widths)")
    #expect(abs(Double(widths[0]) / Double(widths[1]) - 1) < 0.1, "\(widths)")
    #expect(abs(Double(widths[1]) / Double(widths[2]) - 2) < 0.2, "\(widths)")
  }

  @Test func propertiesOnRandomStacks() {
    var rng = SeededGenerator(seed: 99)
    for trial in 0..<300 {
      let depth = 1 + rng.index(below: 5)
      let hidden = (0..<depth).map { _ in 2 + rng.index(below: 300) }
      let inputs = 1 + rng.index(below: 40), outputs = 1 + rng.index(below: 10)
      let arch = Architecture.mlp(inputs: inputs, hidden: hidden, outputs: outputs)
      let redundancy = (0...depth).map { _ in rng.nextUnitDouble() * 0.999 }
      let minimum = 1 + rng.index(below: 4)
      let shrunk = Redundancy.shrink(arch, redundancy: redundancy, minimumWidth: minimum)
      let before = Network(arch, parameters: arch.parameterShapes.map { Tensor(shape: $0) }).weightCount
      let after = Network(shrunk, parameters: shrunk.parameterShapes.map { Tensor(shape: $0) }).weightCount
      #expect(shrunk.inputCount == inputs && shrunk.outputCount == outputs)
      #expect(shrunk.hiddenWidths.count == depth)
      #expect(shrunk.hiddenWidths.allSatisfy { $0 >= minimum }, "trial \(trial)")
      let floor = Network(
        .mlp(inputs: inputs, hidden: hidden.map { _ in minimum }, outputs: outputs),
        parameters: Architecture.mlp(inputs: inputs, hidden: hidden.map { _ in minimum }, outputs: outputs)
          .parameterShapes.map { Tensor(shape: $0) }).weightCount
      #expect(after <= max(before, floor), "trial \(trial): \(after) > \(before)")
    }
  }

  @Test func uniformRedundancyShrinksEveryHiddenLayer() {
    var arch = Architecture.mlp(inputs: 8, hidden: [64, 64, 64], outputs: 4)
    for _ in 0..<3 {
      let next = Redundancy.shrink(arch, redundancy: [0.75, 0.75, 0.75, 0.75], minimumWidth: 2)
      #expect(zip(next.hiddenWidths, arch.hiddenWidths).allSatisfy { $0 < $1 }, "\(arch.hiddenWidths) -> \(next.hiddenWidths)")
      arch = next
    }
  }

  @Test func solverHandlesConvLikeMultipliers() {
    // A conv stack: 4 -> c1 (8x8), c1 -> c2 (4x4), c2 * 49 -> fc, fc -> 3.
    let layers = [
      ShrinkLayer(input: .fixed(4), output: .hidden(0), multiplier: 64, target: 8192 * 0.2),
      ShrinkLayer(input: .hidden(0), output: .hidden(1), multiplier: 16, target: 32768 * 0.2),
      ShrinkLayer(input: .hidden(1), output: .hidden(2), multiplier: 49, target: 1_605_632 * 0.2),
      ShrinkLayer(input: .hidden(2), output: .fixed(3), multiplier: 1, target: 1536 * 0.2),
    ]
    let solution = ShrinkSolver.solve(layers: layers, previousWidths: [32, 64, 512], cap: 1_648_128, minimumWidth: 1)
    #expect(solution.total <= 1_648_128)
    #expect(abs(Double(solution.weights[2]) / (1_605_632 * 0.2) - 1) < 0.05, "\(solution)")
  }
}

struct ConfigTests {
  @Test func yamlOverridesFieldsAndKeepsTheRest() throws {
    let preset = try PoPSConfig.preset(for: "CartPole-v0")
    let config = try preset.overridden(byYAML: "objective: 150\npruning:\n  end_step: 1234\nteacher:\n  dqn:\n    hidden: [8, 8]\n", source: "t.yaml")
    #expect(config.objective == 150)
    #expect(config.pruning.endStep == 1234)
    #expect(config.teacher.dqn.hidden == [8, 8])
    #expect(config.pruning.frequency == preset.pruning.frequency)
    #expect(config.distillation == preset.distillation)
  }

  func expectError(_ yaml: String, _ text: String) throws {
    let preset = try PoPSConfig.preset(for: "CartPole-v0")
    do {
      _ = try preset.overridden(byYAML: yaml, source: "bad.yaml")
      Issue.record("expected an error containing \(text)")
    } catch let error as ConfigError {
      #expect(error.description.contains(text), "\(error.description)")
      #expect(error.description.hasPrefix("bad.yaml: "))
    }
  }

  @Test func unknownAndIllTypedFieldsAreNamed() throws {
    try expectError("objectiv: 3\n", "unknown field 'objectiv'")
    try expectError("pruning:\n  end_stp: 3\n", "unknown field 'pruning.end_stp'")
    try expectError("pruning:\n  end_step: many\n", "field 'pruning.end_step' must be an integer, got 'many'")
    try expectError("pruning:\n  end_step: 2.5\n", "field 'pruning.end_step' must be an integer")
    try expectError("teacher:\n  dqn:\n    huber_loss: 3\n", "field 'teacher.dqn.huber_loss' must be a boolean")
    try expectError("distillation:\n  decay_epochs: [1, x]\n", "field 'distillation.decay_epochs' must be an integer list")
    try expectError("pruning: 5\n", "'pruning' must be a mapping")
    try expectError("objective: 10\nlower_bound: 20\n", "objective (10.0) must be above lower_bound")
    try expectError("- a\n- b\n", "top level must be a mapping")
    try expectError("teacher:\n  algorithm: a2c\n", "field 'teacher.algorithm' must be one of dqn, ppo, got 'a2c'")
    try expectError("teacher:\n  algorithm: 3\n", "field 'teacher.algorithm' must be one of dqn, ppo")
  }

  @Test func overridesAreCheckedTogetherInAnyOrder() throws {
    let config = try PoPSConfig.resolved(for: "CartPole-v0", file: nil, assignments: ["objective=9", "lower_bound=5"])
    #expect(config.objective == 9 && config.lowerBound == 5)
    let error = #expect(throws: ConfigError.self) {
      try PoPSConfig.resolved(for: "CartPole-v0", file: nil, assignments: ["objective=9", "pruning.patience=2"])
    }
    #expect(error?.description == "override 'objective=9', override 'pruning.patience=2': objective (9.0) must be above lower_bound (80.0)")
  }

  @Test func theTeacherAlgorithmIsAChoice() throws {
    let preset = try PoPSConfig.preset(for: "CartPole-v0")
    #expect(preset.yaml.contains("  algorithm: \"dqn\"\n"))
    let ppo = try preset.overridden(byYAML: "teacher:\n  algorithm: ppo\n", source: "t.yaml")
    #expect(ppo.teacher.algorithm == .ppo)
  }

  @Test(arguments: ["CartPole-v1", "Catch-v0"])
  func yamlShowRoundTrips(_ id: String) throws {
    let preset = try PoPSConfig.preset(for: id)
    let again = try preset.overridden(byYAML: preset.yaml, source: "show")
    #expect(again == preset)
    #expect(preset.yaml.contains("double_q_learning: true"))
  }

  @Test func convolutionsAreAListOfTriples() throws {
    let preset = try PoPSConfig.preset(for: "Catch-v0")
    #expect(preset.yaml.contains("convolutions: [[16, 3, 1]]"))
    let config = try preset.overridden(byYAML: "teacher:\n  dqn:\n    convolutions: [[8, 3, 1], [4, 3, 2]]\n", source: "t.yaml")
    #expect(config.teacher.dqn.convolutions == [[8, 3, 1], [4, 3, 2]])
    try expectError("teacher:\n  dqn:\n    convolutions: [8, 3, 1]\n", "must be a list of integer lists")
  }

  @Test func learningRateFollowsTheSizeRule() throws {
    var config = try PoPSConfig.preset(for: "CartPole-v0")
    config.distillation.baseLearningRate = 1e-5
    config.distillation.sizeExponent = 1
    config.distillation.maxLearningRate = 1e-3
    config.distillation.decayEpochs = [20, 50]
    config.distillation.decayFactors = [0.5, 0.2]
    #expect(abs(config.learningRate(sizeFraction: 1, epoch: 0) - 1e-5) < 1e-12)
    #expect(abs(config.learningRate(sizeFraction: 0.1, epoch: 0) - 1e-4) < 1e-10)
    #expect(abs(config.learningRate(sizeFraction: 0.001, epoch: 0) - 1e-3) < 1e-9, "clamped at the maximum")
    #expect(abs(config.learningRate(sizeFraction: 0.1, epoch: 25) - 5e-5) < 1e-10)
    #expect(abs(config.learningRate(sizeFraction: 0.1, epoch: 60) - 2e-5) < 1e-10)
  }
}

struct AcceptanceTests {
  @Test func acceptanceNeedsAMarginOfStandardErrors() throws {
    var config = try PoPSConfig.preset(for: "LunarLander-v3")
    config.acceptanceScore = 200
    config.acceptanceConfidence = 1
    // mean 205, std 100 over 100 episodes: standard error 10, so 205 - 10 < 200.
    let lucky = EvaluationResult(returns: (0..<100).map { $0 % 2 == 0 ? 105 : 305 }, lengths: [])
    #expect(abs(lucky.mean - 205) < 1e-9 && abs(lucky.std - 100) < 1e-9)
    #expect(!config.accepts(lucky))
    let solid = EvaluationResult(returns: (0..<100).map { $0 % 2 == 0 ? 200 : 240 }, lengths: [])
    #expect(config.accepts(solid), "mean 220, standard error 2")
    config.acceptanceConfidence = 0
    #expect(config.accepts(lucky))
    let perfect = EvaluationResult(returns: [Double](repeating: 200, count: 100), lengths: [])
    config.acceptanceConfidence = 3
    #expect(config.accepts(perfect), "CartPole's perfect students pass whatever the margin")
  }
}

struct ConvShrinkTests {
  static let nature = Architecture.natureCNN(actions: 3)

  func weights(_ a: Architecture) -> [Int] { a.parameterShapes.filter { $0.count >= 2 }.map { $0.reduce(1, *) } }

  @Test func natureCNNShrinksChannelsAndWidth() {
    let before = weights(Self.nature)
    let shrunk = Redundancy.shrink(Self.nature, redundancy: [0.8, 0.8, 0.8, 0.8, 0.8], minimumWidth: 4)
    #expect(shrunk.validationError() == nil, "\(shrunk.validationError() ?? "")")
    let after = weights(shrunk)
    #expect(after.reduce(0, +) < before.reduce(0, +))
    // fc1 holds 95% of the weights: it must land near 20% of its size.
    #expect(abs(Double(after[3]) / (Double(before[3]) * 0.2) - 1) < 0.1, "\(shrunk.summary)")
    #expect(shrunk.outputShapes[5] == [shrunk.outputShapes[4][0], 7, 7], "spatial sizes do not change")
    #expect(shrunk.outputCount == 3 && shrunk.inputShape == [4, 84, 84])
  }

  @Test func randomConvStacksKeepTheSolverInvariants() {
    var rng = SeededGenerator(seed: 5)
    for trial in 0..<100 {
      let c1 = 2 + rng.index(below: 30), c2 = 2 + rng.index(below: 30), fc = 2 + rng.index(below: 200)
      let arch = Architecture(
        inputShape: [1 + rng.index(below: 4), 12, 12],
        layers: [
          .conv2d(.init(inChannels: 0, outChannels: c1, kernel: 3, stride: 2, padding: .same)), .relu,
          .conv2d(.init(inChannels: c1, outChannels: c2, kernel: 3)), .relu,
          .flatten, .linear(inputs: c2 * 16, outputs: fc), .relu, .linear(inputs: fc, outputs: 4),
        ])
      let fixed = Redundancy.resized(arch, widths: [c1, c2, fc])  // fills in the input channels
      #expect(fixed.validationError() == nil, "trial \(trial): \(fixed.validationError() ?? "")")
      let redundancy = (0..<4).map { _ in rng.nextUnitDouble() * 0.99 }
      let minimum = 1 + rng.index(below: 3)
      let shrunk = Redundancy.shrink(fixed, redundancy: redundancy, minimumWidth: minimum)
      #expect(shrunk.validationError() == nil, "trial \(trial)")
      let hidden = Redundancy.problem(shrunk, redundancy: redundancy).widths
      #expect(hidden.allSatisfy { $0 >= minimum }, "trial \(trial): \(hidden)")
      let floor = weights(Redundancy.resized(fixed, widths: [minimum, minimum, minimum])).reduce(0, +)
      #expect(weights(shrunk).reduce(0, +) <= max(weights(fixed).reduce(0, +), floor), "trial \(trial)")
    }
  }
}
