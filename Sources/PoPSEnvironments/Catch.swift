import PoPSCore

/// A tiny pixel game for testing convolutional policies quickly: a ball falls
/// from a random column of the top row of a `size` x `size` grid, one row
/// per step; a one-pixel paddle on the bottom row moves left, stays or moves
/// right. Catching the ball gives +1, missing it -1, and the episode ends.
///
/// - Observation: `[1, size, size]` pixels, 1 where the ball or paddle is.
/// - Actions: 0 left, 1 stay, 2 right.
/// - Optimal return: +1; a random policy averages well below 0.
public struct Catch: Environment {
  public let size: Int
  private var rng: SeededGenerator
  private var ballRow = 0, ballColumn = 0, paddle = 0

  public init(size: Int = 10, seed: UInt64 = 0) {
    precondition(size >= 3, "Catch: size must be at least 3, got \(size)")
    self.size = size
    rng = SeededGenerator(seed: seed)
  }

  public var observationSpace: BoxSpace {
    BoxSpace(
      low: [Float](repeating: 0, count: size * size), high: [Float](repeating: 1, count: size * size),
      shape: [1, size, size])
  }

  public var actionSpace: DiscreteSpace { DiscreteSpace(3) }

  var observation: [Float] {
    var pixels = [Float](repeating: 0, count: size * size)
    pixels[ballRow * size + ballColumn] = 1
    pixels[(size - 1) * size + paddle] = 1
    return pixels
  }

  public mutating func reset(seed: UInt64?) -> [Float] {
    if let seed { rng = SeededGenerator(seed: seed) }
    ballRow = 0
    ballColumn = rng.index(below: size)
    paddle = rng.index(below: size)
    return observation
  }

  /// Starts a new episode, continuing the current random stream; never throws.
  public mutating func reset() -> [Float] { reset(seed: nil) }

  public mutating func step(taking action: Int) -> Step {
    precondition((0..<3).contains(action), "Catch: action must be 0, 1 or 2, got \(action)")
    paddle = min(max(paddle + action - 1, 0), size - 1)
    ballRow += 1
    if ballRow == size - 1 {
      let reward: Double = paddle == ballColumn ? 1 : -1
      return Step(observation: observation, reward: reward, terminated: true, truncated: false)
    }
    return Step(observation: observation, reward: 0, terminated: false, truncated: false)
  }
}
