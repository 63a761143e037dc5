import Foundation
import PoPS
import Testing

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
