import Foundation
import Yams

/// An error in a configuration file or override; names the field.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

extension PoPSConfig {
  /// The built-in preset for an environment id.
  public static func preset(for environment: String) throws -> PoPSConfig {
    let spec = try Environments.spec(for: environment)
    switch environment {
    case "CartPole-v0", "CartPole-v1":
      return .cartPole(spec)
    case "LunarLander-v3", "LunarLander-v2":
      return .lunarLander(spec)
    case "Catch-v0":
      return .catchGame(spec)
    case let id where id.hasPrefix("gym:ALE/"):
      return .atari(spec)
    default:
      return .generic(spec)
    }
  }

  /// CartPole: the reference's objective 190 / lower bound 80 (scaled with
  /// the time limit for v1), pruning every 10 minibatches to 99% sparsity.
  /// The schedule is 10x shorter than the reference's 5e5 minibatches: the
  /// same sparsities, reached in minutes on two cores.
  static func cartPole(_ spec: EnvironmentSpec) -> PoPSConfig {
    let scale = Double(spec.maxEpisodeSteps) / 200
    return PoPSConfig(
      environment: spec.id,
      objective: 190 * scale,
      lowerBound: 80 * scale,
      acceptanceScore: spec.rewardThreshold,
      acceptanceEpisodes: 100,
      acceptanceConfidence: 1,
      teacher: TeacherConfig(algorithm: "dqn", steps: 100_000, dqn: DQNConfig(), ppo: PPOConfig()),
      experience: ExperienceConfig(refillSteps: 10_000, capacity: 50_000, exploration: 0.05),
      distillation: DistillationConfig(
        batchSize: 64, temperature: 0.01, epsilon: 1e-5, rho: 0.9,
        baseLearningRate: 1e-4, sizeExponent: 0.5, maxLearningRate: 3e-3,
        minibatchesPerEpoch: 2_000, maxEpochs: 30, evaluationInterval: 500, evaluationEpisodes: 25,
        decayEpochs: [10, 20], decayFactors: [0.5, 0.2]),
      pruning: PruningConfig(
        initialSparsity: 0, finalSparsity: 0.99, beginStep: 0, endStep: 40_000, frequency: 10,
        minibatchesPerIteration: 4_000, evaluationInterval: 1_000, evaluationEpisodes: 25,
        maxIterations: 30, badEvaluationsPerIteration: 5, patience: 3),
      shrinking: ShrinkingConfig(minimumWidth: 2, convergenceThreshold: 0.05, maxSteps: 6))
  }

  /// LunarLander: the reference's objective 200 / lower bound 100, a PPO
  /// actor-critic teacher (actor 8-64-64-64-4, its logits distilled).
  static func lunarLander(_ spec: EnvironmentSpec) -> PoPSConfig {
    var ppo = PPOConfig()
    ppo.evaluationEpisodes = 100
    return PoPSConfig(
      environment: spec.id,
      objective: 200,
      lowerBound: 100,
      acceptanceScore: spec.rewardThreshold,
      acceptanceEpisodes: 200,
      acceptanceConfidence: 1,
      teacher: TeacherConfig(algorithm: "ppo", steps: 3_000_000, dqn: DQNConfig(), ppo: ppo),
      experience: ExperienceConfig(refillSteps: 10_000, capacity: 100_000, exploration: 0.05),
      distillation: DistillationConfig(
        batchSize: 64, temperature: 0.01, epsilon: 1e-5, rho: 0.9,
        baseLearningRate: 1e-4, sizeExponent: 0.5, maxLearningRate: 3e-3,
        minibatchesPerEpoch: 2_000, maxEpochs: 40, evaluationInterval: 1_000, evaluationEpisodes: 25,
        decayEpochs: [15, 30], decayFactors: [0.5, 0.2]),
      pruning: PruningConfig(
        initialSparsity: 0, finalSparsity: 0.99, beginStep: 0, endStep: 40_000, frequency: 10,
        minibatchesPerIteration: 4_000, evaluationInterval: 1_000, evaluationEpisodes: 25,
        maxIterations: 30, badEvaluationsPerIteration: 5, patience: 3),
      shrinking: ShrinkingConfig(minimumWidth: 4, convergenceThreshold: 0.05, maxSteps: 6))
  }

