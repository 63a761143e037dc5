import PoPSCore

/// A set of values an observation or action may take.
public protocol Space: Sendable {
  associatedtype Element
  /// True when `element` belongs to the space.
  func contains(_ element: Element) -> Bool
  /// A uniformly drawn element.
  func sample(using rng: inout SeededGenerator) -> Element
}

/// The actions `0..<count` (Gymnasium's `Discrete(n)`).
public struct DiscreteSpace: Space, Equatable {
  public var count: Int

  public init(_ count: Int) {
    precondition(count > 0, "DiscreteSpace: count must be positive, got \(count)")
    self.count = count
  }

  public func contains(_ element: Int) -> Bool { (0..<count).contains(element) }

  public func sample(using rng: inout SeededGenerator) -> Int { rng.index(below: count) }
}

/// A box of float vectors with per-element bounds (Gymnasium's `Box`).
public struct BoxSpace: Space, Equatable {
  public var low: [Float]
  public var high: [Float]
  /// The shape of one element (e.g. `[4]`, or `[4, 84, 84]` for stacked frames).
  public var shape: [Int]
  /// How the environment's raw values map to these (Atari frames: bytes
  /// scaled by 1/255, so `low`/`high` are 0 and 1).
  public var encoding: ObservationEncoding = .float32

  public init(low: [Float], high: [Float], shape: [Int]? = nil, encoding: ObservationEncoding = .float32) {
    precondition(low.count == high.count, "BoxSpace: low and high differ in length")
    precondition(zip(low, high).allSatisfy { $0 <= $1 }, "BoxSpace: low must not exceed high")
    self.low = low
    self.high = high
    self.shape = shape ?? [low.count]
    self.encoding = encoding
    precondition(self.shape.reduce(1, *) == low.count, "BoxSpace: shape \(self.shape) does not match \(low.count) bounds")
  }

  public func contains(_ element: [Float]) -> Bool {
    element.count == low.count && element.indices.allSatisfy { low[$0] <= element[$0] && element[$0] <= high[$0] }
  }

  /// Uniform within finite bounds; a standard normal along unbounded ones.
  public func sample(using rng: inout SeededGenerator) -> [Float] {
    low.indices.map { i in
      if low[i].isFinite && high[i].isFinite { return rng.uniform(low[i], high[i]) }
      return rng.normal()
    }
  }
}

/// What one step of an environment returns (Gymnasium's 5-tuple, less `info`).
public struct Step: Sendable, Equatable {
  public var observation: [Float]
  public var reward: Double
  /// The episode reached a terminal state of the task (pole fell, lander crashed).
  public var terminated: Bool
  /// The episode was cut short from outside the task (a time limit).
  public var truncated: Bool

  public init(observation: [Float], reward: Double, terminated: Bool, truncated: Bool) {
    self.observation = observation
    self.reward = reward
    self.terminated = terminated
    self.truncated = truncated
  }

  /// True when the episode is over for either reason.
  public var isLast: Bool { terminated || truncated }
}

/// A reinforcement-learning environment with Gymnasium's semantics: `reset`
/// starts an episode and returns its first observation; `step(taking:)`
/// advances it by one action.
///
/// Both may throw: an environment run elsewhere (a Gymnasium worker) can
/// die or stop answering, and an action outside its space is refused. The
/// native environments (CartPole, LunarLander, Catch) implement them without
/// `throws` (a non-throwing method satisfies the requirement), so code that
/// holds one of those types by name needs no `try`.
public protocol Environment {
  /// The observations this environment produces.
  var observationSpace: BoxSpace { get }
  /// The actions it accepts.
  var actionSpace: DiscreteSpace { get }
  /// Starts a new episode. A seed re-seeds the environment's generator (same
  /// seed, same episode); `nil` continues the current stream.
  mutating func reset(seed: UInt64?) throws -> [Float]
  /// Advances the episode by one action.
  mutating func step(taking action: Int) throws -> Step
}

extension Environment {
  /// Starts a new episode, continuing the current random stream.
  public mutating func reset() throws -> [Float] { try reset(seed: nil) }
}

/// Ends episodes after `maxEpisodeSteps` steps with `truncated = true`
/// (Gymnasium's `TimeLimit`). It throws what its base throws.
public struct TimeLimit<Base: Environment>: Environment {
  public var base: Base
  public let maxEpisodeSteps: Int
  public private(set) var elapsedSteps = 0

  public init(_ base: Base, maxEpisodeSteps: Int) {
    precondition(maxEpisodeSteps > 0, "TimeLimit: maxEpisodeSteps must be positive, got \(maxEpisodeSteps)")
    self.base = base
    self.maxEpisodeSteps = maxEpisodeSteps
  }

  public var observationSpace: BoxSpace { base.observationSpace }
  public var actionSpace: DiscreteSpace { base.actionSpace }

  public mutating func reset(seed: UInt64?) throws -> [Float] {
    elapsedSteps = 0
    return try base.reset(seed: seed)
  }

  public mutating func step(taking action: Int) throws -> Step {
    var result = try base.step(taking: action)
    elapsedSteps += 1
    if elapsedSteps >= maxEpisodeSteps { result.truncated = true }
    return result
  }
}
