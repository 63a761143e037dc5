#if canImport(Glibc)
  import Glibc
#endif
import Foundation
import PoPS
import Testing

/// An environment that fails (a Gymnasium worker that died) ends what plays
/// in it with a thrown error, never the process: the int8 check of
/// `pops export --quantize int8`, PPO and DQN training.
struct EnvironmentFailureTests {
  /// What `FailingCartPole` throws.
  struct Broke: Error, Equatable, CustomStringConvertible {
    var call: Int
    var description: String { "the fake environment broke on call \(call)" }
  }

  /// CartPole-v1 that throws `Broke` on its `failingCall`-th reset or step
  /// (counted together, from 1) and on every one after it.
  struct FailingCartPole: Environment {
    var base = TimeLimit(CartPole(), maxEpisodeSteps: 500)
    let failingCall: Int
    var calls = 0

    var observationSpace: BoxSpace { base.observationSpace }
    var actionSpace: DiscreteSpace { base.actionSpace }

    mutating func reset(seed: UInt64?) throws -> [Float] {
      try count()
      return try base.reset(seed: seed)
    }

    mutating func step(taking action: Int) throws -> Step {
      try count()
      return try base.step(taking: action)
    }

    private mutating func count() throws {
      calls += 1
      if calls >= failingCall { throw Broke(call: failingCall) }
    }
  }

  static func cartPoleModel() -> Model {
    var rng = SeededGenerator(seed: 5)
    let network = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    return Model(network: network, provenance: Provenance(environment: "CartPole-v1"))
  }

  /// The int8 check ends with an `ExportError` naming the environment and
  /// what it threw, whether the failure comes on the first reset, within the
  /// first episodes (where float and int8 actions are compared) or in the
  /// scored evaluations after them.
  @Test(arguments: [1, 4, 400])
  func theInt8CheckThrowsWhatTheEnvironmentThrows(failingCall: Int) throws {
    var environment: any Environment = FailingCartPole(failingCall: failingCall)
    do {
      let check = try QuantizationCheck.measure(
        Self.cartPoleModel(), in: &environment, id: "Fake-v0", episodes: 20, seed: 1)
      Issue.record("the check returned \(check.observations) observations from a failing environment")
    } catch let error as ExportError {
      #expect("\(error)" == "the int8 check could not play Fake-v0: the fake environment broke on call \(failingCall)")
    }
  }

  /// The case of the issue: a Gymnasium worker that dies before the int8
  /// check plays is an error naming it, not `exit(1)`.
  @Test func theInt8CheckOnADeadGymnasiumWorkerThrows() throws {
    let gym = try GymEnvironment(id: "CartPole-v1")
    var environment: any Environment = gym
    kill(gym.workerProcessIdentifier, SIGKILL)
    usleep(200_000)
    do {
      _ = try QuantizationCheck.measure(Self.cartPoleModel(), in: &environment, id: "gym:CartPole-v1", episodes: 2, seed: 1)
      Issue.record("the check of a dead worker returned")
    } catch let error as ExportError {
      #expect("\(error)".hasPrefix("the int8 check could not play gym:CartPole-v1: gym:CartPole-v1: the worker exited"), "\(error)")
    }
  }

  /// PPO stops with the error of any of its environments, at the first
  /// reset or in the middle of a rollout.
  @Test(arguments: [1, 30])
  func ppoTrainingThrowsWhatAnEnvironmentThrows(failingCall: Int) throws {
    var config = PPOConfig()
    config.environments = 2
    config.rolloutSteps = 16
    config.batchSize = 16
    config.evaluationInterval = 0
    var agent = PPO(config: config, observationCount: 4, actionCount: 2, seed: 1)
    var evaluation: any Environment = CartPole()
    let error = #expect(throws: Broke.self) {
      try agent.learn(
        makeEnvironment: { $0 == 1 ? FailingCartPole(failingCall: failingCall) as any Environment : CartPole(seed: UInt64($0)) },
        totalSteps: 320, evaluationEnvironment: &evaluation)
    }
    #expect(error == Broke(call: failingCall))
    #expect(agent.steps < 2 * failingCall, "training went on after the failure: \(agent.steps) steps")
  }

  /// DQN stops with its environment's error too.
  @Test func dqnTrainingThrowsWhatItsEnvironmentThrows() throws {
    var config = DQNConfig()
    config.hidden = [8]
    config.learningStarts = 8
    config.batchSize = 8
    config.evaluationInterval = 0
    var agent = DQN(config: config, observationCount: 4, actionCount: 2, seed: 1)
    var environment: any Environment = FailingCartPole(failingCall: 50)
    var evaluation: any Environment = CartPole()
    let error = #expect(throws: Broke.self) {
      try agent.learn(in: &environment, totalSteps: 200, evaluationEnvironment: &evaluation)
    }
    #expect(error == Broke(call: 50))
  }
}
