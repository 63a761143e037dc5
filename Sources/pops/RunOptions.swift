import ArgumentParser
import Foundation
import PoPS

extension PoPSMode: ExpressibleByArgument {}
extension ObjectiveSource: ExpressibleByArgument {}

/// Options shared by `pops run` and `pops compress`.
struct PoPSRunOptions: ParsableArguments {
  @Option(help: "Environment id, or gym:ID for any Gymnasium environment (run: default CartPole-v0; compress: default the one recorded in the teacher).")
  var env: String?

  @Option(help: "Output folder: a new or empty one, or an earlier run's, which re-running resumes (a folder of other files is refused).")
  var out: String

  @Option(parsing: .unconditional, help: "Random seed.")
  var seed: UInt64 = 0

  @Option(help: "YAML file overriding fields of the environment's preset (see `pops config show ENV`).")
  var config: String?

  @Option(name: .customLong("set"), help: "Override one field, e.g. --set pruning.end_step=20000 (repeatable; applied after --config).")
  var overrides: [String] = []

  @Option(help: "full (PoPS), prune-only (IPP baseline: a sparse model) or distill-only (a fixed student, needs --hidden).")
  var mode = PoPSMode.full

  @Option(help: "Hidden widths of the distill-only student, e.g. 16,16,8.")
  var hidden: String?

  @Option(help: "environment: students must meet the environment's objective (a teacher under it is refused); teacher: they must do as well as the teacher's own measured score.")
  var objective = ObjectiveSource.environment

  @Option(help: "Also write the run's metrics as TensorBoard event files into this folder (view: tensorboard --logdir DIR).")
  var tensorboard: String?

  @Option(help: "How often IPP and distillation save stage-checkpoint.safetensors in --out, so a killed run continues inside its stage: a duration (30s, 5m, 1h), a number of minibatches (2000), or 0 for never.")
  var checkpointEvery = "5m"

  @Flag(help: "Print the result as one JSON object on stdout; progress goes to stderr.")
  var json = false

