import PoPSCore
import PoPSNN

/// A replay buffer for stacked pixel observations (`[stack, H, W]` with 256
/// levels: 0...255, or 0...1 in steps of 1/255 as the Gymnasium bridge
/// delivers Atari frames) that stores each frame once, as a byte: a million
/// Atari transitions take about 7 GB instead of the 226 GB of float32
/// observation pairs.
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
  /// The observation value of one byte step (1 for 0...255, 1/255 for 0...1).
  public let scale: Float
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
  ///   - scale: the observation value of one byte step: the largest
  ///     observation value / 255.
  public init(capacity: Int, stack: Int, frameSize: Int, scale: Float = 1) {
    precondition(scale > 0, "FrameReplayBuffer: scale must be positive, got \(scale)")
    self.scale = scale
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
      let inverse = 1 / scale
      for j in 0..<frameSize {
        f[slot * frameSize + j] = UInt8(max(0, min(255, (observation[base + j] * inverse).rounded())))
      }
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

  /// Saves the contents under `prefix`. The episode in progress is closed:
  /// a run resumed from the archive starts a new one.
  public func store(in archive: inout TensorArchive, as prefix: String) {
    // Only the slots written so far (the whole ring once it has wrapped).
    archive.arrays["\(prefix).frames"] = .bytes(Array(frames.prefix(min(written, capacity) * frameSize)))
    archive.arrays["\(prefix).stamps"] = .int64(stamps.map(Int64.init))
    archive.arrays["\(prefix).episode_start"] = .bytes(episodeStart.map { $0 ? 1 : 0 })
    archive.arrays["\(prefix).has_transition"] = .bytes(hasTransition.map { $0 ? 1 : 0 })
    archive.arrays["\(prefix).actions"] = .int32(actions)
    archive.arrays["\(prefix).rewards"] = .float(rewards)
    archive.arrays["\(prefix).terminated"] = .float(terminated)
    archive.arrays["\(prefix).cursor"] = .int64([Int64(written), Int64(transitions)])
    archive.arrays["\(prefix).scale"] = .float([scale])
  }

  /// Restores what `store(in:as:)` saved into a buffer of the same shape.
  public mutating func restore(from archive: TensorArchive, as prefix: String) throws {
    let savedScale = try archive.floats("\(prefix).scale", count: 1)[0]
    guard savedScale == scale else {
      throw archive.problem("its frames were stored with scale \(savedScale), this buffer uses \(scale)")
    }
    let cursor = try archive.int64s("\(prefix).cursor", count: 2)
    let stored = try archive.bytes("\(prefix).frames", count: min(Int(cursor[0]), capacity) * frameSize)
    frames = stored + [UInt8](repeating: 0, count: capacity * frameSize - stored.count)
    stamps = try archive.int64s("\(prefix).stamps", count: capacity).map(Int.init)
    episodeStart = try archive.bytes("\(prefix).episode_start", count: capacity).map { $0 != 0 }
    hasTransition = try archive.bytes("\(prefix).has_transition", count: capacity).map { $0 != 0 }
    actions = try archive.int32s("\(prefix).actions", count: capacity)
    rewards = try archive.floats("\(prefix).rewards", count: capacity)
    terminated = try archive.floats("\(prefix).terminated", count: capacity)
    written = Int(cursor[0])
    transitions = Int(cursor[1])
    pending = nil
  }

  /// Closes the episode in progress: the next `add` starts a new one (a
  /// training loop that resets its environment calls this).
  public mutating func endEpisode() { pending = nil }

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
        for j in 0..<frameSize { dst[j] = Float(f[src + j]) * scale }
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
