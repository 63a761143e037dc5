import Foundation
import PoPS
import Testing

struct ConvPipelineTests {
  /// PoPS end to end on a convolutional teacher (the Catch pixel game):
  /// a short DQN run trains a CNN teacher, then a tiny-budget PoPS run must
  /// shrink its conv channels and hidden width and keep every invariant.
  @Test func popsShrinksAConvolutionalTeacher() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var config = try PoPSConfig.preset(for: "Catch-v0")
    config.teacher.steps = 8_000
    config.teacher.dqn.evaluationEpisodes = 50
    config.pruning.endStep = 3_000
    config.pruning.minibatchesPerIteration = 500
    config.pruning.evaluationInterval = 250
    config.pruning.evaluationEpisodes = 20
    config.pruning.maxIterations = 8
    config.pruning.patience = 2
    config.distillation.minibatchesPerEpoch = 500
    config.distillation.evaluationInterval = 250
    config.distillation.evaluationEpisodes = 20
    config.distillation.maxEpochs = 10
    // Batches of 32 (like the teacher's) split into at most two chunks: the
    // run, and the outcome asserted below, is the same on any machine with
    // two or more threads (POPS_THREADS=1 sums in another order).
    config.distillation.batchSize = 32
    config.experience.refillSteps = 1_000
    config.shrinking.maxSteps = 2
    config.objective = 0.8
    config.acceptanceScore = 0.8
    let record = try runPoPS(PoPSOptions(config: config, output: folder, seed: 1, teacher: nil))
    // With this seed both steps' students are accepted and the run is done.
    #expect(record.status == .done, "\(record.stopReason?.description ?? "-")")
    let teacher = try ModelFile.load(from: folder.appendingPathComponent("teacher.safetensors")).network
    #expect(teacher.architecture.summary == "1x10x10-c16k3s1-64-3")
    #expect(record.teacher!.scoreMean! >= 0.9, "the CNN teacher solves Catch")
    #expect(record.steps.count == 2 && record.steps.allSatisfy(\.studentAccepted), "\(record.steps.map(\.studentAccepted))")
    var weights = teacher.weightCount
    for step in record.steps {
      let pruned = try #require(step.pruned, "step \(step.index) kept no pruned model")
      #expect(step.redundancy.count == 3 && pruned.nonZeroPerLayer.reduce(0, +) < weights)
      let student = try #require(step.student, "step \(step.index) trained no student")
      #expect(student.weights < weights)
      #expect(student.architecture.hasPrefix("1x10x10-c"), "students stay convolutional: \(student.architecture)")
      weights = student.weights
    }
    let final = try ModelFile.load(from: folder.appendingPathComponent("final.safetensors")).network
    #expect(final.weightCount == record.final?.weights)
    guard case .conv2d(let c) = final.architecture.layers[0] else {
      Issue.record("the final network lost its convolution")
      return
    }
    #expect(c.outChannels < 16, "the conv channels were shrunk: \(final.architecture.summary)")
  }
}
