import Foundation
import PoPS
import Testing

/// The student-training departures of docs/algorithm.md: restarts and the
/// relative convergence rule.
struct StudentTrainingTests {
  /// A student that is never accepted is drawn again every `restart_epochs`
  /// epochs within the same budget; each draw's evaluations say which it is.
  @Test func restartsDrawTheStudentAgainWithinTheBudget() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var run = try SizeSearchTests().searchRun({
      $0.distillation.maxEpochs = 3
      $0.distillation.restartEpochs = 1
      $0.objective = 999  // no evaluation reaches it: never accepted
    }, folder: folder)
    let result = try run.distil(.mlp(inputs: 4, hidden: [2], outputs: 2), step: 1)
    #expect(result.accepted == nil && result.epochs == 3)
    #expect(result.evaluations.map(\.start) == [1, 1, 2, 2, 3, 3])
    #expect(result.evaluations.allSatisfy { $0.loss != nil && $0.recycledUnits != nil })
    #expect(Set(result.evaluations.map(\.learningRate)).count == 1, "each draw starts the schedule again")
  }

  @Test func aStepThatCutsAFifthOfTheNetworkIsNotConvergence() throws {
    var shrinking = try PoPSConfig.preset(for: "CartPole-v0").shrinking
    shrinking.convergenceThreshold = 0.05
    shrinking.convergenceFraction = 0
    #expect(shrinking.convergence(fromPercent: 0.092, toPercent: 0.061, fromWeights: 92, toWeights: 61)
      == .converged(sizeDrop: 0.092 - 0.061, threshold: 0.05), "the reference's rule")
    shrinking.convergenceFraction = 0.2
    #expect(shrinking.convergence(fromPercent: 0.092, toPercent: 0.061, fromWeights: 92, toWeights: 61) == nil, "a third fewer weights")
    let stop = shrinking.convergence(fromPercent: 0.044, toPercent: 0.040, fromWeights: 44, toWeights: 40)
    guard case .convergedRelative(_, 0.05, let fraction, 0.2) = stop else { Issue.record("\(String(describing: stop))"); return }
    #expect(abs(fraction - 4.0 / 44) < 1e-12)
    #expect(shrinking.convergence(fromPercent: 10, toPercent: 5, fromWeights: 100, toWeights: 50) == nil, "over the threshold")
  }
}
