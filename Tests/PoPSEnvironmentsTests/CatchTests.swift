import PoPSCore
import PoPSEnvironments
import Testing

struct CatchTests {
  /// The column of the one lit pixel in `row` of a Catch observation.
  func column(_ observation: [Float], row: Int, size: Int) -> Int? {
    (0..<size).first { observation[row * size + $0] == 1 }
  }

  @Test func theBallFallsOneRowAStepAndTheEpisodeEndsOnTheBottomRow() {
    var env = Catch(size: 5, seed: 1)
    var observation = env.reset(seed: 4)
    #expect(env.observationSpace.shape == [1, 5, 5] && env.actionSpace.count == 3)
    #expect(observation.reduce(0, +) == 2, "one ball and one paddle pixel")
    let ball = column(observation, row: 0, size: 5)!
    for row in 1..<4 {
      let step = env.step(taking: 1)
      #expect(!step.terminated && step.reward == 0)
      observation = step.observation
      #expect(column(observation, row: row, size: 5) == ball, "row \(row)")
    }
    let last = env.step(taking: 1)
    #expect(last.terminated && !last.truncated && abs(last.reward) == 1)
  }

  @Test func followingTheBallCatchesItAndStayingAwayMissesIt() {
    var env = Catch(size: 10, seed: 2)
    for seed in 0..<20 {
      let start = env.reset(seed: UInt64(seed))
      let ball = column(start, row: 0, size: 10)!
      var step: Step
      var observation = start
      repeat {
        let paddle = column(observation, row: 9, size: 10) ?? ball
        step = env.step(taking: paddle < ball ? 2 : paddle > ball ? 0 : 1)
        observation = step.observation
      } while !step.terminated
      #expect(step.reward == 1, "seed \(seed): the follower catches")
      _ = env.reset(seed: UInt64(seed))
      repeat {
        // Run to the wall farther from the ball's column: 9 moves reach it from anywhere.
        step = env.step(taking: ball < 5 ? 2 : 0)
      } while !step.terminated
      #expect(step.reward == -1, "seed \(seed): running away misses")
    }
  }

}
