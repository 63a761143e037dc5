import Foundation

/// Settings of a `pops train` run.
public struct TeacherTrainingOptions: Sendable {
  /// Environment id, e.g. `CartPole-v0`.
  public var environment: String
  /// The output folder (created; files are replaced atomically).
  public var output: URL
  public var seed: UInt64
  /// Environment-step budget.
  public var steps: Int
  /// Stop as soon as a greedy evaluation reaches `threshold` (and, with
  /// `acceptance`, the network passes it).
  public var stopAtThreshold = true
  /// The greedy score that stops training (or, with `acceptance`, that sends
  /// the network to the gate); nil: the environment's reward threshold
  /// (Atari games have none: training then runs its whole budget).
  public var threshold: Double? = nil
  /// The teacher gate of `pops run`: a network whose greedy evaluation reached
  /// the threshold must also pass this acceptance evaluation (the rule
  /// students face) before training stops; it is saved as
  /// `accepted.safetensors`. Training goes on otherwise, within `steps`.
  public var acceptance: TeacherAcceptance?
  /// The algorithm and its settings (`steps` here is ignored: see `steps`).
  public var teacher: PoPSConfig.TeacherConfig
  /// Environment steps between checkpoints (`checkpoint.safetensors` in the
  /// output folder; PPO checkpoints after the rollout that crosses each
  /// multiple); 0 turns them off.
  public var checkpointInterval = 100_000
  /// Continue from the output folder's checkpoint instead of starting over
  /// (`steps` stays the total budget).
  public var resume = false

  /// Options with the environment's preset teacher recipe.
  public init(environment: String, output: URL, seed: UInt64, steps: Int) throws {
    self.environment = environment
    self.output = output
    self.seed = seed
    self.steps = steps
    teacher = try PoPSConfig.preset(for: environment).teacher
  }

  /// The checkpoint's file name inside the output folder.
  public static let checkpointFile = "checkpoint.safetensors"

  /// The DQN settings (used when `teacher.algorithm` is `dqn`).
  public var dqn: DQNConfig {
    get { teacher.dqn }
    set { teacher.dqn = newValue }
  }
}

/// An acceptance evaluation a teacher must pass: `episodes` greedy episodes
/// from episode seed `seed`, judged by `accepts`.
public struct TeacherAcceptance: Sendable {
  public var episodes: Int
  public var seed: UInt64
  public var accepts: @Sendable (EvaluationResult) -> Bool

  public init(episodes: Int, seed: UInt64, accepts: @escaping @Sendable (EvaluationResult) -> Bool) {
    self.episodes = episodes
    self.seed = seed
    self.accepts = accepts
  }
}

/// What a teacher training run produced.
public struct TeacherTrainingResult: Codable, Sendable {
  public var environment: String
  public var seed: UInt64
  public var steps: Int
  public var updates: Int
  /// Training time, across resumed runs for DQN.
  public var seconds: Double
  /// The best greedy evaluation seen (mean over `evaluationEpisodes`).
  public var bestEvaluation: EvaluationResult?
  /// True when the best evaluation reached the environment's threshold.
  public var solved: Bool
  public var bestModel: String
  public var finalModel: String
  /// With a gate: the acceptance evaluation of the network that passed it,
  /// and its file; nil when none did.
  public var acceptance: EvaluationResult? = nil
  public var acceptedModel: String? = nil
}

