import Foundation

/// A small, fast, seedable pseudo-random generator (xoshiro256**), seeded
/// through SplitMix64 so that any 64-bit seed gives a well-mixed state.
///
/// Every source of randomness in pops takes one of these (`using: &rng`), so
/// the same seed always gives the same numbers on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var s0, s1, s2, s3: UInt64

  /// Creates a generator whose whole stream is determined by `seed`.
  public init(seed: UInt64) {
    var sm = seed
    func splitMix(_ x: inout UInt64) -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s0 = splitMix(&sm)
    s1 = splitMix(&sm)
    s2 = splitMix(&sm)
    s3 = splitMix(&sm)
  }

  /// The generator's whole state, for checkpoints.
  public var state: [UInt64] { [s0, s1, s2, s3] }

  /// A generator continuing from a saved `state` (four words, not all zero).
  public init?(state: [UInt64]) {
    guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
    (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
  }

  public mutating func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << 45) | (s3 >> 19)
    return result
  }

  /// A uniformly distributed float in [0, 1) with 24 random bits.
  @inlinable
  public mutating func nextUnitFloat() -> Float {
    Float(next() >> 40) * 0x1p-24
  }

  /// A uniformly distributed double in [0, 1) with 53 random bits.
  @inlinable
  public mutating func nextUnitDouble() -> Double {
    Double(next() >> 11) * 0x1p-53
  }

  /// A uniformly distributed float in [low, high).
  @inlinable
  public mutating func uniform(_ low: Float, _ high: Float) -> Float {
    low + (high - low) * nextUnitFloat()
  }

  /// A uniformly distributed integer in 0..<bound.
  @inlinable
  public mutating func index(below bound: Int) -> Int {
    precondition(bound > 0, "index(below:) needs a positive bound, got \(bound)")
    return Int(next(upperBound: UInt64(bound)))
  }

  /// A standard normal sample (Box-Muller).
  public mutating func normal() -> Float {
    let u1 = max(nextUnitDouble(), 1e-300)
    let u2 = nextUnitDouble()
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// A new generator derived from this one, for an independent stream.
  public mutating func split() -> SeededGenerator {
    SeededGenerator(seed: next())
  }
}


/// A generator's state in JSON: its four words as hexadecimal strings (JSON
/// numbers cannot hold every 64-bit value exactly).
extension SeededGenerator: Codable, Equatable {
  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    let words = try container.decode([String].self)
    let state = words.compactMap { UInt64($0, radix: 16) }
    guard state.count == 4, let generator = SeededGenerator(state: state) else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "a random generator's state is four hexadecimal words, not all zero; got \(words)")
    }
    self = generator
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(state.map { String($0, radix: 16) })
  }
}
