import Foundation

/// The supervised replay buffer of PoPS (docs/algorithm.md section 2): states the
/// teacher visited with the teacher's output vector (Q-values or logits) and
/// its action, in preallocated ring storage.
public struct ExperienceBuffer: Sendable {
  public let capacity: Int
  public let observationCount: Int
  public let actionCount: Int
  private var states: [Float]
  private var outputs: [Float]
  private var actions: [Int32]
  public private(set) var count = 0
  /// Where the next entry goes.
  public private(set) var position = 0

  public init(capacity: Int, observationCount: Int, actionCount: Int) {
    precondition(capacity > 0, "ExperienceBuffer: capacity must be positive, got \(capacity)")
    self.capacity = capacity
    self.observationCount = observationCount
    self.actionCount = actionCount
    states = [Float](repeating: 0, count: capacity * observationCount)
    outputs = [Float](repeating: 0, count: capacity * actionCount)
    actions = [Int32](repeating: 0, count: capacity)
  }

  /// Forgets every entry (the storage is kept).
  public mutating func removeAll() {
    count = 0
    position = 0
  }

  /// Sets where the next entry goes and how many entries count as held, so
  /// refills replayed from a stage checkpoint land where they first did.
  /// Returns false (changing nothing) for values outside the buffer.
  public mutating func rewind(position: Int, count: Int) -> Bool {
    guard (0..<capacity).contains(position), (0...capacity).contains(count) else { return false }
    self.position = position
    self.count = count
    return true
  }

  public mutating func add(state: [Float], teacherOutput: [Float], action: Int) {
    states.replaceSubrange((position * observationCount)..<((position + 1) * observationCount), with: state)
    outputs.replaceSubrange((position * actionCount)..<((position + 1) * actionCount), with: teacherOutput)
    actions[position] = Int32(action)
    position = (position + 1) % capacity
    count = min(count + 1, capacity)
  }

  /// The teacher plays `steps` steps and every visited state is stored with
  /// its output. It acts greedily, except with probability `exploration` it
  /// takes a random action (the stored target is still the teacher's output).
  public mutating func refill(
    from teacher: Network, in environment: inout any Environment, steps: Int, exploration: Double,
    using rng: inout SeededGenerator
  ) throws {
    var observation = try environment.reset(seed: rng.next())
    for _ in 0..<steps {
      let output = teacher.predict(observation)
      let greedy = argmax(output)
      add(state: observation, teacherOutput: output, action: greedy)
      let action = rng.nextUnitDouble() < exploration ? rng.index(below: actionCount) : greedy
      let step = try environment.step(taking: action)
      observation = step.isLast ? try environment.reset(seed: rng.next()) : step.observation
    }
  }

  /// Fills `states` [n, observationCount] and `teacherOutputs` [n, actionCount]
  /// with `n` uniformly drawn entries.
  public func sample(
    _ n: Int, states batchStates: inout [Float], teacherOutputs batchOutputs: inout [Float],
    using rng: inout SeededGenerator
  ) {
    precondition(count > 0, "ExperienceBuffer.sample: the buffer is empty")
    if batchStates.count != n * observationCount { batchStates = [Float](repeating: 0, count: n * observationCount) }
    if batchOutputs.count != n * actionCount { batchOutputs = [Float](repeating: 0, count: n * actionCount) }
    for b in 0..<n {
      let i = rng.index(below: count)
      for j in 0..<observationCount { batchStates[b * observationCount + j] = states[i * observationCount + j] }
      for j in 0..<actionCount { batchOutputs[b * actionCount + j] = outputs[i * actionCount + j] }
    }
  }
}
