import Foundation
import PoPS
import Testing

struct ControllerTests {
  @Test func pausesUnderTheLowerBoundAndResumesAboveTheObjective() {
    var c = PruningController(objective: 190, lowerBound: 80, badEvaluationsPerIteration: 5)
    let scripted: [(Double, Bool, Bool, Bool)] = [
      // score, save, paused after, end iteration
      (200, true, false, false),
      (150, false, false, false),  // between the bounds: keep pruning, don't save
      (70, false, true, false),  // under the lower bound: pause
      (120, false, true, false),  // recovering but not yet at the objective: stay paused
      (195, true, false, false),  // objective met: save and resume
      (10, false, true, false),
      (10, false, true, false),
      (10, false, true, false),
      (10, false, true, false),
      (10, false, true, true),  // fifth consecutive bad evaluation ends the iteration
    ]
    for (i, (score, save, paused, end)) in scripted.enumerated() {
      let d = c.observe(score: score)
      #expect(d.save == save, "evaluation \(i)")
      #expect(c.paused == paused, "evaluation \(i)")
      #expect(d.endIteration == end, "evaluation \(i)")
    }
  }

  @Test func anEvaluationBetweenTheBoundsResetsTheBadCount() {
    var c = PruningController(objective: 190, lowerBound: 80, badEvaluationsPerIteration: 3)
    for score in [50.0, 50, 100, 50, 50] {
      let ended = c.observe(score: score).endIteration
      #expect(!ended)
    }
    let r1 = c.observe(score: 50).endIteration
    #expect(r1)
    c.startIteration()
    #expect(c.paused, "a new iteration keeps the pause")
    let r2 = c.observe(score: 50).endIteration
    #expect(!r2)
  }

  @Test func ippStopsAfterFailingIterations() {
    var rule = IPPStopRule(patience: 3)
    let r3 = rule.endIteration(lastScore: 50, lowerBound: 80, nonZero: 100, frozen: false)
    #expect(!r3)
    let r4 = rule.endIteration(lastScore: 50, lowerBound: 80, nonZero: 90, frozen: false)
    #expect(!r4)
    let r5 = rule.endIteration(lastScore: 50, lowerBound: 80, nonZero: 80, frozen: false)
    #expect(r5)
  }

  @Test func ippStopsWhenFrozenWithoutChange() {
    var rule = IPPStopRule(patience: 2)
    let r6 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 100, frozen: true)
    #expect(!r6)
    let r7 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 100, frozen: true)
    #expect(!r7)
    let r8 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 90, frozen: false)
    #expect(!r8, "a change resets the count")
    let r9 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 90, frozen: true)
    #expect(!r9)
    let r10 = rule.endIteration(lastScore: 150, lowerBound: 80, nonZero: 90, frozen: true)
    #expect(r10)
  }
}
