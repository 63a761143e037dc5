import Foundation
import PoPSCore
import PoPSEnvironments
import PoPSNN

/// Anything that picks an action for an observation.
public protocol Policy {
  func action(for observation: [Float]) -> Int
}

extension Network: Policy {
  /// The greedy action: the index of the largest output (Q-value or logit).
  public func action(for observation: [Float]) -> Int { greedyAction(for: observation) }
}

/// Returns of a set of evaluation episodes.
public struct EvaluationResult: Codable, Sendable, Equatable {
  public var returns: [Double]
  public var lengths: [Int]

  public var episodes: Int { returns.count }
  public var mean: Double { returns.isEmpty ? 0 : returns.reduce(0, +) / Double(returns.count) }
  /// Population standard deviation (numpy's default).
  public var std: Double {
    guard !returns.isEmpty else { return 0 }
    let m = mean
    return (returns.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(returns.count)).squareRoot()
  }
  public var min: Double { returns.min() ?? 0 }
  public var max: Double { returns.max() ?? 0 }

  public init(returns: [Double], lengths: [Int]) {
    self.returns = returns
    self.lengths = lengths
  }

  public var summary: String {
    String(format: "mean %.2f  std %.2f  min %.1f  max %.1f  over %d episodes", mean, std, min, max, episodes)
  }
}

/// Plays `episodes` episodes of `policy`; episode `i` starts from
/// `reset(seed: seed + i)`, so the same seed gives the same result.
/// A failing environment (a Gymnasium worker that died or went silent) is
/// a thrown error.
public func evaluate(
  _ policy: some Policy, in environment: inout any Environment, episodes: Int, seed: UInt64
) throws -> EvaluationResult {
  precondition(episodes > 0, "evaluate: episodes must be positive, got \(episodes)")
  var returns: [Double] = []
  var lengths: [Int] = []
  for episode in 0..<episodes {
    var observation = try environment.reset(seed: seed &+ UInt64(episode))
    var total = 0.0
    var length = 0
    while true {
      let step = try environment.step(taking: policy.action(for: observation))
      total += step.reward
      length += 1
      observation = step.observation
      if step.isLast { break }
    }
    returns.append(total)
    lengths.append(length)
  }
  return EvaluationResult(returns: returns, lengths: lengths)
}

/// The same evaluation with the episodes played side by side on the
/// environments of `environments` (bridge workers step in parallel): episode
/// `i` still starts from `reset(seed: seed + i)` and the returns come back in
/// episode order, so for a greedy policy the result equals the sequential
/// evaluation's.
public func evaluate(
  _ policy: some Policy, in environments: inout VectorEnvironment, episodes: Int, seed: UInt64
) throws -> EvaluationResult {
  precondition(episodes > 0, "evaluate: episodes must be positive, got \(episodes)")
  let n = environments.count
  var returns = [Double](repeating: 0, count: episodes)
  var lengths = [Int](repeating: 0, count: episodes)
  // The episode each environment plays (nil: idle), and its observation.
  var playing = [Int?](repeating: nil, count: n)
  var observations = [[Float]](repeating: [], count: n)
  var next = 0
  for i in 0..<min(n, episodes) {
    observations[i] = try environments.reset(i, seed: seed &+ UInt64(next))
    playing[i] = next
    next += 1
  }
  while playing.contains(where: { $0 != nil }) {
    let actions = (0..<n).map { i in playing[i].map { _ in policy.action(for: observations[i]) } }
    let steps = try environments.step(taking: actions)
    for i in 0..<n {
      guard let episode = playing[i], let step = steps[i] else { continue }
      returns[episode] += step.reward
      lengths[episode] += 1
      observations[i] = step.observation
      guard step.isLast else { continue }
      if next < episodes {
        observations[i] = try environments.reset(i, seed: seed &+ UInt64(next))
        playing[i] = next
        next += 1
      } else {
        playing[i] = nil
      }
    }
  }
  return EvaluationResult(returns: returns, lengths: lengths)
}

/// Evaluates on a fresh environment made from `id`.
public func evaluate(_ policy: some Policy, environment id: String, episodes: Int, seed: UInt64) throws -> EvaluationResult {
  var env = try Environments.make(id, seed: seed)
  return try evaluate(policy, in: &env, episodes: episodes, seed: seed)
}
