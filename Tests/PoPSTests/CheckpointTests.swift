import Foundation
import PoPS
import Testing

struct CheckpointTests {
  func options(_ folder: URL, steps: Int) throws -> TeacherTrainingOptions {
    var options = try TeacherTrainingOptions(environment: "CartPole-v0", output: folder, seed: 4, steps: steps)
    options.stopAtThreshold = false
    options.dqn.learningStarts = 200
    options.dqn.evaluationInterval = 500
    options.dqn.evaluationEpisodes = 3
    options.checkpointInterval = 500
    return options
  }

  /// An agent rebuilt from its checkpoint writes the same checkpoint back,
  /// and both then train identically.
  @Test func aRestoredAgentEqualsTheSavedOne() throws {
    for frames in [false, true] {
      var config = DQNConfig()
      config.hidden = [16]
      config.learningStarts = 50
      config.bufferSize = 300
      var shape: [Int]? = nil
      var count = 4
      var id = "CartPole-v0"
      if frames {
        config.convolutions = [[4, 3, 1]]
        config.frameStack = 1
        shape = [1, 10, 10]
        count = 100
        id = "Catch-v0"
      }
      var agent = DQN(
        config: config, observationCount: count, actionCount: frames ? 3 : 2, seed: 9, observationShape: shape,
        observationHigh: frames ? 1 : 255)
      var env = try Environments.make(id, seed: 1)
      var evalEnv = try Environments.make(id, seed: 2)
      try agent.learn(in: &env, totalSteps: 400, evaluationEnvironment: &evalEnv)
      let url = temporaryRunFolder().appendingPathComponent("checkpoint.safetensors")
      defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
      try agent.checkpoint().write(to: url)
      let archive = try TensorArchive.read(from: url)
      var restored = try DQN(
        resumingFrom: archive, config: config, observationCount: count, actionCount: agent.online.architecture.outputCount,
        observationShape: shape, observationHigh: frames ? 1 : 255)
      #expect(restored.checkpoint().arrays == agent.checkpoint().arrays, "frames \(frames)")
      #expect(restored.steps == 400 && restored.updates == agent.updates && restored.episodes == agent.episodes)
      var envA = try Environments.make(id, seed: 5), envB = try Environments.make(id, seed: 5)
      try agent.learn(in: &envA, totalSteps: 200, evaluationEnvironment: &evalEnv)
      try restored.learn(in: &envB, totalSteps: 200, evaluationEnvironment: &evalEnv)
      #expect(restored.online == agent.online, "the same updates after the restore (frames \(frames))")
    }
  }

  @Test func aStoppedTrainingRunResumesWhereItsCheckpointIs() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    // "Killed" after 1600 steps: its last checkpoint is at 1000.
    var killed = try options(folder, steps: 1_600)
    killed.checkpointInterval = 1_000
    _ = try trainTeacher(killed)
    var resumed = try options(folder, steps: 2_000)
    resumed.checkpointInterval = 1_000
    resumed.resume = true
    let result = try trainTeacher(resumed)
    #expect(result.steps == 2_000)
    let rows = try String(contentsOf: folder.appendingPathComponent("metrics.csv"), encoding: .utf8)
      .split(separator: "\n").dropFirst().map { Int($0.prefix { $0 != "," })! }
    #expect(rows == [500, 1_000, 1_500, 2_000], "the row at 1500 came after the checkpoint and was redone once: \(rows)")
    let evaluations = try String(contentsOf: folder.appendingPathComponent("evaluations.jsonl"), encoding: .utf8)
      .split(separator: "\n").count
    #expect(evaluations == 4, "evaluations at 500, 1000, 1500, 2000")
    let checkpoint = try TensorArchive.read(from: folder.appendingPathComponent("checkpoint.safetensors"))
    #expect(try checkpoint.int64s("counters")[0] == 2_000)
  }

  @Test func resumingRefusesMissingOrMismatchedCheckpoints() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var first = try options(folder, steps: 600)
    first.resume = true
    #expect(throws: (any Error).self) { try trainTeacher(first) }
    first.resume = false
    _ = try trainTeacher(first)
    var other = try options(folder, steps: 1_000)
    other.resume = true
    other.dqn.learningRate = 0.5
    do {
      _ = try trainTeacher(other)
      Issue.record("a different config was accepted")
    } catch {
      #expect("\(error)".contains("learning_rate"), "\(error)")
    }
    other = try options(folder, steps: 1_000)
    other.resume = true
    other.seed = 5
    do {
      _ = try trainTeacher(other)
      Issue.record("a different seed was accepted")
    } catch {
      #expect("\(error)".contains("seed"), "\(error)")
    }
    let corrupt = folder.appendingPathComponent("checkpoint.safetensors")
    try Data("not a checkpoint".utf8).write(to: corrupt)
    other.seed = 4
    do {
      _ = try trainTeacher(other)
      Issue.record("a corrupt checkpoint was accepted")
    } catch {
      #expect("\(error)".contains(corrupt.path), "\(error)")
    }
  }

  /// `pops run` killed while training its DQN teacher continues the teacher
  /// from its checkpoint when run again with the same folder.
  @Test func aPipelineKilledDuringTeacherTrainingResumesTheTeacher() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var config = try tinyConfig()
    config.teacher.steps = 1_000
    config.teacher.dqn.learningStarts = 200
    config.teacher.dqn.evaluationInterval = 500
    config.teacher.dqn.evaluationEpisodes = 2
    // The first run's teacher got to 600 steps (checkpoint at 500) before the kill.
    var killed = try TeacherTrainingOptions(
      environment: "CartPole-v0", output: folder.appendingPathComponent("teacher"), seed: 5, steps: 600)
    killed.teacher = config.teacher
    killed.checkpointInterval = 500
    _ = try trainTeacher(killed)
    var resumedFrom: [URL] = []
    // 1000 steps do not solve CartPole: the run then stops with an error, which is not under test here.
    _ = try? runPoPS(PoPSOptions(config: config, output: folder, seed: 5, teacher: nil)) { event in
      if case .resumingTeacher(let checkpoint) = event { resumedFrom.append(checkpoint) }
    }
    #expect(resumedFrom == [folder.appendingPathComponent("teacher/checkpoint.safetensors")], "\(resumedFrom)")
    let summary = try JSONSerialization.jsonObject(
      with: Data(contentsOf: folder.appendingPathComponent("teacher/training.json"))) as? [String: Any]
    #expect(summary?["steps"] as? Int == 1_000)
    // snake_case keys, as results.json (issue 15).
    #expect(summary?["best_model"] != nil && summary?["bestModel"] == nil, "\(summary ?? [:])")
    let rows = try String(contentsOf: folder.appendingPathComponent("teacher/metrics.csv"), encoding: .utf8)
      .split(separator: "\n").dropFirst().map { Int($0.prefix { $0 != "," })! }
    #expect(rows == [500, 1_000], "\(rows)")
  }
}
