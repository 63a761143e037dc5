import Foundation
import PoPSAgents
import PoPSCore
import PoPSEnvironments
import PoPSNN
import Testing

/// Episodes played side by side on a vector give the sequential evaluation's
/// returns, episode by episode, through the bridge and natively.
struct ParallelEvaluationTests {
  @Test(arguments: ["gym:CartPole-v1", "CartPole-v1"])
  func aVectorEvaluationEqualsTheSequentialOne(_ id: String) throws {
    var rng = SeededGenerator(seed: 8)
    let policy = Network(.mlp(inputs: 4, hidden: [16], outputs: 2), using: &rng)
    var single = try Environments.make(id, seed: 5)
    let expected = try evaluate(policy, in: &single, episodes: 7, seed: 300)
    for workers in [2, 3] {
      var vector = try VectorEnvironment(id, count: workers, seed: 50)
      let got = try evaluate(policy, in: &vector, episodes: 7, seed: 300)
      #expect(got == expected, "\(id) on \(workers): \(got.returns) vs \(expected.returns)")
    }
    #expect(Set(expected.lengths).count > 1, "episodes of different lengths finish at different times: \(expected.lengths)")
  }
}
