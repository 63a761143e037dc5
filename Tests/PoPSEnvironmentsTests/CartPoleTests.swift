import Foundation
import PoPSCore
import PoPSEnvironments
import Testing

struct CartPoleTests {
  @Test func matchesGymnasiumTrajectoriesExactly() throws {
    let reference = try ReferenceTrajectories.load()
    #expect(reference.trajectories.count == 36)
    var longest = 0
    for trajectory in reference.trajectories {
      let spec = try Environments.spec(for: trajectory.env)
      var env = TimeLimit(CartPole(), maxEpisodeSteps: spec.maxEpisodeSteps)
      _ = try env.reset(seed: 0)
      let s = trajectory.start
      _ = env.base.reset(toState: SIMD4(s[0], s[1], s[2], s[3]))
      for (t, expected) in trajectory.steps.enumerated() {
        let step = try env.step(taking: expected.action)
        let state = env.base.state
        let what = "\(trajectory.env) seed \(trajectory.seed) \(trajectory.policy) step \(t)"
        for i in 0..<4 {
          #expect(abs(state[i] - expected.state[i]) <= 1e-6, "\(what): state[\(i)] \(state[i]) vs \(expected.state[i])")
          #expect(abs(Double(step.observation[i]) - expected.observation[i]) <= 1e-6, "\(what): observation[\(i)]")
        }
        #expect(step.reward == expected.reward, "\(what): reward")
        #expect(step.terminated == expected.terminated, "\(what): terminated")
        #expect(step.truncated == expected.truncated, "\(what): truncated")
        if step.isLast {
          #expect(t == trajectory.steps.count - 1, "\(what): episode ended early")
        }
      }
      longest = max(longest, trajectory.steps.count)
    }
    #expect(longest == 500, "some trajectories run into the v1 time limit")
  }

  @Test func startsNearUprightAndEndsAtTheLimits() throws {
    var env = CartPole(seed: 3)
    for _ in 0..<100 {
      let obs = env.reset()
      #expect(obs.allSatisfy { abs($0) <= 0.05 })
      #expect(env.observationSpace.contains(obs))
    }
    // Always pushing right tips the pole over within a few dozen steps.
    _ = env.reset(seed: 1)
    var steps = 0
    var last = env.step(taking: 1)
    while !last.terminated {
      steps += 1
      last = env.step(taking: 1)
    }
    #expect(steps > 3 && steps < 60)
    #expect(last.reward == 1, "the terminating step is rewarded")
    #expect(env.step(taking: 1).reward == 0, "steps past the end earn nothing")
  }

  @Test(arguments: [("CartPole-v0", 200), ("CartPole-v1", 500)])
  func theTimeLimitTruncatesABalancedPole(_ id: String, _ limit: Int) throws {
    var env = try Environments.make(id, seed: 1)
    var observation = try env.reset(seed: 1)
    var count = 0
    var step: Step
    repeat {
      // A PD controller on the pole (and, weakly, the cart) keeps it up until the limit.
      let push = 0.1 * observation[0] + 0.5 * observation[1] + 10 * observation[2] + 3 * observation[3]
      step = try env.step(taking: push > 0 ? 1 : 0)
      observation = step.observation
      count += 1
    } while !step.isLast && count < 1_000
    #expect(count == limit)
    #expect(step.truncated && !step.terminated)
    #expect(step.reward == 1)
  }


  @Test func unknownIdsNameTheKnownOnes() {
    #expect(throws: EnvironmentError.self) { try Environments.make("CartPole-v9") }
    let error = #expect(throws: EnvironmentError.self) { try Environments.make("Pendulum") }
    #expect(error?.description.contains("unknown environment id 'Pendulum'") == true)
    #expect(error?.description.contains("CartPole-v0") == true)
  }

  @Test func spacesMatchGymnasium() {
    let env = CartPole()
    #expect(env.actionSpace.count == 2)
    #expect(env.observationSpace.shape == [4])
    #expect(abs(env.observationSpace.high[0] - 4.8) < 1e-6)
    #expect(abs(Double(env.observationSpace.high[2]) - 0.41887903) < 1e-6)
  }
}

struct ReferenceTrajectories: Decodable {
  struct Step: Decodable {
    var action: Int
    var state: [Double]
    var observation: [Double]
    var reward: Double
    var terminated: Bool
    var truncated: Bool
  }
  struct Trajectory: Decodable {
    var env: String
    var seed: Int
    var policy: String
    var start: [Double]
    var steps: [Step]
  }
  var gymnasium: String
  var trajectories: [Trajectory]

  static func load() throws -> ReferenceTrajectories {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/cartpole_trajectories.json")
    return try JSONDecoder().decode(ReferenceTrajectories.self, from: Data(contentsOf: url))
  }
}
