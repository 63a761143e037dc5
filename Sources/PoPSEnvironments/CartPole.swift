import Foundation
import PoPSCore

/// The classic cart-pole balancing task, with Gymnasium's `CartPoleEnv`
/// dynamics exactly (Barto, Sutton & Anderson 1983).
///
/// - Observation: `[x, x_dot, theta, theta_dot]` as float32; the state is
///   kept and integrated in double precision, as Gymnasium does.
/// - Actions: 0 pushes the cart left, 1 pushes it right (force 10 N).
/// - Reward: +1 for every step, including the one that terminates.
/// - Start: every state variable uniform in [-0.05, 0.05].
/// - Termination: |x| > 2.4 or |theta| > 12 degrees. Time limits come from
///   `TimeLimit` (CartPole-v0: 200 steps, v1: 500).
public struct CartPole: Environment {
  public static let gravity = 9.8
  public static let massCart = 1.0
  public static let massPole = 0.1
  public static let totalMass = massPole + massCart
  /// Half the pole's length.
  public static let length = 0.5
  public static let poleMassLength = massPole * length
  public static let forceMagnitude = 10.0
  /// Seconds between state updates (explicit Euler).
  public static let tau = 0.02
  public static let thetaThreshold = 12 * 2 * Double.pi / 360
  public static let xThreshold = 2.4

  /// The state `(x, x_dot, theta, theta_dot)` in double precision.
  public private(set) var state: SIMD4<Double> = .zero
  private var rng: SeededGenerator
  private var stepsBeyondTerminated: Int? = nil

  public init(seed: UInt64 = 0) {
    rng = SeededGenerator(seed: seed)
  }

  public var observationSpace: BoxSpace {
    let high: [Float] = [Float(Self.xThreshold * 2), .greatestFiniteMagnitude, Float(Self.thetaThreshold * 2), .greatestFiniteMagnitude]
    return BoxSpace(low: high.map { -$0 }, high: high)
  }

  public var actionSpace: DiscreteSpace { DiscreteSpace(2) }

  public var observation: [Float] { [Float(state.x), Float(state.y), Float(state.z), Float(state.w)] }

  public mutating func reset(seed: UInt64?) -> [Float] {
    if let seed { rng = SeededGenerator(seed: seed) }
    state = SIMD4(
      rng.nextUnitDouble() * 0.1 - 0.05, rng.nextUnitDouble() * 0.1 - 0.05,
      rng.nextUnitDouble() * 0.1 - 0.05, rng.nextUnitDouble() * 0.1 - 0.05)
    stepsBeyondTerminated = nil
    return observation
  }

  /// Starts a new episode, continuing the current random stream; never throws.
  public mutating func reset() -> [Float] { reset(seed: nil) }

  /// Starts an episode from a given state (for tests and reference checks).
  public mutating func reset(toState newState: SIMD4<Double>) -> [Float] {
    state = newState
    stepsBeyondTerminated = nil
    return observation
  }

  public mutating func step(taking action: Int) -> Step {
    precondition(action == 0 || action == 1, "CartPole: action must be 0 or 1, got \(action)")
    let (x, xDot, theta, thetaDot) = (state.x, state.y, state.z, state.w)
    let force = action == 1 ? Self.forceMagnitude : -Self.forceMagnitude
    let cosTheta = cos(theta)
    let sinTheta = sin(theta)
    let temp = (force + Self.poleMassLength * (thetaDot * thetaDot) * sinTheta) / Self.totalMass
    let thetaAcc = (Self.gravity * sinTheta - cosTheta * temp)
      / (Self.length * (4.0 / 3.0 - Self.massPole * (cosTheta * cosTheta) / Self.totalMass))
    let xAcc = temp - Self.poleMassLength * thetaAcc * cosTheta / Self.totalMass
    state = SIMD4(x + Self.tau * xDot, xDot + Self.tau * xAcc, theta + Self.tau * thetaDot, thetaDot + Self.tau * thetaAcc)
    let terminated = state.x < -Self.xThreshold || state.x > Self.xThreshold
      || state.z < -Self.thetaThreshold || state.z > Self.thetaThreshold
    var reward = 1.0
    if terminated {
      // Gymnasium rewards the terminating step, then 0 for steps past the end.
      if let beyond = stepsBeyondTerminated {
        reward = 0
        stepsBeyondTerminated = beyond + 1
      } else {
        stepsBeyondTerminated = 0
      }
    }
    return Step(observation: observation, reward: reward, terminated: terminated, truncated: false)
  }
}
