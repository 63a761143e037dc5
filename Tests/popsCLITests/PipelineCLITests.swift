import Foundation
import PoPS
import Testing

struct PipelineCLITests {
  @Test func configShowPrintsThePresetAsYAML() throws {
    let r = try pops(["config", "show", "CartPole-v0"])
    #expect(r.status == 0)
    for field in ["objective: 190.0", "lower_bound: 80.0", "final_sparsity: 0.99", "temperature: 0.1", "restart_epochs: 10", "recycle_dormant_units: true", "convergence_fraction: 0.2", "hidden: [256, 256, 128]"] {
      #expect(r.output.contains(field), "missing \(field)")
    }
    let unknown = try pops(["config", "show", "Pong-v9"])
    #expect(unknown.status != 0 && unknown.output.contains("unknown environment id 'Pong-v9'"))
  }

  @Test func badConfigurationsNameTheField() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let file = "\(folder)/bad.yaml"
    try "pruning:\n  frequncy: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
    let r = try pops(["run", "--env", "CartPole-v0", "--out", "\(folder)/out", "--config", file])
    #expect(r.status != 0 && r.output.contains("unknown field 'pruning.frequncy'"), "\(r.output)")
    let set = try pops(["run", "--out", "\(folder)/out", "--set", "objective=high"])
    #expect(set.status != 0 && set.output.contains("field 'objective' must be a number"), "\(set.output)")
    let mode = try pops(["run", "--out", "\(folder)/out", "--mode", "shrink-only"])
    #expect(mode.status != 0 && mode.output.contains("'shrink-only' is invalid for '--mode") && mode.output.contains("'prune-only'"), "\(mode.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/out/results.json"), "bad input changes nothing")
  }

  @Test func compressWithATinyBudgetWritesTheRunFolder() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var rng = SeededGenerator(seed: 3)
    let teacher = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    try ModelFile.save(Model(network: teacher, provenance: Provenance(environment: "CartPole-v0")), to: URL(fileURLWithPath: "\(folder)/t.safetensors"))
    try OutputFolderTests.tinyConfig.write(toFile: "\(folder)/tiny.yaml", atomically: true, encoding: .utf8)
    let r = try pops(["compress", "--teacher", "\(folder)/t.safetensors", "--env", "CartPole-v0", "--out", "\(folder)/out", "--config", "\(folder)/tiny.yaml"])
    #expect(r.status == 0, "\(r.output)")
    #expect(r.output.contains("report: "))
    for name in ["results.json", "results.csv", "report.html", "final.safetensors"] {
      #expect(FileManager.default.fileExists(atPath: "\(folder)/out/\(name)"), "missing \(name)")
    }
  }

  /// Without --env, compress uses the environment the teacher records (here
  /// CartPole-v1, not the CartPole-v0 that `pops run` defaults to), and a
  /// teacher that records none is refused before anything is written.
  @Test func compressTakesTheTeachersEnvironment() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var rng = SeededGenerator(seed: 3)
    let teacher = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    try ModelFile.save(Model(network: teacher, provenance: Provenance(environment: "CartPole-v1")), to: URL(fileURLWithPath: "\(folder)/t.safetensors"))
    try ModelFile.save(Model(network: teacher, provenance: Provenance(environment: nil)), to: URL(fileURLWithPath: "\(folder)/anonymous.safetensors"))
    let tiny = tinyOverrides(objective: 9, lowerBound: 5)
    let r = try pops(["compress", "--teacher", "\(folder)/t.safetensors", "--out", "\(folder)/out"] + tiny)
    #expect(r.status == 0 && r.output.contains("on CartPole-v1"), "\(r.output)")
    let record = try PoPSRecord.read(from: URL(fileURLWithPath: "\(folder)/out/results.json"))
    #expect(record.environment == "CartPole-v1" && record.config.objective == 9)
    let anonymous = try pops(["compress", "--teacher", "\(folder)/anonymous.safetensors", "--out", "\(folder)/out2"] + tiny)
    #expect(anonymous.status != 0 && anonymous.output.contains("records no environment; pass --env"), "\(anonymous.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/out2"))
    // A teacher that does not fit the environment named is refused, and nothing is written.
    let lander = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/results/lunarlander-v3/teacher.safetensors").path
    let misfit = try pops(["compress", "--teacher", lander, "--env", "CartPole-v0", "--out", "\(folder)/out3"] + tiny)
    #expect(misfit.status != 0 && misfit.output.contains("does not fit CartPole-v0"), "\(misfit.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/out3"), "a refused run leaves no folder")
  }

  /// Bring your own teacher: a Stable-Baselines3 zip imports, evaluates
  /// and compresses in one command each; a hostile file writes nothing.
  @Test func anSB3TeacherImportsEvaluatesAndCompresses() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("PoPSTests/Fixtures/import")
    let zip = fixtures.appendingPathComponent("sb3_dqn_mlp.zip").path
    let imported = try pops(["import", zip, "--out", "\(folder)/teacher.safetensors", "--env", "CartPole-v1"])
    #expect(imported.status == 0 && imported.output.contains("sb3, Stable-Baselines3 DQN -> 4-8-8-2"), "\(imported.output)")
    #expect(imported.output.contains("layers.0.weight <- q_net.q_net.0.weight") && imported.output.contains("warning: VecNormalize"))
    let model = try ModelFile.load(from: URL(fileURLWithPath: "\(folder)/teacher.safetensors"))
    #expect(model.provenance.environment == "CartPole-v1" && model.provenance.summary["source_format"] == "sb3")
    let evaluated = try pops(["evaluate", zip, "--env", "CartPole-v1", "--episodes", "3"])
    #expect(evaluated.status == 0 && evaluated.output.contains("CartPole-v1: mean"), "\(evaluated.output)")
    let tiny = tinyOverrides(objective: 5, lowerBound: 2)
    let run = try pops(["compress", "--teacher", zip, "--env", "CartPole-v1", "--out", "\(folder)/run"] + tiny)
    #expect(run.status == 0, "\(run.output)")
    let record = try PoPSRecord.read(from: URL(fileURLWithPath: "\(folder)/run/results.json"))
    #expect(record.teacherSource?.format == .sb3 && record.teacherSource?.file == zip)
    #expect(record.teacherSource?.sha256 == TeacherImport.sha256(of: try Data(contentsOf: URL(fileURLWithPath: zip))))
    #expect(record.teacherSource?.mapping.first == "q_net.q_net.0.weight")
    let evil = try pops(["import", fixtures.appendingPathComponent("evil_os_system.pt").path, "--out", "\(folder)/evil.safetensors"])
    #expect(evil.status != 0 && evil.output.contains("refuses global 'os system'"), "\(evil.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/evil.safetensors"))
    let misfit = try pops(["import", zip, "--out", "\(folder)/lander.safetensors", "--env", "LunarLander-v3"])
    #expect(misfit.status != 0 && misfit.output.contains("does not fit LunarLander-v3"), "\(misfit.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/lander.safetensors"))
  }

  /// pops export: C for the committed CartPole student with its footprint and
  /// latency; int8 checked in the environment first, refused under the objective.
  @Test func exportWritesCAndChecksInt8() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let student = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/results/cartpole-v0/final.safetensors").path
    let float = try pops(["export", student, "--format", "c", "--out", "\(folder)/c"])
    #expect(float.status == 0 && float.output.contains("4-2-4-2-2: 38 parameters"), "\(float.output)")
    #expect(float.output.contains("weights 152 bytes") && float.output.contains("us compiled with cc -std=c99 -O2"), "\(float.output)")
    let header = try String(contentsOfFile: "\(folder)/c/pops_policy.h", encoding: .utf8)
    #expect(header.contains("#define POPS_POLICY_OBSERVATIONS 4") && header.contains("#define POPS_POLICY_ACTIONS 2"))
    #expect(header.contains("int pops_policy_act(const float *observation);"))
    let int8 = try pops(["export", student, "--out", "\(folder)/c8", "--quantize", "int8", "--name", "cart"])
    #expect(int8.status == 0 && int8.output.contains("greedy actions agree with the float model"), "\(int8.output)")
    #expect(FileManager.default.fileExists(atPath: "\(folder)/c8/cart.c"))
    // An untrained network's int8 policy fails CartPole: refused, nothing written, unless forced.
    var rng = SeededGenerator(seed: 2)
    let random = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    try ModelFile.save(Model(network: random, provenance: Provenance(environment: "CartPole-v0")), to: URL(fileURLWithPath: "\(folder)/random.safetensors"))
    let refused = try pops(["export", "\(folder)/random.safetensors", "--out", "\(folder)/r", "--quantize", "int8", "--episodes", "5"])
    #expect(refused.status != 0 && refused.output.contains("under CartPole-v0's objective"), "\(refused.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/r"))
    let forced = try pops(["export", "\(folder)/random.safetensors", "--out", "\(folder)/r", "--quantize", "int8", "--episodes", "5", "--force"])
    #expect(forced.status == 0 && forced.output.contains("WARNING"), "\(forced.output)")
    let badName = try pops(["export", student, "--out", "\(folder)/n", "--name", "9lives"])
    #expect(badName.status != 0 && badName.output.contains("is not a C identifier"), "\(badName.output)")
  }

  /// Pong through the bridge at a tiny scale: a Nature-CNN DQN teacher for
  /// 400 steps (checkpointed and resumed), then PoPS shrinking its conv
  /// channels and fc width. Needs `make deps-gym` (part of `make test`).
  @Test func pongRunsEndToEndAtSmallScale() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let env = "gym:ALE/Pong-v5?actions=1,2,3"
    let config = """
      objective: -21
      lower_bound: -22
      acceptance_score: -21
      acceptance_episodes: 1
      teacher:
        dqn: {learning_starts: 100, buffer_size: 1000, evaluation_interval: 0, evaluation_episodes: 1}
      experience: {refill_steps: 300, capacity: 300}
      distillation: {minibatches_per_epoch: 20, max_epochs: 1, evaluation_interval: 10, evaluation_episodes: 1}
      pruning: {end_step: 20, frequency: 5, minibatches_per_iteration: 20, evaluation_interval: 10, evaluation_episodes: 1, max_iterations: 2, patience: 1}
      shrinking: {max_steps: 1}
      """
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try config.write(toFile: "\(folder)/pong.yaml", atomically: true, encoding: .utf8)
    let first = try pops([
      "train", "--env", env, "--out", "\(folder)/teacher", "--config", "\(folder)/pong.yaml", "--steps", "200",
      "--checkpoint-every", "200",
    ])
    #expect(first.status == 0, "\(first.output)")
    let resumed = try pops([
      "train", "--env", env, "--out", "\(folder)/teacher", "--config", "\(folder)/pong.yaml", "--steps", "400",
      "--checkpoint-every", "200", "--resume",
    ])
    #expect(resumed.status == 0 && resumed.output.contains("400 steps"), "\(resumed.output)")
    let curve = try String(contentsOfFile: "\(folder)/teacher/curve.svg", encoding: .utf8)
    #expect(curve.hasPrefix("<svg") && curve.contains("greedy evaluation"))
    let run = try pops([
      "compress", "--teacher", "\(folder)/teacher/best.safetensors", "--env", env, "--out", "\(folder)/out",
      "--config", "\(folder)/pong.yaml",
    ])
    #expect(run.status == 0, "\(run.output)")
    let final = try ModelFile.load(from: URL(fileURLWithPath: "\(folder)/out/final.safetensors"))
    let layers = final.network.architecture.layers
    #expect(final.network.architecture.inputShape == [4, 84, 84])
    // Frames enter as bytes scaled by 1/255: recorded in the teacher and passed on to the student.
    #expect(try ModelFile.load(from: URL(fileURLWithPath: "\(folder)/teacher/best.safetensors")).input == .bytes)
    #expect(final.input == .bytes)
    guard case .conv2d(let first) = layers[0] else {
      Issue.record("the student lost its first convolution: \(final.network.architecture.summary)")
      return
    }
    #expect(first.outChannels < 32, "conv channels were shrunk: \(final.network.architecture.summary)")
    #expect(final.network.weightCount < 1_000_000, "\(final.network.weightCount) weights")
  }
}

/// --set overrides for a PoPS run of a second or so: one IPP iteration, one
/// step, one epoch; students are accepted at `objective` over 3 episodes.
func tinyOverrides(objective: Int, lowerBound: Int) -> [String] {
  [
    "objective=\(objective)", "lower_bound=\(lowerBound)", "acceptance_score=\(objective)", "acceptance_episodes=3",
    "experience.refill_steps=300", "experience.capacity=600", "pruning.end_step=300",
    "pruning.minibatches_per_iteration=100", "pruning.max_iterations=1", "shrinking.max_steps=1",
    "distillation.minibatches_per_epoch=100", "distillation.max_epochs=1",
    "distillation.evaluation_interval=50", "pruning.evaluation_interval=50",
  ].flatMap { ["--set", $0] }
}