/// Trains a teacher (DQN or PPO, as `options.teacher.algorithm` says) and writes `metrics.csv`, `evaluations.jsonl`,
/// `best.safetensors` (best greedy evaluation), `final.safetensors` and
/// `training.json` into the output folder.
public func trainTeacher(
  _ options: TeacherTrainingOptions, progress: (TrainingProgress) -> Void = { _ in }
) throws -> TeacherTrainingResult {
  let spec = try Environments.spec(for: options.environment)
  let threshold = options.threshold ?? spec.rewardThreshold
  if let problem = options.teacher.dqn.validationError() { throw EnvironmentError(description: "DQN config: \(problem)") }
  if let problem = options.teacher.ppo.validationError() { throw EnvironmentError(description: "PPO config: \(problem)") }
  let algorithm = options.teacher.algorithm
  let seeds = Seeds(run: options.seed)
  guard options.steps > 0 else { throw EnvironmentError(description: "the teacher's step budget must be positive, got \(options.steps)") }
  guard options.checkpointInterval >= 0 else {
    throw EnvironmentError(description: "the checkpoint interval must be >= 0, got \(options.checkpointInterval)")
  }
  let checkpointURL = options.output.appendingPathComponent(TeacherTrainingOptions.checkpointFile)
  let metricsURL = options.output.appendingPathComponent("metrics.csv")
  let curveURL = options.output.appendingPathComponent("curve.svg")
  let evaluationsURL = options.output.appendingPathComponent("evaluations.jsonl")
  // Read the checkpoint before anything is started or written.
  var resumeFrom: TensorArchive? = nil
  if options.resume {
    guard FileManager.default.fileExists(atPath: checkpointURL.path) else {
      throw EnvironmentError(description: "no checkpoint to resume from at \(checkpointURL.path)")
    }
    resumeFrom = try TensorArchive.read(from: checkpointURL)
    for (key, expected) in [("environment", options.environment), ("seed", String(options.seed))] {
      guard resumeFrom!.metadata[key] == expected else {
        throw EnvironmentError(
          description: "\(checkpointURL.path) was made with \(key) \(resumeFrom!.metadata[key] ?? "?"), not \(expected)")
      }
    }
  }
  // Environment 0 of the training (it also tells the spaces); evaluations play in their own.
  var firstEnvironment: (any Environment)? = try Environments.make(
    options.environment, seed: seeds.teacherEnvironment(0, for: algorithm))
  var evalEnv = try Environments.make(options.environment, seed: seeds.evaluationEnvironment)
  let space = firstEnvironment!.observationSpace
  let actionCount = firstEnvironment!.actionSpace.count
  if let problem = Resources.teacherProblem(options.teacher, observationSpace: space) {
    throw EnvironmentError(description: "\(options.environment): \(problem)")
  }
  try FileManager.default.createDirectory(at: options.output, withIntermediateDirectories: true)
  var agent = try makeTeacherAgent(
    options.teacher, observationSpace: space, actionCount: actionCount, seed: seeds.run, resumingFrom: resumeFrom)
  var best: EvaluationResult? = nil
  if let archive = resumeFrom {
    // Rows logged after the checkpoint belong to work that is redone now.
    // metrics.csv holds numbers only (no quoted line breaks), so a line is a record.
    let steps = agent.steps
    try LineLog.keepRows(of: metricsURL, header: true) { line in
      (CSV.records(in: line).first?.first.flatMap { Int($0) } ?? 0) <= steps
    }
    try LineLog.keepRows(of: evaluationsURL, header: false) { line in
      guard let row = try? JSONDecoder().decode(EvaluationRow.self, from: Data(line.utf8)) else { return false }
      return row.step <= steps
    }
    if let text = archive.metadata["best_evaluation"] {
      best = try? JSONDecoder().decode(EvaluationResult.self, from: Data(text.utf8))
    }
  }
  let metrics = try LineLog(
    url: metricsURL,
    header: CSV.line([
      "step", "episodes", "mean_return_100", "epsilon", "loss", "updates", "updates_per_s", "steps_per_s", "elapsed_s",
    ]),
    append: options.resume)
  let evaluations = try LineLog(url: evaluationsURL, header: nil, append: options.resume)
  let bestURL = options.output.appendingPathComponent("best.safetensors")
  let finalURL = options.output.appendingPathComponent("final.safetensors")
  var saveError: Error? = nil
  // Set when a loss or a weight stops being finite: training stops there.
  var diverged: (step: Int, what: String)? = nil
  var lastReportedStep = 0
  // The gate's acceptance evaluations play in their own environment.
  var gateEnvironment: (any Environment)? = options.acceptance == nil
    ? nil : try Environments.make(options.environment, seed: seeds.evaluationEnvironment)
  let acceptedURL = options.output.appendingPathComponent("accepted.safetensors")
  var accepted: EvaluationResult? = nil

  func provenance(_ role: ModelRole, _ evaluation: EvaluationResult?, steps: Int, updates: Int) -> Provenance {
    var summary = ["steps": String(steps), "updates": String(updates), "algorithm": algorithm.rawValue]
    if let e = evaluation {
      summary["eval_mean"] = String(format: "%.2f", e.mean)
      summary["eval_std"] = String(format: "%.2f", e.std)
      summary["eval_episodes"] = String(e.episodes)
    }
    return Provenance(environment: options.environment, seed: options.seed, role: role.name, summary: summary)
  }

  func handle(_ report: TrainingProgress) -> Bool {
    lastReportedStep = report.step
    if !report.loss.isFinite {
      diverged = (report.step, "the loss is \(report.loss)")
      return false
    }
    // A log line that cannot be written (a full disk) stops training with the reason.
    do {
      try metrics.append(CSV.line(
        [String(report.step), String(report.episodes), String(format: "%.3f", report.meanReturn),
         String(format: "%.4f", report.epsilon ?? 0), String(format: "%.5g", report.loss), String(report.updates),
         String(format: "%.1f", report.updatesPerSecond), String(format: "%.1f", report.stepsPerSecond),
         String(format: "%.2f", report.elapsed)]))
      if let evaluation = report.evaluation {
        try evaluations.append(
          "{\"step\":\(report.step),\"mean\":\(evaluation.mean),\"std\":\(evaluation.std),\"min\":\(evaluation.min),\"max\":\(evaluation.max),\"episodes\":\(evaluation.episodes)}")
      }
    } catch {
      saveError = error
      return false
    }
    if let evaluation = report.evaluation {
      if best == nil || evaluation.mean > best!.mean {
        best = evaluation
        do {
          let about = provenance(.teacherBest(algorithm), evaluation, steps: report.step, updates: report.updates)
          try ModelFile.save(Model(network: report.network, provenance: about, input: space.encoding), to: bestURL)
        } catch {
          saveError = error
          return false
        }
      }
    }
    progress(report)
    guard options.stopAtThreshold, let e = report.evaluation, e.mean >= threshold else { return true }
    guard let gate = options.acceptance else { return false }
    // The gate: stop only once the network also passes the acceptance evaluation.
    let score: EvaluationResult
    do {
      score = try evaluate(report.network, in: &gateEnvironment!, episodes: gate.episodes, seed: gate.seed)
    } catch {
      saveError = error
      return false
    }
    guard gate.accepts(score) else { return true }
    do {
      let about = provenance(.teacherAccepted(algorithm), score, steps: report.step, updates: report.updates)
      try ModelFile.save(Model(network: report.network, provenance: about, input: space.encoding), to: acceptedURL)
    } catch {
      saveError = error
    }
    accepted = score
    return false
  }

  func saveCheckpoint(_ checkpoint: TensorArchive) -> Bool {
    // A diverged agent never replaces the last finite checkpoint.
    for (name, array) in checkpoint.arrays.sorted(by: { $0.key < $1.key }) {
      if case .float(let values) = array, let bad = values.firstIndex(where: { !$0.isFinite }) {
        diverged = (lastReportedStep, "\(name)[\(bad)] is \(values[bad]) in the checkpoint after it")
        return false
      }
    }
    var archive = checkpoint
    archive.metadata["environment"] = options.environment
    archive.metadata["seed"] = String(options.seed)
    if let best, let data = try? JSONEncoder().encode(best) {
      archive.metadata["best_evaluation"] = String(decoding: data, as: UTF8.self)
    }
    do {
      try archive.write(to: checkpointURL)
      try AtomicFile.write(Data(try trainingCurve(folder: options.output).utf8), to: curveURL)
      return true
    } catch {
      saveError = error
      return false
    }
  }
  let remaining = options.steps - agent.steps
  if remaining > 0 {
    try agent.learn(
      makeEnvironment: { index in
        if index == 0, let made = firstEnvironment {
          firstEnvironment = nil
          return made
        }
        return try Environments.make(options.environment, seed: seeds.teacherEnvironment(index, for: algorithm))
      },
      totalSteps: remaining, evaluationEnvironment: &evalEnv, evaluationSeed: Seeds.teacherEvaluations,
      checkpointInterval: options.checkpointInterval, callback: handle, onCheckpoint: saveCheckpoint)
  }
  let policy = agent.policy
  let (steps, updates, seconds) = (agent.steps, agent.updates, agent.trainingSeconds)
  if let saveError { throw saveError }
  if let diverged {
    let kept = [checkpointURL, bestURL].filter { FileManager.default.fileExists(atPath: $0.path) }.map(\.lastPathComponent)
    throw EnvironmentError(
      description: "training diverged at step \(diverged.step): \(diverged.what); nothing non-finite was written\(kept.isEmpty ? "" : " (kept: \(kept.joined(separator: ", ")), from before)"); lower teacher.\(algorithm.rawValue).learning_rate, or clip gradients with teacher.\(algorithm.rawValue).max_gradient_norm")
  }
  try ModelFile.save(
    Model(
      network: policy, provenance: provenance(.teacherFinal(algorithm), nil, steps: steps, updates: updates),
      input: space.encoding), to: finalURL)
  if best == nil {
    // No evaluation ran (tiny budget): the final model is the best we have.
    best = try evaluate(policy, in: &evalEnv, episodes: agent.evaluationEpisodes, seed: Seeds.teacherEvaluations)
    try ModelFile.save(
      Model(
        network: policy, provenance: provenance(.teacherBest(algorithm), best, steps: steps, updates: updates),
        input: space.encoding), to: bestURL)
  }
  let result = TeacherTrainingResult(
    environment: options.environment, seed: options.seed, steps: steps, updates: updates,
    seconds: seconds, bestEvaluation: best,
    solved: (best?.mean ?? -.infinity) >= threshold,
    bestModel: bestURL.path, finalModel: finalURL.path, acceptance: accepted,
    acceptedModel: accepted == nil ? nil : acceptedURL.path)
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  encoder.keyEncodingStrategy = .convertToSnakeCase  // as results.json
  try AtomicFile.write(try encoder.encode(result), to: options.output.appendingPathComponent("training.json"))
  try AtomicFile.write(Data(try trainingCurve(folder: options.output).utf8), to: curveURL)
  return result
}

