import Foundation
import PoPSCore

/// How an environment id is built and judged (Gymnasium's `EnvSpec`).
public struct EnvironmentSpec: Sendable, Equatable {
  /// The id passed to `--env`, e.g. `CartPole-v0`.
  public var id: String
  /// Episodes are truncated after this many steps.
  public var maxEpisodeSteps: Int
  /// The mean return over 100 episodes that counts as solving the task.
  public var rewardThreshold: Double

  public init(id: String, maxEpisodeSteps: Int, rewardThreshold: Double) {
    self.id = id
    self.maxEpisodeSteps = maxEpisodeSteps
    self.rewardThreshold = rewardThreshold
  }
}

/// An error naming a problem with an environment request.
public struct EnvironmentError: Error, CustomStringConvertible {
  public var description: String

  public init(description: String) {
    self.description = description
  }
}

/// Creates environments by id.
public enum Environments {
  /// Every built-in environment id.
  public static let specs: [EnvironmentSpec] = [
    EnvironmentSpec(id: "CartPole-v0", maxEpisodeSteps: 200, rewardThreshold: 195),
    EnvironmentSpec(id: "CartPole-v1", maxEpisodeSteps: 500, rewardThreshold: 475),
    EnvironmentSpec(id: "LunarLander-v3", maxEpisodeSteps: 1000, rewardThreshold: 200),
    EnvironmentSpec(id: "LunarLander-v2", maxEpisodeSteps: 1000, rewardThreshold: 200),
    EnvironmentSpec(id: "Catch-v0", maxEpisodeSteps: 20, rewardThreshold: 0.9),
  ]

  nonisolated(unsafe) private static var gymSpecs: [String: EnvironmentSpec] = [:]
  private static let gymLock = NSLock()

  /// The spec of `id`, or an error listing the known ids. For `gym:ID` a
  /// worker is started once to read Gymnasium's spec.
  public static func spec(for id: String) throws -> EnvironmentSpec {
    if id.hasPrefix("gym:") {
      gymLock.lock()
      defer { gymLock.unlock() }
      if let known = gymSpecs[id] { return known }
      let env = try GymEnvironment(id: String(id.dropFirst(4)))
      let spec = EnvironmentSpec(
        id: id, maxEpisodeSteps: env.maxEpisodeSteps ?? 0, rewardThreshold: env.rewardThreshold ?? .infinity)
      gymSpecs[id] = spec
      return spec
    }
    guard let spec = specs.first(where: { $0.id == id }) else {
      throw EnvironmentError(
        description: "unknown environment id '\(id)'; known ids: \(specs.map(\.id).joined(separator: ", ")), or gym:ID for any Gymnasium environment")
    }
    return spec
  }

  /// A new environment for `id`, wrapped in its time limit, seeded with `seed`.
  public static func make(_ id: String, seed: UInt64 = 0) throws -> any Environment {
    if id.hasPrefix("gym:") {
      // Seeding happens through reset(seed:), as with every environment.
      return try GymEnvironment(id: String(id.dropFirst(4)))
    }
    let spec = try spec(for: id)
    switch id {
    case "CartPole-v0", "CartPole-v1":
      return TimeLimit(CartPole(seed: seed), maxEpisodeSteps: spec.maxEpisodeSteps)
    case "Catch-v0":
      return TimeLimit(Catch(seed: seed), maxEpisodeSteps: spec.maxEpisodeSteps)
    case "LunarLander-v3", "LunarLander-v2":
      // v2 is an alias: the same dynamics (Gymnasium's v3 only fixed determinism bugs).
      return TimeLimit(LunarLander(seed: seed), maxEpisodeSteps: spec.maxEpisodeSteps)
    default:
      throw EnvironmentError(description: "environment id '\(id)' has a spec but no constructor")
    }
  }
}