  /// `--checkpoint-every` as an interval (nil: not one).
  static func checkpointInterval(_ text: String) -> StageCheckpointInterval? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
    if let unit = text.last, let scale = units[unit], let value = Double(text.dropLast()), value.isFinite, value > 0 {
      return .seconds(value * scale)
    }
    guard let count = Int(text), count >= 0 else { return nil }
    return count == 0 ? .never : .minibatches(count)
  }

  func validate() throws {
    if out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out must name a folder, got an empty path") }
    if let tensorboard, tensorboard.trimmingCharacters(in: .whitespaces).isEmpty {
      throw ValidationError("--tensorboard must name a folder, got an empty path")
    }
    if mode == .distillOnly && hidden == nil { throw ValidationError("--mode distill-only needs --hidden, e.g. --hidden 16,16,8") }
    if hidden != nil && mode != .distillOnly {
      throw ValidationError("--hidden sets the student of --mode distill-only; \(mode.rawValue) finds the architectures itself")
    }
    if Self.checkpointInterval(checkpointEvery) == nil {
      throw ValidationError(
        "--checkpoint-every takes a duration (30s, 5m, 1h), a number of minibatches (2000) or 0 (never), got '\(checkpointEvery)'")
    }
    if let hidden, parseHidden(hidden) == nil { throw ValidationError("--hidden must be positive integers separated by commas, got '\(hidden)'") }
  }

  func parseHidden(_ text: String) -> [Int]? {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
    return parts.map { $0! }
  }

  /// Runs PoPS in `environment` with the preset, then the file, then --set
  /// overrides, printing progress.
  func run(environment: String, teacher: String?) throws {
    let config = try PoPSConfig.resolved(for: environment, file: self.config, assignments: overrides)
    // Never over someone else's files: only a new, empty or earlier pops run folder.
    try OutputFolder.check(URL(fileURLWithPath: out), markers: OutputFolder.runMarkers, writes: "results, models and logs")
    var options = PoPSOptions(
      config: config, output: URL(fileURLWithPath: out), seed: seed,
      teacher: teacher.map { URL(fileURLWithPath: $0) })
    options.mode = mode
    options.objective = objective
    options.studentHidden = hidden.flatMap(parseHidden)
    options.tensorBoard = tensorboard.map { URL(fileURLWithPath: $0) }
    options.checkpoints = Self.checkpointInterval(checkpointEvery) ?? .standard
    let line = ProgressLine(toStandardError: json)
    // Ctrl-C (or SIGTERM) once a stage has started: checkpoint, then stop.
    options.stopRequested = { StopSignal.number != nil }
    line.say("pops: \(mode.rawValue) on \(environment), seed \(seed) -> \(out)")
    // The console's lines also go to OUT/run.log (appended across resumes).
    line.log = URL(fileURLWithPath: out).appendingPathComponent("run.log")
    var logged = false
    let start = Date()
    // Where the current stage started (time, and its schedule step or minibatch), for its ETA.
    var stage = (time: Date(), first: -1)
    let pruning = config.pruning, distillation = config.distillation
    func report(_ event: PoPSEvent) {
      if !logged, FileManager.default.fileExists(atPath: out) {
        logged = true
        line.append("--- \(ISO8601DateFormatter().string(from: Date())): pops \(CommandLine.arguments.dropFirst().joined(separator: " "))")
      }
      let clock = formatDuration(Date().timeIntervalSince(start))
      switch event {
      case .teacherTraining(let p):
        var text = String(format: "[%@] teacher step %d/%d  return(100) %.1f", clock, p.step, p.totalSteps, p.meanReturn)
        text += p.updates == 0
          ? "  collecting experience before the first update"
          : String(format: "  %.0f upd/s  budget ETA %@", p.updatesPerSecond, formatDuration(p.eta))
        if let e = p.evaluation { text += String(format: "  | eval %.1f", e.mean) }
        line.update(text)
      case .pruning(let step, let e):
        // The pruning schedule's progress: IPP keeps going after it (to its
        // objective, lower bound and patience), so the ETA is the schedule's.
        if stage.first < 0 { stage = (Date(), e.scheduleStep) }
        let schedule = e.scheduleStep < pruning.endStep
          ? "schedule \(e.scheduleStep)/\(pruning.endStep) ETA "
            + eta(done: e.scheduleStep - stage.first, left: pruning.endStep - e.scheduleStep, since: stage.time)
          : "schedule done"
        line.update(String(
          format: "[%@] step %d IPP iter %d/%d  minibatch %d  sparsity %.2f%%  score %.1f +- %.1f  %@%@%@",
          clock, step, e.iteration + 1, pruning.maxIterations, e.minibatch, 100 * e.sparsity, e.mean, e.std, schedule,
          e.paused ? "  (paused)" : "", e.saved ? "  saved" : ""))
      case .student(let step, let e):
        // Distillation runs until the student passes or max_epochs: the ETA is an upper bound.
        if stage.first < 0 { stage = (Date(), e.minibatch) }
        let total = distillation.maxEpochs * distillation.minibatchesPerEpoch
        // An acceptance try stays on screen: a failed one is why a good score did not end the stage.
        let tried = e.acceptance.map { "  acceptance " + $0.summary }
        line.update(String(
          format: "[%@] step %d student epoch %d/%d  minibatch %d/%d  lr %.2g  score %.1f +- %.1f  ETA <= %@%@",
          clock, step, e.epoch + 1, distillation.maxEpochs, e.minibatch, total, e.learningRate, e.mean, e.std,
          eta(done: e.minibatch - stage.first, left: total - e.minibatch, since: stage.time), tried ?? ""),
          permanent: tried != nil)
      case .pruningStarted, .distillationStarted, .sizeSearch:
        StopSignal.install()
        stage = (Date(), -1)
        line.update("[\(clock)] \(event)", permanent: true)
      default:
        line.update("[\(clock)] \(event)", permanent: true)
      }
    }
    let record: PoPSRecord
    do {
      record = try runPoPS(options, events: report)
    } catch let stopped as RunStopped {
      line.finish()
      line.say("stopped at a stage checkpoint (\(stopped.checkpoint.lastPathComponent)); run the same command again to continue")
      throw ExitCode(128 + (StopSignal.number ?? SIGINT))
    }
    line.finish()
    let say = line.say
    if let final = record.final {
      say(String(
        format: "done: %@ with %d weights (%.3f%% of the teacher), mean return %.2f over %d episodes",
        final.architecture, final.nonZeroPerLayer.reduce(0, +), final.sizePercent, final.scoreMean ?? 0, final.scoreEpisodes ?? 0))
    }
    say("stopped: \(record.stopReason?.description ?? "-")")
    say("report: \(URL(fileURLWithPath: out).appendingPathComponent("report.html").path)")
    if json { print(summaryJSON(record)) }
    if record.status == .noStudent {
      say("no student was accepted: the result is the teacher itself (status no-student)")
      throw ExitCode(3)
    }
  }
}

/// The time `left` more units take at the rate `done` units took since `since` ("?" before any).
func eta(done: Int, left: Int, since: Date) -> String {
  let elapsed = Date().timeIntervalSince(since)
  guard done > 0, elapsed > 0 else { return "?" }
  return formatDuration(Double(max(left, 0)) * elapsed / Double(done))
}

extension PoPSRunOptions {
  /// The --json summary: status, why it stopped, the teacher and the final network, where the files are.
  func summaryJSON(_ record: PoPSRecord) -> String {
    func network(_ n: NetworkRecord?) -> Any {
      guard let n else { return NSNull() }
      var object: [String: Any] = [
        "architecture": n.architecture, "weights": n.weights, "non_zero_weights": n.nonZeroPerLayer.reduce(0, +),
        "size_percent": n.sizePercent,
      ]
      if let m = n.scoreMean { object["score_mean"] = m }
      if let s = n.scoreStd { object["score_std"] = s }
      if let e = n.scoreEpisodes { object["episodes"] = e }
      if let file = n.model { object["model"] = URL(fileURLWithPath: out).appendingPathComponent(file).path }
      return object
    }
    let object: [String: Any] = [
      "status": record.status.rawValue, "stop_reason": record.stopReason?.description ?? NSNull(),
      "environment": record.environment, "mode": record.mode.rawValue, "seed": record.seed,
      "steps": record.steps.count, "wall_seconds": record.wallSeconds, "teacher": network(record.teacher),
      "final": network(record.final), "out": URL(fileURLWithPath: out).path,
      "report": URL(fileURLWithPath: out).appendingPathComponent("report.html").path,
    ]
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }
}
