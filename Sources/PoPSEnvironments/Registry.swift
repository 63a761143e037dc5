import Foundation
import PoPSCore

/// The kinds of built-in environment: each names the type that simulates it
/// (and, in PoPS, the preset recipe that fits it).
public enum EnvironmentFamily: String, Sendable, CaseIterable {
  case cartPole
  case lunarLander
  case catchGame

  /// A new environment of this family seeded with `seed`, ending episodes
  /// after `maxEpisodeSteps` steps.
  func make(seed: UInt64, maxEpisodeSteps: Int) -> any Environment {
    switch self {
    case .cartPole: return TimeLimit(CartPole(seed: seed), maxEpisodeSteps: maxEpisodeSteps)
    case .lunarLander: return TimeLimit(LunarLander(seed: seed), maxEpisodeSteps: maxEpisodeSteps)
    case .catchGame: return TimeLimit(Catch(seed: seed), maxEpisodeSteps: maxEpisodeSteps)
    }
  }
}

/// How an environment id is built and judged (Gymnasium's `EnvSpec`).
public struct EnvironmentSpec: Sendable, Equatable {
  /// The id passed to `--env`, e.g. `CartPole-v0`.
  public var id: String
  /// Episodes are truncated after this many steps.
  public var maxEpisodeSteps: Int
  /// The mean return over 100 episodes that counts as solving the task.
  public var rewardThreshold: Double
  /// The built-in environment this id builds; `nil` for one built elsewhere
  /// (a Gymnasium environment, through the bridge).
  public var family: EnvironmentFamily?

  public init(id: String, maxEpisodeSteps: Int, rewardThreshold: Double, family: EnvironmentFamily? = nil) {
    self.id = id
    self.maxEpisodeSteps = maxEpisodeSteps
    self.rewardThreshold = rewardThreshold
    self.family = family
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
  /// Every built-in environment: the one table of ids, limits, thresholds
  /// and the family that builds each.
  public static let specs: [EnvironmentSpec] = [
    EnvironmentSpec(id: "CartPole-v0", maxEpisodeSteps: 200, rewardThreshold: 195, family: .cartPole),
    EnvironmentSpec(id: "CartPole-v1", maxEpisodeSteps: 500, rewardThreshold: 475, family: .cartPole),
    EnvironmentSpec(id: "LunarLander-v3", maxEpisodeSteps: 1000, rewardThreshold: 200, family: .lunarLander),
    // v2 is an alias: the same dynamics (Gymnasium's v3 only fixed determinism bugs).
    EnvironmentSpec(id: "LunarLander-v2", maxEpisodeSteps: 1000, rewardThreshold: 200, family: .lunarLander),
    EnvironmentSpec(id: "Catch-v0", maxEpisodeSteps: 20, rewardThreshold: 0.9, family: .catchGame),
  ]

  nonisolated(unsafe) private static var gymSpecs: [String: EnvironmentSpec] = [:]
  private static let gymLock = NSLock()

  /// The spec of `id`, or an error listing the known ids. For `gym:ID` a
  /// worker is started once to read Gymnasium's spec.
  public static func spec(for id: String) throws -> EnvironmentSpec {
    switch try EnvironmentID(parsing: id) {
    case .builtIn(let spec):
      return spec
    case .gymnasium(let gymID):
      gymLock.lock()
      defer { gymLock.unlock() }
      if let known = gymSpecs[id] { return known }
      let env = try GymEnvironment(id: gymID)
      let spec = EnvironmentSpec(
        id: id, maxEpisodeSteps: env.maxEpisodeSteps ?? 0, rewardThreshold: env.rewardThreshold ?? .infinity)
      gymSpecs[id] = spec
      return spec
    }
  }

  /// A new environment for `id`, wrapped in its time limit, seeded with `seed`.
  public static func make(_ id: String, seed: UInt64 = 0) throws -> any Environment {
    switch try EnvironmentID(parsing: id) {
    case .builtIn(let spec):
      guard let family = spec.family else {
        throw EnvironmentError(description: "environment id '\(id)' has a spec but no constructor")
      }
      return family.make(seed: seed, maxEpisodeSteps: spec.maxEpisodeSteps)
    case .gymnasium(let gymID):
      // Seeding happens through reset(seed:), as with every environment.
      return try GymEnvironment(id: gymID)
    }
  }
}
