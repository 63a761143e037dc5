import Foundation
import PoPS
import Testing

/// Settings that trapped or aborted in the allocator (issue 13 case 2) are
/// clear errors naming the field, exit non-zero and write nothing.
struct HostileSettingsTests {
  static let cases: [(command: String, env: String, sets: [String], message: String)] = [
    ("run", "CartPole-v0", ["teacher.algorithm=ppo", "teacher.ppo.environments=4611686018427387904"], "environments x rolloutSteps must be at most 2^31"),
    ("train", "CartPole-v0", ["teacher.algorithm=ppo", "teacher.ppo.environments=40000", "teacher.ppo.rollout_steps=40000"], "teacher.ppo.environments x rollout_steps 1600000000 needs"),
    ("run", "CartPole-v0", ["distillation.batch_size=4611686018427387904"], "distillation.batch_size must be in 1...2^24"),
    ("train", "CartPole-v0", ["teacher.dqn.buffer_size=4611686018427387904"], "bufferSize must be in 1...2^40"),
    ("train", "CartPole-v0", ["teacher.dqn.buffer_size=1000000000000"], "teacher.dqn.buffer_size 1000000000000 needs"),
    ("run", "CartPole-v0", ["experience.capacity=1000000000000"], "experience.capacity 1000000000000 needs"),
    ("run", "CartPole-v0", ["distillation.base_learning_rate=.nan"], "'distillation.base_learning_rate' must be a finite number"),
    ("train", "CartPole-v0", ["teacher.dqn.learning_rate=.inf"], "'teacher.dqn.learning_rate' must be a finite number"),
    ("train", "CartPole-v0", ["teacher.dqn.convolutions=[[32,8,4]]"], "teacher.dqn.convolutions need image observations"),
    ("train", "Catch-v0", ["teacher.dqn.convolutions=[[16,30,1]]"], "has a 30x30 kernel but its input is"),
  ]

  @Test(arguments: 0..<cases.count)
  func aHostileSettingIsAClearErrorThatWritesNothing(_ index: Int) throws {
    let c = Self.cases[index]
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("pops-hostile-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let result = try pops([c.command, "--env", c.env, "--out", out] + c.sets.flatMap { ["--set", $0] })
    #expect(result.status != 0, "\(c.sets): exit 0\n\(result.output)")
    #expect(result.output.contains(c.message), "\(c.sets): \(result.output)")
    #expect(!result.output.contains("Fatal error") && !result.output.contains("Swift runtime failure"), "\(result.output)")
    #expect(!FileManager.default.fileExists(atPath: out), "\(c.sets): \(out) was created")
  }
}
