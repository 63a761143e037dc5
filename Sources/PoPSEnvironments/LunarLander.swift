import CBox2D
import Foundation
import PoPSCore

/// Land a rocket on the pad: Gymnasium's `LunarLander` (v3 semantics) on the
/// real Box2D, discrete actions.
///
/// - Observation (8): x, y relative to the pad (scaled), x and y velocity,
///   angle, angular velocity, left and right leg contact.
/// - Actions: 0 noop, 1 fire left engine, 2 fire main engine, 3 fire right engine.
/// - Reward: change in a shaping potential (distance, speed, tilt, leg
///   contacts), -0.3 per main-engine frame, -0.03 per side-engine frame;
///   -100 for a crash or flying out of the screen, +100 for coming to rest.
/// - Start: the lander at the top centre with a random push; the terrain is
///   random but the pad at the centre is flat. Both come from the seed.
/// - Termination: crash (the body touches the ground), |x| >= 1, or the lander
///   at rest (Box2D puts it to sleep). `TimeLimit` truncates at 1000 steps.
/// - Wind and turbulence: off by default, as in Gymnasium.
///
/// Box2D here is 2.4 (Gymnasium uses 2.3), so trajectories agree closely at
/// first and statistically over episodes, not bit for bit.
public struct LunarLander: Environment {
  public static let fps = 50.0
  public static let scale = 30.0
  public static let mainEnginePower = 13.0
  public static let sideEnginePower = 0.6
  public static let initialRandom = 1000.0
  public static let landerPolygon: [(Double, Double)] = [(-14, 17), (-17, 0), (-17, -10), (17, -10), (17, 0), (14, 17)]
  public static let legAway = 20.0
  public static let legDown = 18.0
  public static let legWidth = 2.0
  public static let legHeight = 8.0
  public static let legSpringTorque = 40.0
  public static let sideEngineHeight = 14.0
  public static let sideEngineAway = 12.0
  public static let mainEngineYLocation = 4.0
  public static let viewportWidth = 600.0
  public static let viewportHeight = 400.0
  static let chunks = 11

  /// Gravity (negative, in (-12, 0)). Default -10.
  public let gravity: Double
  public let enableWind: Bool
  /// Wind force scale (Gymnasium default 15).
  public let windPower: Double
  /// Turbulence torque scale (Gymnasium default 1.5).
  public let turbulencePower: Double

  private var world: WorldHandle?
  private var rng: SeededGenerator
  private var prevShaping: Double?
  private var helipadY = 0.0
  private var windIndex = 0
  private var torqueIndex = 0
  /// Engine dispersion draws to use before the generator's (replay).
  private var scriptedDispersions: [[Double]] = []

  public init(
    seed: UInt64 = 0, gravity: Double = -10, enableWind: Bool = false, windPower: Double = 15,
    turbulencePower: Double = 1.5
  ) {
    precondition(gravity > -12 && gravity < 0, "LunarLander: gravity must be in (-12, 0), got \(gravity)")
    self.gravity = gravity
    self.enableWind = enableWind
    self.windPower = windPower
    self.turbulencePower = turbulencePower
    rng = SeededGenerator(seed: seed)
  }

  public var observationSpace: BoxSpace {
    BoxSpace(
      low: [-2.5, -2.5, -10, -10, -2 * .pi, -10, 0, 0],
      high: [2.5, 2.5, 10, 10, 2 * .pi, 10, 1, 1])
  }

  public var actionSpace: DiscreteSpace { DiscreteSpace(4) }

  /// Bodies alive in the current world (3 plus the moon), for leak checks.
  public var bodyCount: Int { world.map { Int(pops_lander_body_count($0.pointer)) } ?? 0 }

  /// Worlds alive in the process, for leak checks.
  public static var liveWorlds: Int { Int(pops_lander_live_worlds()) }

  /// Worlds created minus destroyed on the calling thread: a leak check that
  /// landers made by other threads at the same time (parallel tests) cannot
  /// disturb, for code that creates and drops its landers on one thread.
  public static var liveWorldsOnThisThread: Int { Int(pops_lander_thread_live_worlds()) }

