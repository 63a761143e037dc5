import Foundation
import PoPS
import Testing

/// The teacher gate: a teacher whose greedy evaluation reached the threshold
/// trains on until it also passes the acceptance evaluation.
struct TeacherGateTests {
  func options(_ folder: URL, steps: Int = 30_000, gate: @escaping @Sendable (EvaluationResult) -> Bool) throws -> TeacherTrainingOptions {
    var options = try TeacherTrainingOptions(environment: "CartPole-v0", output: folder, seed: 0, steps: steps)
    options.dqn.evaluationEpisodes = 5
    options.acceptance = TeacherAcceptance(episodes: 10, seed: 123_456_789, accepts: gate)
    return options
  }

  @Test func aPassingTeacherStopsAtTheFirstThresholdAndIsSaved() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try trainTeacher(try options(folder) { _ in true })
    #expect(result.solved && result.steps < 30_000)
    let accepted = try #require(result.acceptedModel)
    #expect(result.acceptance?.episodes == 10)
    let model = try ModelFile.load(from: URL(fileURLWithPath: accepted))
    #expect(model.provenance.role == "dqn-teacher-accepted")
  }

  @Test func aTeacherThatNeverPassesTrainsOnAndIsNotAccepted() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var gated = try options(folder, steps: 8_000) { _ in false }
    gated.dqn.evaluationInterval = 1_000
    let result = try trainTeacher(gated)
    #expect(result.steps == 8_000, "the threshold alone does not stop training")
    #expect(result.solved, "a greedy evaluation reached the threshold: \(String(describing: result.bestEvaluation))")
    #expect(result.acceptedModel == nil && result.acceptance == nil)
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("accepted.safetensors").path))
  }

  /// A threshold of the run's own (Pong has no reward threshold; a config may
  /// accept less than the environment's): the gate sees the first evaluation
  /// that reaches it, and only its first.
  @Test func theGateIsTriedAtTheRunsThresholdNotOnlyTheEnvironments() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let tried = Tried()
    var options = try options(folder, steps: 20_000) { score in
      tried.add(score.mean)
      return true
    }
    options.dqn.learningStarts = 200
    options.dqn.evaluationInterval = 500
    options.threshold = 15
    let result = try trainTeacher(options)
    #expect(tried.values.count == 1, "\(tried.values)")
    let best = try #require(result.bestEvaluation)
    #expect(result.solved && best.mean >= 15)
    #expect(best.mean < 195, "it stopped before the environment's threshold: \(best.mean)")
    #expect(result.acceptedModel != nil)
  }
}

/// The scores a gate saw.
final class Tried: @unchecked Sendable {
  private let lock = NSLock()
  private var seen: [Double] = []
  func add(_ value: Double) { lock.lock(); seen.append(value); lock.unlock() }
  var values: [Double] { lock.lock(); defer { lock.unlock() }; return seen }
}