/// The agent `teacher.algorithm` names, new or continuing from `archive`.
/// Byte observations (pixels up to 255) are stored compactly by DQN.
func makeTeacherAgent(
  _ teacher: PoPSConfig.TeacherConfig, observationSpace space: BoxSpace, actionCount: Int, seed: UInt64,
  resumingFrom archive: TensorArchive?
) throws -> any TeacherAgent {
  let observationCount = space.low.count
  switch teacher.algorithm {
  case .dqn:
    let high = space.high.max() ?? 255
    let observationHigh: Float = high.isFinite && high > 0 && high < 1e6 ? high : 255
    if let archive {
      return try DQN(
        resumingFrom: archive, config: teacher.dqn, observationCount: observationCount, actionCount: actionCount,
        observationShape: space.shape, observationHigh: observationHigh)
    }
    return DQN(
      config: teacher.dqn, observationCount: observationCount, actionCount: actionCount, seed: seed,
      observationShape: space.shape, observationHigh: observationHigh)
  case .ppo:
    if let archive {
      return try PPO(
        resumingFrom: archive, config: teacher.ppo, observationCount: observationCount, actionCount: actionCount,
        observationShape: space.shape)
    }
    return PPO(
      config: teacher.ppo, observationCount: observationCount, actionCount: actionCount, seed: seed,
      observationShape: space.shape)
  }
}

