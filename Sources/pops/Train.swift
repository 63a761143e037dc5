import ArgumentParser
import Foundation
import PoPS

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a teacher policy (DQN or PPO, from the environment's preset) and save it as a model file.",
    discussion: """
      Writes into --out: best.safetensors (best greedy evaluation), final.safetensors,
      metrics.csv, evaluations.jsonl and training.json. Stops early once a greedy
      evaluation reaches the environment's reward threshold.

      Examples:
        pops train --env CartPole-v0 --out runs/teacher --seed 0
        pops train --env "gym:ALE/Pong-v5?actions=1,2,3" --out runs/pong --checkpoint-every 100000 --resume
      """)

  @Option(help: "Environment id (\(Environments.specs.map(\.id).joined(separator: ", ")), or gym:ID for any Gymnasium environment).")
  var env = "CartPole-v0"

  @Option(help: "Output folder: a new or empty one, or an earlier `pops train` folder (a folder of other files is refused).")
  var out: String

  @Option(parsing: .unconditional, help: "Random seed (same seed, same run).")
  var seed: UInt64 = 0

  @Option(parsing: .unconditional, help: "Environment-step budget (default: the preset's teacher.steps).")
  var steps: Int?

  @Option(
    name: [.customLong("episodes"), .customLong("eval-episodes")], parsing: .unconditional,
    help: "Episodes per greedy evaluation (default: the preset's; --eval-episodes is the same flag).")
  var evalEpisodes: Int?

  @Flag(help: "Keep training after reaching the reward threshold.")
  var noEarlyStop = false

  @Option(help: "YAML file overriding fields of the environment's preset (its teacher section is used).")
  var config: String?

  @Option(name: .customLong("set"), help: "Override one field, e.g. --set teacher.dqn.learning_rate=0.0001 (repeatable).")
  var overrides: [String] = []

  @Option(parsing: .unconditional, help: "Environment steps between checkpoints (checkpoint.safetensors in --out; 0: none).")
  var checkpointEvery = 100_000

  @Option(help: "Stop once a greedy evaluation reaches this mean return (default: the environment's reward threshold; Atari games have none, e.g. --stop-at 18 for Pong).")
  var stopAt: Double?

  @Flag(help: "Continue from --out's checkpoint (same --env, --seed and config); --steps stays the total budget.")
  var resume = false

  @Option(help: "Also write the training curves as TensorBoard event files into this folder (view: tensorboard --logdir DIR).")
  var tensorboard: String?

  @Flag(help: "Print the result as one JSON object on stdout; progress goes to stderr.")
  var json = false

  func validate() throws {
    if out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out must name a folder, got an empty path") }
    if let steps, steps <= 0 || steps > 1 << 40 { throw ValidationError("--steps must be in 1...2^40, got \(steps)") }
    if let evalEpisodes, evalEpisodes <= 0 { throw ValidationError("--episodes must be positive, got \(evalEpisodes)") }
    if let tensorboard, tensorboard.trimmingCharacters(in: .whitespaces).isEmpty {
      throw ValidationError("--tensorboard must name a folder, got an empty path")
    }
    if let stopAt, !stopAt.isFinite { throw ValidationError("--stop-at must be a finite number, got \(stopAt)") }
    if stopAt != nil && noEarlyStop { throw ValidationError("--stop-at and --no-early-stop contradict each other: give one") }
    if checkpointEvery < 0 { throw ValidationError("--checkpoint-every must be >= 0, got \(checkpointEvery)") }
    do { _ = try Environments.spec(for: env) } catch { throw ValidationError("--env: \(error)") }
  }

  func run() throws {
    let preset = try PoPSConfig.resolved(for: env, file: config, assignments: overrides)
    let budget = steps ?? preset.teacher.steps
    // Never over someone else's files: only a new, empty or earlier `pops train` folder.
    try OutputFolder.check(
      URL(fileURLWithPath: out), markers: OutputFolder.trainingMarkers, writes: "models, metrics.csv and evaluations.jsonl")
    var options = try TeacherTrainingOptions(
      environment: env, output: URL(fileURLWithPath: out), seed: seed, steps: budget)
    options.teacher = preset.teacher
    options.stopAtThreshold = !noEarlyStop
    options.threshold = stopAt
    options.checkpointInterval = checkpointEvery
    options.resume = resume
    if let evalEpisodes {
      options.teacher.dqn.evaluationEpisodes = evalEpisodes
      options.teacher.ppo.evaluationEpisodes = evalEpisodes
    }
    let spec = try Environments.spec(for: env)
    let threshold = noEarlyStop ? "no early stop"
      : stopAt.map { "stops at \($0)" }
      ?? (spec.rewardThreshold.isFinite ? "threshold \(spec.rewardThreshold)" : "no reward threshold: runs its whole budget unless --stop-at")
    let line = ProgressLine(toStandardError: json)
    line.say("pops train: \(options.teacher.algorithm.rawValue.uppercased()) on \(env) (\(threshold)), seed \(seed), up to \(budget) steps -> \(out)\(resume ? " (resuming)" : "")")
    let board = try tensorboard.map { try TensorBoardWriter(folder: URL(fileURLWithPath: $0)) }
    let result = try trainTeacher(options) { report in
      board?.write(teacher: report)
      var text = String(
        format: "step %7d/%d  episodes %5d  return(100) %7.2f", report.step, report.totalSteps, report.episodes,
        report.meanReturn)
      if let epsilon = report.epsilon { text += String(format: "  eps %.3f", epsilon) }
      // Before the first update the rates say nothing about the run (steps are nearly free).
      text += report.updates == 0
        ? "  collecting experience before the first update"
        : String(
          format: "  %5.0f upd/s  %5.0f steps/s  budget ETA %@", report.updatesPerSecond, report.stepsPerSecond,
          formatDuration(report.eta))
      if let e = report.evaluation { text += String(format: "  | greedy eval %.2f +- %.2f", e.mean, e.std) }
      line.update(text, permanent: report.evaluation != nil)
    }
    line.finish()
    let best = result.bestEvaluation.map { $0.summary } ?? "none"
    line.say("\(result.solved ? "solved" : "not solved"): best greedy evaluation \(best)")
    line.say(String(format: "%d steps, %d updates in %@", result.steps, result.updates, formatDuration(result.seconds)))
    line.say("models: \(result.bestModel), \(result.finalModel)")
    if json {
      var object: [String: Any] = [
        "environment": env, "seed": seed, "solved": result.solved, "steps": result.steps, "updates": result.updates,
        "seconds": result.seconds, "best_model": "\(result.bestModel)", "final_model": "\(result.finalModel)",
      ]
      if let e = result.bestEvaluation {
        object["best_evaluation"] = ["mean": e.mean, "std": e.std, "min": e.min, "max": e.max, "episodes": e.episodes]
      }
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    }
  }
}
