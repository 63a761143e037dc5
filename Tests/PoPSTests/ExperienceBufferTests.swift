import Foundation
import PoPS
import Testing

struct ExperienceBufferTests {
  @Test func theRingKeepsTheNewestEntriesAndSamplesThemWhole() {
    var buffer = ExperienceBuffer(capacity: 3, observationCount: 2, actionCount: 2)
    for i in 0..<5 {
      let x = Float(i)
      buffer.add(state: [x, -x], teacherOutput: [10 * x, 100 * x], action: i % 2)
    }
    #expect(buffer.count == 3)
    var states: [Float] = [], outputs: [Float] = []
    var rng = SeededGenerator(seed: 1)
    buffer.sample(200, states: &states, teacherOutputs: &outputs, using: &rng)
    #expect(states.count == 400 && outputs.count == 400)
    var seen = Set<Float>()
    for b in 0..<200 {
      let x = states[2 * b]
      #expect(states[2 * b + 1] == -x, "a state stays whole")
      #expect(outputs[2 * b] == 10 * x && outputs[2 * b + 1] == 100 * x, "each state keeps its own teacher output")
      seen.insert(x)
    }
    #expect(seen == [2, 3, 4], "the two oldest entries were overwritten; every kept one is drawn")
  }

  @Test func aRefillStoresTheTeachersOutputForEveryVisitedState() throws {
    let teacher = handMadeTeacher()
    var env = try Environments.make("CartPole-v0", seed: 1)
    var buffer = ExperienceBuffer(capacity: 1_000, observationCount: 4, actionCount: 2)
    var rng = SeededGenerator(seed: 2)
    try buffer.refill(from: teacher, in: &env, steps: 300, exploration: 0, using: &rng)
    #expect(buffer.count == 300)
    var states: [Float] = [], outputs: [Float] = []
    buffer.sample(50, states: &states, teacherOutputs: &outputs, using: &rng)
    for b in 0..<50 {
      let state = Array(states[(4 * b)..<(4 * b + 4)])
      #expect(Array(outputs[(2 * b)..<(2 * b + 2)]) == teacher.predict(state))
    }
  }
}
