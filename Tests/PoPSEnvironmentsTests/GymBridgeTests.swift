import Foundation
import PoPSCore
import PoPSEnvironments
import Testing

/// These tests need the bridge's venv (`make deps-gym`, part of `make test`);
/// they fail, never skip, without it.
struct GymBridgeTests {
  @Test func roundTripMatchesGymnasiumDirectly() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/gym_bridge_reference.json")
    let reference = try JSONDecoder().decode(GymReference.self, from: Data(contentsOf: url))
    #expect(reference.episodes.count == 6)
    for episode in reference.episodes {
      var env = try Environments.make("gym:\(episode.env)")
      #expect(try env.reset(seed: episode.seed) == episode.first, "\(episode.env) seed \(episode.seed) first observation")
      for (t, expected) in episode.steps.enumerated() {
        let step = try env.step(taking: expected.action)
        #expect(step.observation == expected.observation, "\(episode.env) seed \(episode.seed) step \(t)")
        #expect(step.reward == expected.reward && step.terminated == expected.terminated && step.truncated == expected.truncated)
      }
    }
  }

  @Test func spacesAndSpecComeFromGymnasium() throws {
    let env = try GymEnvironment(id: "Acrobot-v1")
    #expect(env.observationSpace.shape == [6])
    #expect(env.actionSpace.count == 3)
    #expect(env.maxEpisodeSteps == 500)
    #expect(env.rewardThreshold == -100)
    let spec = try Environments.spec(for: "gym:CartPole-v1")
    #expect(spec.maxEpisodeSteps == 500 && spec.rewardThreshold == 475)
  }

  func expectBridgeError(_ text: String, _ body: () throws -> Void) {
    do {
      try body()
      Issue.record("expected an error containing '\(text)'")
    } catch {
      #expect("\(error)".contains(text), "\(error)")
    }
  }

  @Test func failuresAreClearErrors() {
    expectBridgeError("gymnasium cannot make 'CartPole-v9'") { _ = try GymEnvironment(id: "CartPole-v9") }
    expectBridgeError("pops supports Discrete only") { _ = try GymEnvironment(id: "Pendulum-v1") }
    expectBridgeError("no Python at /nonexistent/python") {
      _ = try GymEnvironment(id: "CartPole-v1", python: URL(fileURLWithPath: "/nonexistent/python"))
    }
    // A Python without gymnasium: the system one in a clean venv would do; /bin/false is simpler.
    expectBridgeError("gym:CartPole-v1") {
      _ = try GymEnvironment(id: "CartPole-v1", python: URL(fileURLWithPath: "/bin/false"))
    }
  }

  @Test func aDeadWorkerIsAnErrorNotAHang() throws {
    var env = try GymEnvironment(id: "CartPole-v1")
    _ = try env.reset(seed: 1)
    kill(env.workerProcessIdentifier, SIGKILL)
    usleep(200_000)
    expectBridgeError("the worker exited") { _ = try env.step(taking: 0) }
    // Other environments are unaffected.
    var other = try Environments.make("gym:CartPole-v1")
    _ = try other.reset(seed: 2)
    #expect(try !other.step(taking: 1).observation.isEmpty)
    // Gymnasium's own Box2D LunarLander (make deps-gym installs box2d).
    let spec = try Environments.spec(for: "gym:LunarLander-v3")
    #expect(spec.maxEpisodeSteps == 1000 && spec.rewardThreshold == 200)
    var lander = try Environments.make("gym:LunarLander-v3")
    #expect(lander.observationSpace.shape == [8] && lander.actionSpace.count == 4)
    _ = try lander.reset(seed: 1)
    #expect(try lander.step(taking: 0).observation.count == 8)
  }

  /// An action outside the action space (a network with more outputs than
  /// the environment has actions) is a thrown error naming the id and the
  /// action; nothing is sent, so the worker goes on in step: alone or in a
  /// vector (where the other actions are not sent either), its next step
  /// answers that step, as a worker that never saw the bad action does.
  @Test(arguments: [2, -1])
  func anActionOutsideTheSpaceIsAThrownError(_ action: Int) throws {
    var env = try GymEnvironment(id: "CartPole-v1")
    var vector = VectorEnvironment([env, try GymEnvironment(id: "CartPole-v1")])
    _ = try vector.reset(seed: 1)
    expectBridgeError("gym:CartPole-v1: action \(action) is outside the action space 0..<2") {
      _ = try env.step(taking: action)
    }
    expectBridgeError("gym:CartPole-v1: action \(action) is outside the action space 0..<2") {
      _ = try vector.step(taking: [0, action])
    }
    var reference = try GymEnvironment(id: "CartPole-v1")
    _ = try reference.reset(seed: 1)
    #expect(try env.step(taking: 1) == reference.step(taking: 1))
  }

  /// A worker that is alive but silent (SIGSTOP) is a thrown error within
  /// the timeout, naming the environment, and the worker is stopped for good.
  @Test func aSilentWorkerTimesOutAndIsStopped() throws {
    var env = try GymEnvironment(id: "CartPole-v1", stepTimeout: 1)
    _ = try env.reset(seed: 1)
    let pid = env.workerProcessIdentifier
    kill(pid, SIGSTOP)
    let started = Date()
    expectBridgeError("gym:CartPole-v1: the worker (pid \(pid)) did not answer a step within 1 s and was stopped") {
      _ = try env.step(taking: 0)
    }
    #expect(Date().timeIntervalSince(started) < 30, "the timeout did not end the wait")
    usleep(200_000)
    #expect(kill(pid, 0) != 0 || !env.isWorkerRunning, "the silent worker was left running")
    expectBridgeError("the worker exited") { _ = try env.step(taking: 0) }
  }

  /// Four workers stepped as one vector give exactly what four environments
  /// stepped one by one give, with the same seeds and actions; so does a
  /// vector of native environments.
  @Test(arguments: ["gym:CartPole-v1", "CartPole-v1"])
  func vectorStepsEqualSingleSteps(_ id: String) throws {
    var vector = try VectorEnvironment(id, count: 4, seed: 10)
    #expect(vector.isParallel == id.hasPrefix("gym:"))
    var singles = try (0..<4).map { try Environments.make(id, seed: 10 &+ UInt64($0)) }
    var observations = try vector.reset(seed: 100)
    for i in 0..<4 { #expect(try singles[i].reset(seed: 100 &+ UInt64(i)) == observations[i]) }
    var rng = SeededGenerator(seed: 3)
    var ended = 0
    for _ in 0..<300 {
      let actions = (0..<4).map { _ in rng.index(below: 2) }
      let steps = try vector.step(taking: actions)
      for i in 0..<4 {
        let single = try singles[i].step(taking: actions[i])
        #expect(steps[i].observation == single.observation && steps[i].reward == single.reward)
        #expect(steps[i].terminated == single.terminated && steps[i].truncated == single.truncated)
        observations[i] = steps[i].observation
        if steps[i].isLast {
          ended += 1
          #expect(try vector.reset(i, seed: nil) == singles[i].reset(seed: nil))
        }
      }
    }
    #expect(ended > 4, "episodes ended and were reset: \(ended)")
  }

  /// A worker of a vector that dies is a thrown error naming it, not a trap
  /// of the whole process.
  @Test func aDeadWorkerInAVectorIsAThrownError() throws {
    let workers = try (0..<2).map { _ in try GymEnvironment(id: "CartPole-v1") }
    var vector = VectorEnvironment(workers)
    _ = try vector.reset(seed: 0)
    kill(workers[1].workerProcessIdentifier, SIGKILL)
    usleep(100_000)
    expectBridgeError("gym:CartPole-v1") { _ = try vector.step(taking: [0, 1]) }
  }
}

struct GymReference: Decodable {
  struct Step: Decodable {
    var action: Int
    var observation: [Float]
    var reward: Double
    var terminated: Bool
    var truncated: Bool
  }
  struct Episode: Decodable {
    var env: String
    var seed: UInt64
    var first: [Float]
    var steps: [Step]
  }
  var gymnasium: String
  var episodes: [Episode]
}
