import Foundation
import PoPS
import Testing

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
