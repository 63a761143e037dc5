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
  /// Stop as soon as a greedy evaluation reaches the environment's threshold.
  public var stopAtThreshold = true
  /// The algorithm and its settings (`steps` here is ignored: see `steps`).
  public var teacher: PoPSConfig.TeacherConfig

  /// Options with the environment's preset teacher recipe.
  public init(environment: String, output: URL, seed: UInt64, steps: Int) throws {
    self.environment = environment
    self.output = output
    self.seed = seed
    self.steps = steps
    teacher = try PoPSConfig.preset(for: environment).teacher
  }

  /// The DQN settings (used when `teacher.algorithm` is `dqn`).
  public var dqn: DQNConfig {
    get { teacher.dqn }
    set { teacher.dqn = newValue }
  }
}

/// What a teacher training run produced.
public struct TeacherTrainingResult: Codable, Sendable {
  public var environment: String
  public var seed: UInt64
  public var steps: Int
  public var updates: Int
  public var seconds: Double
  /// The best greedy evaluation seen (mean over `evaluationEpisodes`).
  public var bestEvaluation: EvaluationResult?
  /// True when the best evaluation reached the environment's threshold.
  public var solved: Bool
  public var bestModel: String
  public var finalModel: String
}

/// Trains a teacher (DQN or PPO, as `options.teacher.algorithm` says) and writes `metrics.csv`, `evaluations.jsonl`,
/// `best.safetensors` (best greedy evaluation), `final.safetensors` and
/// `training.json` into the output folder.
public func trainTeacher(
  _ options: TeacherTrainingOptions, progress: (TrainingProgress) -> Void = { _ in }
) throws -> TeacherTrainingResult {
  let spec = try Environments.spec(for: options.environment)
  if let problem = options.teacher.dqn.validationError() { throw EnvironmentError(description: "DQN config: \(problem)") }
  if let problem = options.teacher.ppo.validationError() { throw EnvironmentError(description: "PPO config: \(problem)") }
  let algorithm = options.teacher.algorithm
  guard algorithm == "dqn" || algorithm == "ppo" else {
    throw EnvironmentError(description: "teacher algorithm must be dqn or ppo, got '\(algorithm)'")
  }
  precondition(options.steps > 0, "trainTeacher: steps must be positive, got \(options.steps)")
  var env = try Environments.make(options.environment, seed: options.seed)
  var evalEnv = try Environments.make(options.environment, seed: options.seed &+ 1)
  try FileManager.default.createDirectory(at: options.output, withIntermediateDirectories: true)
  let metrics = try LineLog(
    url: options.output.appendingPathComponent("metrics.csv"),
    header: "step,episodes,mean_return_100,epsilon,loss,updates,updates_per_s,steps_per_s,elapsed_s")
  let evaluations = try LineLog(url: options.output.appendingPathComponent("evaluations.jsonl"), header: nil)
  let observationCount = env.observationSpace.low.count
  let actionCount = env.actionSpace.count
  var best: EvaluationResult? = nil
  let bestURL = options.output.appendingPathComponent("best.safetensors")
  let finalURL = options.output.appendingPathComponent("final.safetensors")
  var saveError: Error? = nil
  let start = Date()

  func provenance(_ role: String, _ evaluation: EvaluationResult?, steps: Int, updates: Int) -> Provenance {
    var summary = ["steps": String(steps), "updates": String(updates), "algorithm": algorithm]
    if let e = evaluation {
      summary["eval_mean"] = String(format: "%.2f", e.mean)
      summary["eval_std"] = String(format: "%.2f", e.std)
      summary["eval_episodes"] = String(e.episodes)
    }
    return Provenance(environment: options.environment, seed: options.seed, role: role, summary: summary)
  }

  func handle(_ report: TrainingProgress) -> Bool {
    metrics.append(
      [String(report.step), String(report.episodes), String(format: "%.3f", report.meanReturn),
       String(format: "%.4f", report.epsilon ?? 0), String(format: "%.5g", report.loss), String(report.updates),
       String(format: "%.1f", report.updatesPerSecond), String(format: "%.1f", report.stepsPerSecond),
       String(format: "%.2f", report.elapsed)].joined(separator: ","))
    if let evaluation = report.evaluation {
      evaluations.append(
        "{\"step\":\(report.step),\"mean\":\(evaluation.mean),\"std\":\(evaluation.std),\"min\":\(evaluation.min),\"max\":\(evaluation.max),\"episodes\":\(evaluation.episodes)}")
      if best == nil || evaluation.mean > best!.mean {
        best = evaluation
        do {
          let about = provenance("\(algorithm)-teacher-best", evaluation, steps: report.step, updates: report.updates)
          try ModelFile.save(Model(network: report.network, provenance: about), to: bestURL)
        } catch {
          saveError = error
          return false
        }
      }
    }
    progress(report)
    if options.stopAtThreshold, let e = report.evaluation, e.mean >= spec.rewardThreshold { return false }
    return true
  }

  let policy: Network
  let steps: Int
  let updates: Int
  let evaluationEpisodes: Int
  if algorithm == "dqn" {
    var agent = DQN(
      config: options.teacher.dqn, observationCount: observationCount, actionCount: actionCount, seed: options.seed,
      observationShape: env.observationSpace.shape)
    agent.learn(in: &env, totalSteps: options.steps, evaluationEnvironment: &evalEnv, callback: handle)
    (policy, steps, updates, evaluationEpisodes) = (agent.online, agent.steps, agent.updates, options.teacher.dqn.evaluationEpisodes)
  } else {
    var agent = PPO(config: options.teacher.ppo, observationCount: observationCount, actionCount: actionCount, seed: options.seed)
    try agent.learn(
      makeEnvironment: { try Environments.make(options.environment, seed: options.seed &+ 100 &+ UInt64($0)) },
      totalSteps: options.steps, evaluationEnvironment: &evalEnv, callback: handle)
    (policy, steps, updates, evaluationEpisodes) = (agent.actor, agent.steps, agent.updates, options.teacher.ppo.evaluationEpisodes)
  }
  if let saveError { throw saveError }
  try ModelFile.save(Model(network: policy, provenance: provenance("\(algorithm)-teacher-final", nil, steps: steps, updates: updates)), to: finalURL)
  if best == nil {
    // No evaluation ran (tiny budget): the final model is the best we have.
    best = evaluate(policy, in: &evalEnv, episodes: evaluationEpisodes, seed: 1_000_000)
    try ModelFile.save(Model(network: policy, provenance: provenance("\(algorithm)-teacher-best", best, steps: steps, updates: updates)), to: bestURL)
  }
  let result = TeacherTrainingResult(
    environment: options.environment, seed: options.seed, steps: steps, updates: updates,
    seconds: Date().timeIntervalSince(start), bestEvaluation: best,
    solved: (best?.mean ?? -.infinity) >= spec.rewardThreshold,
    bestModel: bestURL.path, finalModel: finalURL.path)
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  try AtomicFile.write(try encoder.encode(result), to: options.output.appendingPathComponent("training.json"))
  return result
}

/// An append-only text log (CSV or JSON lines), flushed line by line so a
/// killed run keeps everything up to its last report.
final class LineLog {
  private let handle: FileHandle

  init(url: URL, header: String?) throws {
    _ = FileManager.default.createFile(atPath: url.path, contents: header.map { Data(($0 + "\n").utf8) } ?? Data())
    handle = try FileHandle(forWritingTo: url)
    handle.seekToEndOfFile()
  }

  func append(_ line: String) {
    handle.write(Data((line + "\n").utf8))
  }

  deinit { try? handle.close() }
}
