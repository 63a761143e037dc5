import PoPSCore
import PoPSNN

/// A minibatch drawn from a `ReplayBuffer`, stored row-major so it feeds
/// `Network.forward` directly (Stable-Baselines3's `ReplayBufferSamples`).
public struct TransitionBatch: Sendable {
  public var size: Int
  /// [size, observationCount]
  public var observations: [Float]
  public var actions: [Int]
  public var rewards: [Float]
  /// [size, observationCount]
  public var nextObservations: [Float]
  /// 1 where the transition ended the episode by termination (not truncation).
  public var terminated: [Float]

  public init(size: Int, observationCount: Int) {
    self.size = size
    observations = [Float](repeating: 0, count: size * observationCount)
    actions = [Int](repeating: 0, count: size)
    rewards = [Float](repeating: 0, count: size)
    nextObservations = observations
    terminated = rewards
  }
}

/// A fixed-capacity ring buffer of transitions in preallocated contiguous
/// arrays; the oldest transition is overwritten in O(1) once full.
public struct ReplayBuffer: Sendable {
  public let capacity: Int
  public let observationCount: Int
  private var observations: [Float]
  private var nextObservations: [Float]
  private var actions: [Int32]
  private var rewards: [Float]
  private var terminated: [Float]
  /// Where the next transition goes.
  public private(set) var position = 0
  /// How many transitions are stored (at most `capacity`).
  public private(set) var count = 0

  public init(capacity: Int, observationCount: Int) {
    precondition(capacity > 0, "ReplayBuffer: capacity must be positive, got \(capacity)")
    precondition(observationCount > 0, "ReplayBuffer: observationCount must be positive, got \(observationCount)")
    self.capacity = capacity
    self.observationCount = observationCount
    observations = [Float](repeating: 0, count: capacity * observationCount)
    nextObservations = observations
    actions = [Int32](repeating: 0, count: capacity)
    rewards = [Float](repeating: 0, count: capacity)
    terminated = rewards
  }

  /// Stores one transition; `terminated` is the Gymnasium flag (a truncated
  /// episode still bootstraps from `nextObservation`).
  public mutating func add(
    observation: [Float], action: Int, reward: Float, nextObservation: [Float], terminated: Bool
  ) {
    precondition(observation.count == observationCount && nextObservation.count == observationCount,
      "ReplayBuffer.add: observations must have \(observationCount) values")
    let base = position * observationCount
    observations.withUnsafeMutableBufferPointer { p in
      for i in 0..<observationCount { p[base + i] = observation[i] }
    }
    nextObservations.withUnsafeMutableBufferPointer { p in
      for i in 0..<observationCount { p[base + i] = nextObservation[i] }
    }
    actions[position] = Int32(action)
    rewards[position] = reward
    self.terminated[position] = terminated ? 1 : 0
    position = (position + 1) % capacity
    count = min(count + 1, capacity)
  }

  /// Saves the contents under `prefix`.
  public func store(in archive: inout TensorArchive, as prefix: String) {
    archive.arrays["\(prefix).observations"] = .float(observations)
    archive.arrays["\(prefix).next_observations"] = .float(nextObservations)
    archive.arrays["\(prefix).actions"] = .int32(actions)
    archive.arrays["\(prefix).rewards"] = .float(rewards)
    archive.arrays["\(prefix).terminated"] = .float(terminated)
    archive.arrays["\(prefix).cursor"] = .int64([Int64(position), Int64(count)])
  }

  /// Restores what `store(in:as:)` saved into a buffer of the same capacity.
  public mutating func restore(from archive: TensorArchive, as prefix: String) throws {
    let values = capacity * observationCount
    observations = try archive.floats("\(prefix).observations", count: values)
    nextObservations = try archive.floats("\(prefix).next_observations", count: values)
    actions = try archive.int32s("\(prefix).actions", count: capacity)
    rewards = try archive.floats("\(prefix).rewards", count: capacity)
    terminated = try archive.floats("\(prefix).terminated", count: capacity)
    let cursor = try archive.int64s("\(prefix).cursor", count: 2)
    position = Int(cursor[0])
    count = Int(cursor[1])
  }

  /// Fills `batch` with `batch.size` transitions drawn uniformly with replacement.
  public func sample(into batch: inout TransitionBatch, using rng: inout SeededGenerator) {
    precondition(count > 0, "ReplayBuffer.sample: the buffer is empty")
    let n = observationCount
    for b in 0..<batch.size {
      let i = rng.index(below: count)
      for j in 0..<n {
        batch.observations[b * n + j] = observations[i * n + j]
        batch.nextObservations[b * n + j] = nextObservations[i * n + j]
      }
      batch.actions[b] = Int(actions[i])
      batch.rewards[b] = rewards[i]
      batch.terminated[b] = terminated[i]
    }
  }
}
