import Foundation
import PoPSCore
import PoPSEnvironments
import PoPSNN

/// A deep-RL agent that trains a teacher for PoPS, used like
/// Stable-Baselines3: `learn`, then `action(for:)`; `checkpoint()` holds
/// everything needed to continue training later (the agent's
/// `init(resumingFrom:...)` reads it back).
public protocol TeacherAgent: Policy {
  /// The network PoPS distils: DQN's Q-network, PPO's actor.
  var policy: Network { get }
  /// Environment steps so far, all environments together.
  var steps: Int { get }
  /// Gradient updates so far.
  var updates: Int { get }
  /// Seconds spent in `learn` so far, across resumed runs.
  var trainingSeconds: Double { get }
  /// Episodes of each greedy evaluation during training.
  var evaluationEpisodes: Int { get }

  /// Trains for up to `totalSteps` more environment steps in environments
  /// made by `makeEnvironment(index)` (DQN uses one, PPO
  /// `config.environments`). Greedy evaluations play in
  /// `evaluationEnvironment` from episode seed `evaluationSeed`. `callback`
  /// receives progress; `onCheckpoint` receives `checkpoint()` about every
  /// `checkpointInterval` steps (0: never). Either returning false stops.
  mutating func learn(
    makeEnvironment: (Int) throws -> any Environment, totalSteps: Int, evaluationEnvironment: inout any Environment,
    evaluationSeed: UInt64, checkpointInterval: Int, callback: (TrainingProgress) -> Bool,
    onCheckpoint: (TensorArchive) -> Bool
  ) throws

  /// Everything needed to continue training: networks, optimizer moments,
  /// counters, random state (and DQN's replay). Environments are not saved:
  /// a resumed run starts new episodes.
  func checkpoint() -> TensorArchive
}

/// The counters and random state every agent's checkpoint holds.
struct TrainingState {
  var steps: Int
  var updates: Int
  var episodes: Int
  var seconds: Double
  /// Returns of the last (up to) 100 training episodes.
  var recentReturns: [Double]
  var rng: SeededGenerator
}

extension TensorArchive {
  /// An empty checkpoint of `format` and `version` that records `config`
  /// and the policy's `architecture`.
  static func checkpoint<Config: Encodable>(
    format: String, version: Int, config: Config, architecture: Architecture
  ) -> TensorArchive {
    var archive = TensorArchive()
    archive.metadata = [
      "format": format,
      "pops_checkpoint_version": String(version),
      "config": sortedJSON(config),
      "architecture": sortedJSON(architecture),
    ]
    return archive
  }

  /// Throws unless the checkpoint's architecture is `architecture`.
  func checkArchitecture(_ architecture: Architecture) throws {
    guard metadata["architecture"] == sortedJSON(architecture) else {
      throw problem("the checkpoint's network does not match this environment's observation and action spaces")
    }
  }

  mutating func store(_ state: TrainingState) {
    arrays["counters"] = .int64([Int64(state.steps), Int64(state.updates), Int64(state.episodes), Int64(state.seconds * 1000)])
    arrays["recent_returns"] = .float(state.recentReturns.map(Float.init))
    arrays["rng"] = .int64(state.rng.state.map { Int64(bitPattern: $0) })
  }

  func trainingState() throws -> TrainingState {
    let counters = try int64s("counters", count: 4)
    guard let rng = SeededGenerator(state: try int64s("rng", count: 4).map { UInt64(bitPattern: $0) }) else {
      throw problem("the saved random state is invalid")
    }
    return TrainingState(
      steps: Int(counters[0]), updates: Int(counters[1]), episodes: Int(counters[2]), seconds: Double(counters[3]) / 1000,
      recentReturns: try floats("recent_returns").map(Double.init), rng: rng)
  }

  /// Throws unless this archive is a checkpoint in `format` of `version`
  /// made with `config` (naming the fields that differ).
  func checkCheckpoint<Config: Codable & Equatable>(
    format: String, version: Int, algorithm: String, config: Config
  ) throws {
    guard metadata["format"] == format else {
      throw problem("not a pops \(algorithm) checkpoint (metadata format is \(metadata["format"] ?? "missing"))")
    }
    guard metadata["pops_checkpoint_version"] == String(version) else {
      throw problem(
        "pops_checkpoint_version \(metadata["pops_checkpoint_version"] ?? "missing") is not supported (this pops reads \(version))")
    }
    guard let text = metadata["config"], let saved = try? JSONDecoder().decode(Config.self, from: Data(text.utf8)) else {
      throw problem("the checkpoint's \(algorithm) config is missing or unreadable")
    }
    if saved != config {
      throw problem(
        "the checkpoint was made with a different \(algorithm) config (\(differingFields(saved, config).joined(separator: ", "))); resume with the same config")
    }
  }
}

/// Names of the config fields whose values differ (snake_case, as in config files).
func differingFields<Config: Encodable>(_ a: Config, _ b: Config) -> [String] {
  let encoder = JSONEncoder()
  encoder.keyEncodingStrategy = .convertToSnakeCase
  func fields(_ c: Config) -> [String: String] {
    guard let data = try? encoder.encode(c), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    return object.mapValues { "\($0)" }
  }
  let fa = fields(a), fb = fields(b)
  return Set(fa.keys).union(fb.keys).sorted().filter { fa[$0] != fb[$0] }.map { "\($0): \(fa[$0] ?? "-") vs \(fb[$0] ?? "-")" }
}

/// `value` as JSON with sorted keys (empty if it cannot be encoded).
private func sortedJSON<Value: Encodable>(_ value: Value) -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys]
  return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
}