  public mutating func reset(seed: UInt64?) -> [Float] {
    if let seed { rng = SeededGenerator(seed: seed) }
    let h = Self.viewportHeight / Self.scale
    let heights = (0...Self.chunks).map { _ in rng.nextUnitDouble() * h / 2 }
    let force = (
      rng.nextUnitDouble() * 2 * Self.initialRandom - Self.initialRandom,
      rng.nextUnitDouble() * 2 * Self.initialRandom - Self.initialRandom
    )
    return start(heights: heights, force: force)
  }

  /// Starts a new episode, continuing the current random stream; never throws.
  public mutating func reset() -> [Float] { reset(seed: nil) }

  /// Starts an episode from given random draws instead of the generator's:
  /// the 12 terrain heights, the initial push, and the engine dispersion
  /// pairs of the first steps (the reset's own step first), as Gymnasium's
  /// generator produced them. Used to compare trajectories with Gymnasium.
  public mutating func reset(replayingHeights heights: [Double], force: (Double, Double), dispersions: [[Double]]) -> [Float] {
    precondition(heights.count == Self.chunks + 1, "LunarLander: \(Self.chunks + 1) terrain heights expected")
    precondition(dispersions.allSatisfy { $0.count == 2 }, "LunarLander: dispersions come in pairs")
    scriptedDispersions = dispersions.reversed()
    return start(heights: heights, force: force)
  }

  private mutating func start(heights: [Double], force: (Double, Double)) -> [Float] {
    let w = Self.viewportWidth / Self.scale
    let h = Self.viewportHeight / Self.scale
    let chunks = Self.chunks
    var height = heights
    let chunkX = (0..<chunks).map { w / Double(chunks - 1) * Double($0) }
    helipadY = h / 4
    for i in (chunks / 2 - 2)...(chunks / 2 + 2) { height[i] = helipadY }
    let smoothY = (0..<chunks).map { i in 0.33 * (height[(i - 1 + height.count) % height.count] + height[i] + height[i + 1]) }
    let vertices = Self.landerPolygon.flatMap { [$0.0 / Self.scale, $0.1 / Self.scale] }
    let startX = Self.viewportWidth / Self.scale / 2
    let startY = Self.viewportHeight / Self.scale
    let created: OpaquePointer? = chunkX.withUnsafeBufferPointer { xs in
      smoothY.withUnsafeBufferPointer { ys in
        vertices.withUnsafeBufferPointer { vs in
          var setup = pops_lander_setup(
            gravity: gravity, terrain_x: xs.baseAddress, terrain_y: ys.baseAddress, terrain_count: Int32(chunks),
            ground_width: w, lander_vertices: vs.baseAddress, lander_vertex_count: Int32(Self.landerPolygon.count),
            start_x: startX, start_y: startY, leg_away: Self.legAway / Self.scale, leg_down: Self.legDown / Self.scale,
            leg_half_width: Self.legWidth / Self.scale, leg_half_height: Self.legHeight / Self.scale,
            leg_spring_torque: Self.legSpringTorque)
          return pops_lander_create(&setup)
        }
      }
    }
    guard let created else { preconditionFailure("LunarLander: Box2D world creation failed") }
    world = WorldHandle(created)
    pops_lander_apply_force_to_center(created, force.0, force.1)
    if enableWind {
      windIndex = Int(rng.next(upperBound: UInt64(19_998))) - 9_999
      torqueIndex = Int(rng.next(upperBound: UInt64(19_998))) - 9_999
    }
    prevShaping = nil
    return step(taking: 0).observation
  }

