import Foundation
import PoPSCore
import PoPSEnvironments
import Testing

struct LunarLanderTests {
  @Test func heuristicLandsOnAverage() throws {
    let returns = try heuristicReturns(seeds: 0..<100)
    let mean = returns.reduce(0, +) / 100
    #expect(mean >= 200, "heuristic mean \(mean)")
  }

  /// Our heuristic returns over 200 seeds against Gymnasium's own (fixture):
  /// a two-sample Kolmogorov-Smirnov test at the 1% level must not reject
  /// that they come from the same distribution (critical D = 1.628 sqrt(2/200)).
  @Test func heuristicReturnsMatchGymnasiumsDistribution() throws {
    let reference = try LunarLanderReference.load()
    #expect(reference.heuristicReturns.count == 200)
    let ours = try heuristicReturns(seeds: 1_000..<1_200)
    let d = kolmogorovSmirnov(ours, reference.heuristicReturns)
    let critical = 1.628 * (2.0 / 200).squareRoot()
    #expect(d < critical, "KS statistic \(d) >= \(critical)")
    let meanOurs = ours.reduce(0, +) / 200
    let meanTheirs = reference.heuristicReturns.reduce(0, +) / 200
    #expect(abs(meanOurs - meanTheirs) < 25, "means \(meanOurs) vs \(meanTheirs)")
  }

  /// From Gymnasium's own random draws and actions, the first 20 observations
  /// stay within 1e-3 in position, velocity and angle, 1e-2 in the scaled
  /// angular velocity, and leg contacts agree exactly. Box2D is 2.4 here and
  /// 2.3 in Gymnasium: 2.4 rewrote the revolute joint limits, and the gap in
  /// angular velocity (~5e-3) appears when the legs swing into their limits
  /// around step 16.
  @Test func replayedTrajectoriesStayCloseToGymnasium() throws {
    let reference = try LunarLanderReference.load()
    let tolerance = [1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-2, 0, 0]
    var worst = [Double](repeating: 0, count: 8)
    for trajectory in reference.trajectories {
      var env = LunarLander()
      let first = env.reset(
        replayingHeights: trajectory.heights, force: (trajectory.force[0], trajectory.force[1]),
        dispersions: trajectory.dispersions)
      var observations = [first]
      for action in trajectory.actions { observations.append(env.step(taking: action).observation) }
      for (t, (ours, theirs)) in zip(observations, trajectory.observations).enumerated() {
        for i in 0..<8 {
          let gap = abs(Double(ours[i]) - theirs[i])
          worst[i] = max(worst[i], gap)
          #expect(gap <= tolerance[i], "seed \(trajectory.seed) \(trajectory.policy) step \(t) obs[\(i)]: \(ours[i]) vs \(theirs[i])")
        }
      }
    }
    // The start (before the joints matter) agrees much more tightly.
    #expect(worst.prefix(5).allSatisfy { $0 < 1e-3 }, "worst gaps \(worst)")
  }

  /// Counted on this thread: other suites create landers in parallel (the
  /// process-wide count made this test fail when the machine was busy).
  @Test func worldsAreFreedAcrossManyResets() throws {
    let before = LunarLander.liveWorldsOnThisThread
    do {
      var env = LunarLander(seed: 3)
      for _ in 0..<500 {
        _ = env.reset()
        for _ in 0..<5 { _ = env.step(taking: 2) }
        #expect(env.bodyCount == 4, "moon, lander and two legs")
      }
      #expect(LunarLander.liveWorldsOnThisThread == before + 1)
    }
    #expect(LunarLander.liveWorldsOnThisThread == before)
  }

  @Test func crashesEndWithMinus100() throws {
    var env = LunarLander(seed: 4)
    _ = env.reset()
    var last: Step
    repeat { last = env.step(taking: 0) } while !last.terminated
    #expect(last.reward == -100, "doing nothing crashes the lander")
    #expect(env.observationSpace.shape == [8] && env.actionSpace.count == 4)
  }
}

struct LunarLanderReference: Decodable {
  struct Trajectory: Decodable {
    var seed: Int
    var policy: String
    var heights: [Double]
    var force: [Double]
    var dispersions: [[Double]]
    var actions: [Int]
    var observations: [[Double]]
  }
  var gymnasium: String
  var heuristicReturns: [Double]
  var trajectories: [Trajectory]

  static func load() throws -> LunarLanderReference {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/lunarlander_reference.json")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(LunarLanderReference.self, from: Data(contentsOf: url))
  }
}

/// The two-sample Kolmogorov-Smirnov statistic: the largest gap between the
/// empirical distribution functions.
func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> Double {
  let xs = a.sorted(), ys = b.sorted()
  var i = 0, j = 0
  var d = 0.0
  while i < xs.count && j < ys.count {
    let x = min(xs[i], ys[j])
    while i < xs.count && xs[i] <= x { i += 1 }
    while j < ys.count && ys[j] <= x { j += 1 }
    d = max(d, abs(Double(i) / Double(xs.count) - Double(j) / Double(ys.count)))
  }
  return d
}
