import ArgumentParser
import Foundation
import PoPS

/// Options shared by `pops run` and `pops compress`.
struct PoPSRunOptions: ParsableArguments {
  @Option(help: "Environment id.")
  var env = "CartPole-v0"

  @Option(help: "Output folder; re-running with the same folder resumes the run.")
  var out: String

  @Option(help: "Random seed.")
  var seed: UInt64 = 0

  @Option(help: "YAML file overriding fields of the environment's preset (see `pops config show ENV`).")
  var config: String?

  @Option(name: .customLong("set"), help: "Override one field, e.g. --set pruning.end_step=20000 (repeatable; applied after --config).")
  var overrides: [String] = []

  @Option(help: "full (PoPS), prune-only (IPP baseline: a sparse model) or distill-only (a fixed student, needs --hidden).")
  var mode = "full"

  @Option(help: "Hidden widths of the distill-only student, e.g. 16,16,8.")
  var hidden: String?

  func validate() throws {
    guard PoPSMode(rawValue: mode) != nil else {
      throw ValidationError("--mode must be one of \(PoPSMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(mode)'")
    }
    if mode == "distill-only" && hidden == nil { throw ValidationError("--mode distill-only needs --hidden, e.g. --hidden 16,16,8") }
    if let hidden, parseHidden(hidden) == nil { throw ValidationError("--hidden must be positive integers separated by commas, got '\(hidden)'") }
  }

  func parseHidden(_ text: String) -> [Int]? {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
    return parts.map { $0! }
  }

  /// The preset, then the file, then --set overrides.
  func resolvedConfig() throws -> PoPSConfig {
    try PoPSConfig.resolved(for: env, file: config, assignments: overrides)
  }

  func run(teacher: String?) throws {
    var options = PoPSOptions(
      config: try resolvedConfig(), output: URL(fileURLWithPath: out), seed: seed,
      teacher: teacher.map { URL(fileURLWithPath: $0) })
    options.mode = PoPSMode(rawValue: mode)!
    options.studentHidden = hidden.flatMap(parseHidden)
    print("pops: \(options.mode.rawValue) on \(env), seed \(seed) -> \(out)")
    let line = ProgressLine()
    let start = Date()
    let record = try runPoPS(options) { event in
      let clock = formatDuration(Date().timeIntervalSince(start))
      switch event {
      case .message(let text):
        line.update("[\(clock)] \(text)", permanent: true)
      case .teacherTraining(let p):
        var text = String(
          format: "[%@] teacher step %d/%d  return(100) %.1f  %.0f upd/s  ETA %@",
          clock, p.step, p.totalSteps, p.meanReturn, p.updatesPerSecond, formatDuration(p.eta))
        if let e = p.evaluation { text += String(format: "  | eval %.1f", e.mean) }
        line.update(text)
      case .pruning(let step, let e):
        line.update(String(
          format: "[%@] step %d IPP iter %d  minibatch %d  sparsity %.2f%%  score %.1f +- %.1f%@%@",
          clock, step, e.iteration + 1, e.minibatch, 100 * e.sparsity, e.mean, e.std,
          e.paused ? "  (paused)" : "", e.saved ? "  saved" : ""))
      case .student(let step, let e):
        line.update(String(
          format: "[%@] step %d student epoch %d  minibatch %d  lr %.2g  score %.1f +- %.1f",
          clock, step, e.epoch + 1, e.minibatch, e.learningRate, e.mean, e.std))
      }
    }
    line.finish()
    if let final = record.final {
      print(String(
        format: "done: %@ with %d weights (%.3f%% of the teacher), mean return %.2f over %d episodes",
        final.architecture, final.nonZeroPerLayer.reduce(0, +), final.sizePercent, final.scoreMean ?? 0, final.scoreEpisodes ?? 0))
    }
    print("stopped: \(record.stopReason ?? "-")")
    print("report: \(URL(fileURLWithPath: out).appendingPathComponent("report.html").path)")
  }
}

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a teacher (unless --teacher is given), then compress it with PoPS.",
    discussion: "Writes results.json, results.csv, SVG plots, report.html and final.safetensors into --out.")

  @OptionGroup var options: PoPSRunOptions

  @Option(help: "A trained teacher model; omitted: train one with the preset's teacher recipe.")
  var teacher: String?

  func run() throws { try options.run(teacher: teacher) }
}

struct Compress: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compress a trained teacher with PoPS.",
    discussion: "Writes results.json, results.csv, SVG plots, report.html and final.safetensors into --out.")

  @Option(help: "The trained teacher model (.safetensors).")
  var teacher: String

  @OptionGroup var options: PoPSRunOptions

  func run() throws { try options.run(teacher: teacher) }
}

struct Config: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show an environment's built-in PoPS configuration.",
    subcommands: [Show.self])

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the preset (and overrides) as YAML.")

    @Argument(help: "Environment id.")
    var env: String

    @Option(help: "A YAML file of overrides to apply first.")
    var config: String?

    func run() throws {
      var preset = try PoPSConfig.preset(for: env)
      if let file = config {
        preset = try preset.overridden(byYAML: try String(contentsOfFile: file, encoding: .utf8), source: file)
      }
      print(preset.yaml, terminator: "")
    }
  }
}