  /// Catch: a small CNN teacher (conv 16@3x3, 64 units) on 10x10 pixels;
  /// the whole pipeline runs in well under a minute, which makes it the
  /// smoke test for PoPS on convolutional networks.
  static func catchGame(_ spec: EnvironmentSpec) -> PoPSConfig {
    var config = cartPole(EnvironmentSpec(id: spec.id, maxEpisodeSteps: 200, rewardThreshold: spec.rewardThreshold))
    config.objective = 0.9
    config.lowerBound = 0.2
    config.acceptanceScore = 0.9
    config.teacher.steps = 30_000
    config.teacher.dqn.convolutions = [[16, 3, 1]]
    config.teacher.dqn.hidden = [64]
    config.teacher.dqn.batchSize = 32
    config.teacher.dqn.learningStarts = 500
    config.teacher.dqn.epsilonDecaySteps = 3_000
    config.teacher.dqn.evaluationInterval = 1_000
    config.teacher.dqn.evaluationEpisodes = 100
    config.teacher.dqn.targetUpdateInterval = 250
    config.pruning.endStep = 10_000
    config.pruning.minibatchesPerIteration = 1_000
    config.pruning.evaluationInterval = 500
    config.pruning.evaluationEpisodes = 50
    config.distillation.minibatchesPerEpoch = 1_000
    config.distillation.evaluationInterval = 500
    config.distillation.evaluationEpisodes = 50
    config.distillation.maxEpochs = 10
    config.experience.refillSteps = 2_000
    config.experience.capacity = 20_000
    config.shrinking.minimumWidth = 2
    config.shrinking.maxSteps = 4
    return config
  }

  /// Atari through the bridge (`gym:ALE/Pong-v5?actions=1,2,3` is the
  /// reference's 3-action Pong): the Nature-CNN DQN on 4 stacked 84x84 frames
  /// scaled to [0, 1], one update of batch 32 every 4 steps, the reference's
  /// objective 18 / lower bound 0 and pruning every 50 minibatches. The
  /// replay holds 100k transitions as bytes (0.7 GB; set
  /// `teacher.dqn.buffer_size: 1000000` for the full 7 GB); checkpoints let
  /// the hours-long teacher run resume.
  static func atari(_ spec: EnvironmentSpec) -> PoPSConfig {
    var config = cartPole(EnvironmentSpec(id: spec.id, maxEpisodeSteps: 200, rewardThreshold: 18))
    config.objective = 18
    config.lowerBound = 0
    config.acceptanceScore = 18
    config.acceptanceEpisodes = 10
    var dqn = DQNConfig()
    dqn.convolutions = Architecture.natureConvolutions
    dqn.hidden = [512]
    dqn.frameStack = 4
    dqn.batchSize = 32
    dqn.learningRate = 1e-4
    dqn.bufferSize = 100_000
    dqn.learningStarts = 10_000
    dqn.trainFrequency = 4
    dqn.targetUpdateInterval = 1_000
    dqn.epsilonEnd = 0.01
    dqn.epsilonDecaySteps = 250_000
    dqn.doubleQLearning = false
    dqn.evaluationInterval = 50_000
    dqn.evaluationEpisodes = 5
    config.teacher = TeacherConfig(algorithm: "dqn", steps: 10_000_000, dqn: dqn, ppo: PPOConfig())
    config.experience = ExperienceConfig(refillSteps: 10_000, capacity: 10_000, exploration: 0.05)
    config.distillation.batchSize = 32
    config.distillation.evaluationEpisodes = 5
    config.distillation.evaluationInterval = 2_000
    config.pruning.frequency = 50
    config.pruning.endStep = 75_000
    config.pruning.evaluationInterval = 2_500
    config.pruning.evaluationEpisodes = 5
    config.pruning.minibatchesPerIteration = 5_000
    config.shrinking.minimumWidth = 4
    return config
  }

