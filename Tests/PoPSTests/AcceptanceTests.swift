import Foundation
import PoPS
import Testing

struct AcceptanceTests {
  @Test func acceptanceNeedsAMarginOfStandardErrors() throws {
    var config = try PoPSConfig.preset(for: "LunarLander-v3")
    config.acceptanceScore = 200
    config.acceptanceConfidence = 1
    // mean 205, std 100 over 100 episodes: standard error 10, so 205 - 10 < 200.
    let lucky = EvaluationResult(returns: (0..<100).map { $0 % 2 == 0 ? 105 : 305 }, lengths: [])
    #expect(abs(lucky.mean - 205) < 1e-9 && abs(lucky.std - 100) < 1e-9)
    #expect(!config.accepts(lucky))
    let solid = EvaluationResult(returns: (0..<100).map { $0 % 2 == 0 ? 200 : 240 }, lengths: [])
    #expect(config.accepts(solid), "mean 220, standard error 2")
    config.acceptanceConfidence = 0
    #expect(config.accepts(lucky))
    let perfect = EvaluationResult(returns: [Double](repeating: 200, count: 100), lengths: [])
    config.acceptanceConfidence = 3
    #expect(config.accepts(perfect), "CartPole's perfect students pass whatever the margin")
  }
}
