import Foundation
import PoPS
import Testing

struct ScheduleTests {
  @Test func cubicScheduleMatchesTheFormula() {
    let s = PruningSchedule(initialSparsity: 0, finalSparsity: 0.99, beginStep: 0, endStep: 500_000)
    #expect(s.sparsity(at: 0) == 0)
    #expect(s.sparsity(at: -5) == 0)
    #expect(s.sparsity(at: 500_000) == 0.99)
    #expect(s.sparsity(at: 900_000) == 0.99)
    for t in [1, 1000, 125_000, 250_000, 499_999] {
      let expected = 0.99 + (0 - 0.99) * pow(1 - Double(t) / 500_000, 3)
      #expect(abs(s.sparsity(at: t) - expected) < 1e-12)
    }
    // Half way the cubic has already reached 7/8 of the final sparsity.
    #expect(abs(s.sparsity(at: 250_000) - 0.99 * 7 / 8) < 1e-12)
    let shifted = PruningSchedule(initialSparsity: 0.5, finalSparsity: 0.9, beginStep: 100, endStep: 200)
    #expect(shifted.sparsity(at: 50) == 0.5)
    #expect(abs(shifted.sparsity(at: 150) - (0.9 - 0.4 * 0.125)) < 1e-12)
  }
}
