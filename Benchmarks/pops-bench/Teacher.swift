import Foundation
import PoPS

/// `pops-bench teacher [seeds=0,1,2] [steps=N] [key=value ...]`: trains a
/// CartPole-v0 DQN teacher per seed with the default recipe (or overrides)
/// and reports time to solve and the final 100-episode evaluation.
func benchTeacher(_ arguments: [String]) {
  var seeds: [UInt64] = [0, 1, 2]
  var steps = 100_000
  var config = DQNConfig()
  for argument in arguments {
    let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { fatalError("expected key=value, got \(argument)") }
    let (key, value) = (parts[0], parts[1])
    switch key {
    case "seeds": seeds = value.split(separator: ",").map { UInt64($0)! }
    case "steps": steps = Int(value)!
    case "lr": config.learningRate = Float(value)!
    case "batch": config.batchSize = Int(value)!
    case "train_freq": config.trainFrequency = Int(value)!
    case "target": config.targetUpdateInterval = Int(value)!
    case "polyak": config.polyakTau = Float(value)!
    case "eps_steps": config.epsilonDecaySteps = Int(value)!
    case "eval": config.evaluationInterval = Int(value)!
    case "starts": config.learningStarts = Int(value)!
    case "buffer": config.bufferSize = Int(value)!
    case "double": config.doubleQLearning = value == "1"
    case "huber": config.huberLoss = value == "1"
    case "clip": config.maxGradientNorm = Float(value)!
    case "hidden": config.hidden = value.split(separator: ",").map { Int($0)! }
    default: fatalError("unknown key \(key)")
    }
  }
  for seed in seeds {
    var options = try! TeacherTrainingOptions(
      environment: "CartPole-v0",
      output: FileManager.default.temporaryDirectory.appendingPathComponent("pops-bench-teacher-\(seed)"),
      seed: seed, steps: steps)
    options.dqn = config
    let start = now()
    do {
      let result = try trainTeacher(options)
      let elapsed = now() - start
      let model = try ModelFile.load(from: URL(fileURLWithPath: result.bestModel))
      let check = try evaluate(model.network, environment: "CartPole-v0", episodes: 100, seed: 777)
      line(
        "teacher CartPole-v0 seed \(seed)",
        String(
          format: "%@ at step %d in %.0f s; best.safetensors on 100 fresh episodes: mean %.1f",
          result.solved ? "solved" : "NOT solved", result.steps, elapsed, check.mean))
    } catch {
      print("seed \(seed): \(error)")
    }
  }
}