  /// Any other environment (`gym:ID`): the CartPole recipe with the
  /// objective and acceptance score at the environment's reward threshold and
  /// the lower bound below it. Set `objective`, `lower_bound` and
  /// `acceptance_score` in a config file when the environment has no
  /// threshold or its returns are on another scale.
  static func generic(_ spec: EnvironmentSpec) -> PoPSConfig {
    var config = cartPole(EnvironmentSpec(id: spec.id, maxEpisodeSteps: 200, rewardThreshold: spec.rewardThreshold))
    let threshold = spec.rewardThreshold.isFinite ? spec.rewardThreshold : 0
    config.objective = threshold
    config.acceptanceScore = threshold
    config.lowerBound = threshold - max(50, 0.5 * abs(threshold))
    return config
  }

  /// The preset for `environment`, then the YAML file `file`, then each
  /// `FIELD=VALUE` of `assignments` (dotted snake_case paths).
  public static func resolved(for environment: String, file: String?, assignments: [String]) throws -> PoPSConfig {
    var config = try PoPSConfig.preset(for: environment)
    if let file {
      let text: String
      do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
        throw ConfigError("\(file): cannot read the file")
      }
      config = try config.overridden(byYAML: text, source: file)
    }
    for assignment in assignments {
      let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty else { throw ConfigError("--set \(assignment): expected FIELD=VALUE") }
      var yaml = ""
      let keys = parts[0].split(separator: ".").map(String.init)
      for (depth, key) in keys.enumerated() {
        yaml += String(repeating: "  ", count: depth) + key + ":" + (depth == keys.count - 1 ? " \(parts[1])" : "") + "\n"
      }
      config = try config.overridden(byYAML: yaml, source: "--set \(assignment)")
    }
    return config
  }

  /// The configuration as YAML, fields in declaration order, snake_case keys.
  public var yaml: String {
    var lines: [String] = []
    Self.emit(self, indent: "", into: &lines)
    return lines.joined(separator: "\n") + "\n"
  }

  private static func emit(_ value: Any, indent: String, into lines: inout [String]) {
    for child in Mirror(reflecting: value).children {
      guard let label = child.label else { continue }
      let key = snakeCase(label)
      if let scalar = yamlScalar(child.value) {
        lines.append("\(indent)\(key): \(scalar)")
      } else {
        lines.append("\(indent)\(key):")
        emit(child.value, indent: indent + "  ", into: &lines)
      }
    }
  }

  private static func yamlScalar(_ value: Any) -> String? {
    switch value {
    case let v as String: return "\"\(v)\""
    case let v as Bool: return v ? "true" : "false"
    case let v as Int: return String(v)
    case let v as UInt64: return String(v)
    case let v as Double: return "\(v)"
    case let v as Float: return "\(v)"
    case let v as [Int]: return "[" + v.map(String.init).joined(separator: ", ") + "]"
    case let v as [Float]: return "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
    case let v as [Double]: return "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
    case let v as [[Int]]: return "[" + v.map { yamlScalar($0)! }.joined(separator: ", ") + "]"
    default: return nil
    }
  }

  /// Foundation's `convertToSnakeCase` rule: `learningRate` -> `learning_rate`,
  /// `doubleQLearning` -> `double_q_learning`, `DQN` -> `dqn`.
  static func snakeCase(_ name: String) -> String {
    let chars = Array(name)
    var out = ""
    for (i, ch) in chars.enumerated() {
      if ch.isUppercase && i > 0 {
        let previousLower = chars[i - 1].isLowercase || chars[i - 1].isNumber
        let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
        if previousLower || (chars[i - 1].isUppercase && nextLower) { out += "_" }
      }
      out += ch.lowercased()
    }
    return out
  }

  /// This configuration with the fields of a YAML document overriding it.
  /// Unknown fields and ill-typed values are errors naming the field.
  public func overridden(byYAML text: String, source: String) throws -> PoPSConfig {
    let parsed: Any?
    do {
      parsed = try Yams.load(yaml: text)
    } catch {
      throw ConfigError("\(source): not valid YAML (\(error))")
    }
    guard let parsed else { return self }
    guard let overrides = parsed as? [String: Any] else {
      throw ConfigError("\(source): the top level must be a mapping of fields")
    }
    return try overridden(by: overrides, source: source)
  }

  /// This configuration with `overrides` (snake_case keys, nested mappings)
  /// applied. Unknown fields and ill-typed values are errors naming the field.
  public func overridden(by overrides: [String: Any], source: String) throws -> PoPSConfig {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let base = try JSONSerialization.jsonObject(with: encoder.encode(self)) as! [String: Any]
    var kinds: [String: String] = [:]
    Self.fieldKinds(self, prefix: "", into: &kinds)
    let merged = try Self.merge(base, overrides, path: "", source: source, kinds: kinds)
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let config: PoPSConfig
    do {
      config = try decoder.decode(PoPSConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    } catch let DecodingError.typeMismatch(type, context) {
      throw ConfigError("\(source): field '\(Self.path(context.codingPath))' must be \(Self.typeName(type))")
    } catch let DecodingError.dataCorrupted(context) {
      throw ConfigError("\(source): field '\(Self.path(context.codingPath))' has a bad value (\(context.debugDescription))")
    } catch {
      throw ConfigError("\(source): \(error)")
    }
    if let problem = config.validationError() { throw ConfigError("\(source): \(problem)") }
    return config
  }

  /// The kind of every leaf field (`integer`, `number`, `boolean`, `string`,
  /// `integer list`, `number list`, `list of integer lists`), by snake_case path.
  private static func fieldKinds(_ value: Any, prefix: String, into kinds: inout [String: String]) {
    for child in Mirror(reflecting: value).children {
      guard let label = child.label else { continue }
      let path = prefix.isEmpty ? snakeCase(label) : "\(prefix).\(snakeCase(label))"
      // Exact types: an empty [[Int]] would also pass `is [Int]`.
      let type = Swift.type(of: child.value)
      switch child.value {
      case is Int, is UInt64: kinds[path] = "integer"
      case is Double, is Float: kinds[path] = "number"
      case is Bool: kinds[path] = "boolean"
      case is String: kinds[path] = "string"
      case _ where type == [Int].self: kinds[path] = "integer list"
      case _ where type == [Float].self || type == [Double].self: kinds[path] = "number list"
      case _ where type == [[Int]].self: kinds[path] = "list of integer lists"
      default: fieldKinds(child.value, prefix: path, into: &kinds)
      }
    }
  }

  private static func matches(_ value: Any, kind: String) -> Bool {
    func isInteger(_ v: Any) -> Bool { v is Int }
    func isNumber(_ v: Any) -> Bool { (v is Int || v is Double) && !(v is Bool) }
    switch kind {
    case "integer": return isInteger(value) && !(value is Bool)
    case "number": return isNumber(value)
    case "boolean": return value is Bool
    case "string": return value is String
    case "integer list": return (value as? [Any])?.allSatisfy { isInteger($0) && !($0 is Bool) } ?? false
    case "number list": return (value as? [Any])?.allSatisfy(isNumber) ?? false
    case "list of integer lists": return (value as? [Any])?.allSatisfy { matches($0, kind: "integer list") } ?? false
    default: return true
    }
  }

  private static func merge(
    _ base: [String: Any], _ overrides: [String: Any], path: String, source: String, kinds: [String: String]
  ) throws -> [String: Any] {
    var result = base
    for (key, value) in overrides {
      let field = path.isEmpty ? key : "\(path).\(key)"
      guard let current = base[key] else {
        let known = base.keys.sorted().joined(separator: ", ")
        throw ConfigError("\(source): unknown field '\(field)' (known here: \(known))")
      }
      if let nested = current as? [String: Any] {
        guard let override = value as? [String: Any] else {
          throw ConfigError("\(source): field '\(field)' must be a mapping")
        }
        result[key] = try merge(nested, override, path: field, source: source, kinds: kinds)
      } else {
        if value is [String: Any] { throw ConfigError("\(source): field '\(field)' must be a value, not a mapping") }
        if let kind = kinds[field], !matches(value, kind: kind) {
          throw ConfigError("\(source): field '\(field)' must be \(kind.hasPrefix("integer") ? "an" : "a") \(kind), got '\(value)'")
        }
        result[key] = value
      }
    }
    return result
  }

  private static func path(_ keys: [CodingKey]) -> String {
    keys.map { $0.intValue.map { "[\($0)]" } ?? snakeCase($0.stringValue) }.joined(separator: ".")
      .replacingOccurrences(of: ".[", with: "[")
  }

  private static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is UInt64.Type: return "an integer"
    case is Double.Type, is Float.Type: return "a number"
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    default: return "of type \(type)"
    }
  }
}
