import Foundation
import PoPS
import Testing

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
