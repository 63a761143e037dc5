/// Several instances of one environment stepped together, like Gymnasium's
/// vector environments: `gym:` workers are separate processes, so a vector
/// of them steps in parallel (every action is sent before any reply is
/// read); native environments step one after another, which for them is
/// faster than any thread hand-off.
///
/// Episodes are not reset automatically: after a step whose result `isLast`,
/// call `reset(_:seed:)` for that index (the training loops decide what to
/// record first).
public struct VectorEnvironment {
  public private(set) var environments: [any Environment]
  /// The bridge workers when every environment is a `gym:` one.
  private let workers: [GymEnvironment]?

  /// - Parameter environments: at least one, all with the same spaces.
  public init(_ environments: [any Environment]) {
    precondition(!environments.isEmpty, "VectorEnvironment: needs at least one environment")
    let first = environments[0]
    precondition(
      environments.allSatisfy { $0.observationSpace == first.observationSpace && $0.actionSpace == first.actionSpace },
      "VectorEnvironment: every environment must have the same observation and action spaces")
    self.environments = environments
    let gym = environments.compactMap { $0 as? GymEnvironment }
    workers = gym.count == environments.count ? gym : nil
  }

  /// `count` new instances of `id`; instance i is made with `seed + i`.
  public init(_ id: String, count: Int, seed: UInt64 = 0) throws {
    precondition(count > 0, "VectorEnvironment: count must be positive, got \(count)")
    self.init(try (0..<count).map { try Environments.make(id, seed: seed &+ UInt64($0)) })
  }

  public var count: Int { environments.count }
  public var observationSpace: BoxSpace { environments[0].observationSpace }
  public var actionSpace: DiscreteSpace { environments[0].actionSpace }
  /// True when the environments step in parallel (bridge workers).
  public var isParallel: Bool { workers != nil && count > 1 }

  /// Resets every environment; environment i gets `seed + i` (or continues
  /// its stream when `seed` is nil). A worker that died or stays silent is a
  /// thrown error.
  public mutating func reset(seed: UInt64?) throws -> [[Float]] {
    var observations: [[Float]] = []
    for i in 0..<count { observations.append(try reset(i, seed: seed.map { $0 &+ UInt64(i) })) }
    return observations
  }

  /// Resets environment `index`.
  public mutating func reset(_ index: Int, seed: UInt64?) throws -> [Float] {
    try environments[index].reset(seed: seed)
  }

  /// Steps environment i with `actions[i]`, in parallel for bridge workers.
  public mutating func step(taking actions: [Int]) throws -> [Step] {
    precondition(actions.count == count, "VectorEnvironment: \(actions.count) actions for \(count) environments")
    return try step(taking: actions.map { Optional($0) }).map { $0! }
  }

  /// Steps the environments whose action is not nil (in parallel for bridge
  /// workers) and leaves the others as they are (a nil result): a vector
  /// whose environments finish at different times.
  public mutating func step(taking actions: [Int?]) throws -> [Step?] {
    precondition(actions.count == count, "VectorEnvironment: \(actions.count) actions for \(count) environments")
    guard let workers, count > 1 else {
      var results: [Step?] = []
      for i in actions.indices { results.append(try actions[i].map { try environments[i].step(taking: $0) }) }
      return results
    }
    // Every action is checked before any is sent: a refused one must not
    // leave the workers before it with replies nobody reads.
    for (worker, action) in zip(workers, actions) {
      if let action { try worker.checkAction(action) }
    }
    for (worker, action) in zip(workers, actions) {
      if let action { try worker.sendStep(taking: action) }
    }
    var results: [Step?] = []
    for (worker, action) in zip(workers, actions) { results.append(action == nil ? nil : try worker.receiveStep()) }
    return results
  }
}