/// The learning curve of a `pops train` folder as SVG: the mean return of the
/// last 100 training episodes (metrics.csv) and each greedy evaluation
/// (evaluations.jsonl) against environment steps. `pops train` writes it as
/// `curve.svg` at every checkpoint and at the end; `pops plot` redraws it for
/// a run in progress.
public func trainingCurve(folder: URL) throws -> String {
  let metricsURL = folder.appendingPathComponent("metrics.csv")
  guard let metrics = try? String(contentsOf: metricsURL, encoding: .utf8) else {
    throw EnvironmentError(description: "\(metricsURL.path): cannot read the file (not a pops train folder?)")
  }
  var training: [(x: Double, y: Double)] = []
  // Line by line: a damaged line (a stray quote) loses that point, not the rest.
  for line in metrics.split(separator: "\n").dropFirst() {
    guard let fields = CSV.records(in: String(line)).first else { continue }
    guard fields.count > 2, let step = Double(fields[0]), let episodes = Int(fields[1]), episodes > 0,
      let mean = Double(fields[2])
    else { continue }
    training.append((step, mean))
  }
  var greedy: [(x: Double, y: Double)] = []
  if let text = try? String(contentsOf: folder.appendingPathComponent("evaluations.jsonl"), encoding: .utf8) {
    struct Row: Decodable { var step: Int; var mean: Double }
    for line in text.split(separator: "\n") {
      if let row = try? JSONDecoder().decode(Row.self, from: Data(line.utf8)) { greedy.append((Double(row.step), row.mean)) }
    }
  }
  var plot = SVGPlot(title: "Teacher training: \(folder.lastPathComponent)", xLabel: "environment steps", yLabel: "return")
  plot.series = [
    .init(name: "training, mean of 100", points: training, color: "#1f77b4"),
    .init(name: "greedy evaluation", points: greedy, color: "#d62728", lines: false),
  ]
  return plot.svg
}

/// The part of an `evaluations.jsonl` line that resuming needs.
struct EvaluationRow: Codable {
  var step: Int
}

/// An append-only text log (CSV or JSON lines), flushed line by line so a
/// killed run keeps everything up to its last report.
final class LineLog {
  private let output: FileOutput

  /// Starts the log afresh, or with `append` continues an existing one.
  init(url: URL, header: String?, append: Bool = false) throws {
    if !append || !FileManager.default.fileExists(atPath: url.path) {
      try AtomicFile.write(header.map { Data(($0 + "\n").utf8) } ?? Data(), to: url)
    }
    output = try FileOutput(appendingTo: url.path)
  }

  /// Rewrites the log at `url` (atomically) keeping the header line, if it
  /// has one, and the rows for which `keep` is true. A missing log is left alone.
  static func keepRows(of url: URL, header: Bool, where keep: (String) -> Bool) throws {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    let first = header && !lines.isEmpty ? [lines.removeFirst()] : []
    let kept = first + lines.filter(keep)
    try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
  }

  /// Appends one line; a failure names the log and the reason.
  func append(_ line: String) throws {
    try output.write(Data((line + "\n").utf8))
  }
}