  public mutating func step(taking action: Int) -> Step {
    precondition((0..<4).contains(action), "LunarLander: action must be 0...3, got \(action)")
    guard let handle = world?.pointer else { preconditionFailure("LunarLander: call reset() before step()") }
    var s = pops_lander_state()
    pops_lander_get_state(handle, &s)
    if enableWind && s.leg_contact.0 == 0 && s.leg_contact.1 == 0 {
      let wind = tanh(sin(0.02 * Double(windIndex)) + sin(Double.pi * 0.01 * Double(windIndex))) * windPower
      windIndex += 1
      pops_lander_apply_force_to_center(handle, wind, 0)
      let torque = tanh(sin(0.02 * Double(torqueIndex)) + sin(Double.pi * 0.01 * Double(torqueIndex))) * turbulencePower
      torqueIndex += 1
      pops_lander_apply_torque(handle, torque)
    }
    let tip = (sin(s.angle), cos(s.angle))
    let side = (-tip.1, tip.0)
    let dispersion: (Double, Double)
    if let scripted = scriptedDispersions.popLast() {
      dispersion = (scripted[0], scripted[1])
    } else {
      dispersion = ((rng.nextUnitDouble() * 2 - 1) / Self.scale, (rng.nextUnitDouble() * 2 - 1) / Self.scale)
    }
    var mainPower = 0.0
    if action == 2 {
      mainPower = 1
      let ox = tip.0 * (Self.mainEngineYLocation / Self.scale + 2 * dispersion.0) + side.0 * dispersion.1
      let oy = -tip.1 * (Self.mainEngineYLocation / Self.scale + 2 * dispersion.0) - side.1 * dispersion.1
      pops_lander_apply_linear_impulse(
        handle, -ox * Self.mainEnginePower * mainPower, -oy * Self.mainEnginePower * mainPower, s.x + ox, s.y + oy)
    }
    var sidePower = 0.0
    if action == 1 || action == 3 {
      let direction = Double(action - 2)
      sidePower = 1
      let ox = tip.0 * dispersion.0 + side.0 * (3 * dispersion.1 + direction * Self.sideEngineAway / Self.scale)
      let oy = -tip.1 * dispersion.0 - side.1 * (3 * dispersion.1 + direction * Self.sideEngineAway / Self.scale)
      let px = s.x + ox - tip.0 * 17 / Self.scale
      let py = s.y + oy + tip.1 * Self.sideEngineHeight / Self.scale
      pops_lander_apply_linear_impulse(
        handle, -ox * Self.sideEnginePower * sidePower, -oy * Self.sideEnginePower * sidePower, px, py)
    }
    pops_lander_step(handle, 1 / Self.fps, 6 * 30, 2 * 30)
    pops_lander_get_state(handle, &s)
    let halfW = Self.viewportWidth / Self.scale / 2
    let halfH = Self.viewportHeight / Self.scale / 2
    let state: [Double] = [
      (s.x - halfW) / halfW,
      (s.y - (helipadY + Self.legDown / Self.scale)) / halfH,
      s.vx * halfW / Self.fps,
      s.vy * halfH / Self.fps,
      s.angle,
      20 * s.angular_velocity / Self.fps,
      s.leg_contact.0 != 0 ? 1 : 0,
      s.leg_contact.1 != 0 ? 1 : 0,
    ]
    let shaping = -100 * (state[0] * state[0] + state[1] * state[1]).squareRoot()
      - 100 * (state[2] * state[2] + state[3] * state[3]).squareRoot()
      - 100 * abs(state[4]) + 10 * state[6] + 10 * state[7]
    var reward = prevShaping.map { shaping - $0 } ?? 0
    prevShaping = shaping
    reward -= mainPower * 0.30
    reward -= sidePower * 0.03
    var terminated = false
    if s.lander_contact != 0 || abs(state[0]) >= 1 {
      terminated = true
      reward = -100
    }
    if s.awake == 0 {
      terminated = true
      reward = 100
    }
    return Step(observation: state.map { Float($0) }, reward: reward, terminated: terminated, truncated: false)
  }

  /// Gymnasium's heuristic controller for the discrete lander.
  public static func heuristicAction(for s: [Float]) -> Int {
    var angleTarget = Double(s[0]) * 0.5 + Double(s[2]) * 1.0
    angleTarget = min(max(angleTarget, -0.4), 0.4)
    let hoverTarget = 0.55 * abs(Double(s[0]))
    var angleTodo = (angleTarget - Double(s[4])) * 0.5 - Double(s[5]) * 1.0
    var hoverTodo = (hoverTarget - Double(s[1])) * 0.5 - Double(s[3]) * 0.5
    if s[6] != 0 || s[7] != 0 {
      angleTodo = 0
      hoverTodo = -Double(s[3]) * 0.5
    }
    if hoverTodo > abs(angleTodo) && hoverTodo > 0.05 { return 2 }
    if angleTodo < -0.05 { return 3 }
    if angleTodo > 0.05 { return 1 }
    return 0
  }
}

/// Owns one Box2D world; destroys it when the last copy of the environment goes.
final class WorldHandle: @unchecked Sendable {
  let pointer: OpaquePointer

  init(_ pointer: OpaquePointer) { self.pointer = pointer }

  deinit { pops_lander_destroy(pointer) }
}
