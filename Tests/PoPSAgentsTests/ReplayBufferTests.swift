import Foundation
import PoPSAgents
import Testing

struct ReplayBufferTests {
  @Test func ringOverwritesTheOldest() {
    var buffer = ReplayBuffer(capacity: 3, observationCount: 2)
    for i in 0..<5 {
      let x = Float(i)
      buffer.add(observation: [x, x], action: i % 2, reward: x, nextObservation: [x + 1, x + 1], terminated: i == 4)
    }
    #expect(buffer.count == 3)
    #expect(buffer.position == 2)
    var rng = SeededGenerator(seed: 1)
    var batch = TransitionBatch(size: 200, observationCount: 2)
    buffer.sample(into: &batch, using: &rng)
    let rewards = Set(batch.rewards)
    #expect(rewards == [2, 3, 4], "only the three newest transitions remain: \(rewards)")
    for b in 0..<batch.size {
      let r = batch.rewards[b]
      #expect(batch.observations[2 * b] == r && batch.nextObservations[2 * b + 1] == r + 1)
      #expect(batch.actions[b] == Int(r) % 2)
      #expect(batch.terminated[b] == (r == 4 ? 1 : 0))
    }
  }

  @Test func linearScheduleClampsAtTheEnd() {
    let s = LinearSchedule(start: 1, end: 0.05, duration: 100)
    #expect(s.value(at: 0) == 1)
    #expect(abs(s.value(at: 50) - 0.525) < 1e-12)
    #expect(s.value(at: 100) == 0.05)
    #expect(s.value(at: 10_000) == 0.05)
  }

  @Test func configValidationNamesTheField() {
    var config = DQNConfig()
    #expect(config.validationError() == nil)
    config.batchSize = 0
    #expect(config.validationError()?.contains("batchSize") == true)
    config = DQNConfig()
    config.gamma = 1.5
    #expect(config.validationError()?.contains("gamma") == true)
  }
}
