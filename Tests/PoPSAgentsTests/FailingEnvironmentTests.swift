import Foundation
import PoPSAgents
import PoPSCore
import PoPSEnvironments
import PoPSNN
import Testing

/// A Gymnasium worker that dies while a policy is evaluated is a thrown
/// error naming the environment (issue 13 case 6: it was a fatalError trap).
struct FailingEnvironmentTests {
  @Test func aWorkerThatDiesDuringAnEvaluationIsAThrownError() throws {
    let gym = try GymEnvironment(id: "CartPole-v1")
    var environment: any Environment = gym
    var rng = SeededGenerator(seed: 1)
    let policy = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    #expect(try evaluate(policy, in: &environment, episodes: 1, seed: 0).episodes == 1)
    kill(gym.workerProcessIdentifier, SIGKILL)
    usleep(200_000)
    do {
      _ = try evaluate(policy, in: &environment, episodes: 2, seed: 0)
      Issue.record("the evaluation of a dead worker returned")
    } catch let error as GymBridgeError {
      #expect("\(error)".contains("gym:CartPole-v1: the worker exited"), "\(error)")
    }
  }
}
