import PoPSCore

/// A replay buffer for stacked pixel observations (`[stack, H, W]`, values
/// 0...255, as the Atari preprocessing produces) that stores each frame once,
/// as a byte: a million Atari transitions take about 7 GB instead of the
/// 226 GB of float32 observation pairs.
///
/// Every observation is kept as its newest frame in a ring of slots; the
/// older frames of a stack are the previous slots of the same episode, and at
/// an episode's start the first frame is repeated, as Gymnasium's
/// `FrameStackObservation` (padding "reset") does. A transition lives at the
/// slot of its observation; its next observation is the following slot.
public struct FrameReplayBuffer: Sendable {
  public let capacity: Int
  public let stack: Int
  public let frameSize: Int
  private var frames: [UInt8]
  private var stamps: [Int]
  private var episodeStart: [Bool]
  private var hasTransition: [Bool]
  private var actions: [Int32]
  private var rewards: [Float]
  private var terminated: [Float]
  private var written = 0
  /// The slot holding the last next-observation while its episode goes on.
  private var pending: Int? = nil
  /// Transitions stored so far (at most about `capacity`).
  public private(set) var transitions = 0

  /// - Parameters:
  ///   - capacity: frames kept (one per step, plus one per episode start).
  ///   - stack: frames per observation (4 for Atari).
  ///   - frameSize: values per frame (84 * 84).
  public init(capacity: Int, stack: Int, frameSize: Int) {
    precondition(capacity > stack + 1, "FrameReplayBuffer: capacity must exceed stack + 1, got \(capacity)")
    precondition(stack > 0 && frameSize > 0, "FrameReplayBuffer: stack and frameSize must be positive")
    self.capacity = capacity
    self.stack = stack
    self.frameSize = frameSize
    frames = [UInt8](repeating: 0, count: capacity * frameSize)
    stamps = [Int](repeating: -1, count: capacity)
    episodeStart = [Bool](repeating: false, count: capacity)
    hasTransition = episodeStart
    actions = [Int32](repeating: 0, count: capacity)
    rewards = [Float](repeating: 0, count: capacity)
    terminated = rewards
  }

  private mutating func write(newestFrameOf observation: [Float], start: Bool) -> Int {
    precondition(observation.count == stack * frameSize, "FrameReplayBuffer: observations must have \(stack * frameSize) values")
    let slot = written % capacity
    let base = (stack - 1) * frameSize
    frames.withUnsafeMutableBufferPointer { f in
      for j in 0..<frameSize { f[slot * frameSize + j] = UInt8(max(0, min(255, observation[base + j].rounded()))) }
    }
    stamps[slot] = written
    episodeStart[slot] = start
    hasTransition[slot] = false
    written += 1
    return slot
  }

  /// Stores one step. `episodeEnded` is `terminated || truncated`: the next
  /// `add` then starts a new episode.
  public mutating func add(
    observation: [Float], action: Int, reward: Float, nextObservation: [Float], terminated isTerminal: Bool,
    episodeEnded: Bool
  ) {
    let slot = pending ?? write(newestFrameOf: observation, start: true)
    let next = write(newestFrameOf: nextObservation, start: false)
    precondition(next == (slot + 1) % capacity, "FrameReplayBuffer: internal slot order")
    hasTransition[slot] = true
    actions[slot] = Int32(action)
    rewards[slot] = reward
    terminated[slot] = isTerminal ? 1 : 0
    transitions += 1
    pending = episodeEnded ? nil : next
  }

  /// Writes the stacked observation ending at `slot` into `out`; false when
  /// its history was overwritten.
  private func stackFrames(endingAt slot: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
    var sources = [Int](repeating: slot, count: stack)
    var current = slot
    for k in 1..<stack {
      if !episodeStart[current] {
        let previous = (current - 1 + capacity) % capacity
        guard stamps[previous] == stamps[current] - 1, stamps[previous] >= 0 else { return false }
        current = previous
      }
      sources[stack - 1 - k] = current
    }
    frames.withUnsafeBufferPointer { f in
      for (position, source) in sources.enumerated() {
        let dst = out + position * frameSize
        let src = source * frameSize
        for j in 0..<frameSize { dst[j] = Float(f[src + j]) }
      }
    }
    return true
  }

  /// Fills `batch` with uniformly drawn transitions whose frames are all still stored.
  public func sample(into batch: inout TransitionBatch, using rng: inout SeededGenerator) {
    precondition(transitions > 0, "FrameReplayBuffer.sample: the buffer is empty")
    let n = stack * frameSize
    let filled = min(written, capacity)
    for b in 0..<batch.size {
      var attempts = 0
      while true {
        attempts += 1
        precondition(attempts < 10_000, "FrameReplayBuffer.sample: no complete transition found")
        let slot = rng.index(below: filled)
        let next = (slot + 1) % capacity
        guard hasTransition[slot], stamps[next] == stamps[slot] + 1 else { continue }
        let ok = batch.observations.withUnsafeMutableBufferPointer { obs in
          batch.nextObservations.withUnsafeMutableBufferPointer { nextObs in
            stackFrames(endingAt: slot, into: obs.baseAddress! + b * n)
              && stackFrames(endingAt: next, into: nextObs.baseAddress! + b * n)
          }
        }
        guard ok else { continue }
        batch.actions[b] = Int(actions[slot])
        batch.rewards[b] = rewards[slot]
        batch.terminated[b] = terminated[slot]
        break
      }
    }
  }
}
