import Foundation
import PoPS
import Testing

struct PruningFailureSearchTests {
  @Test func theSmallestSizeKeepsTheLayerStack() {
    let mlp = Architecture.mlp(inputs: 4, hidden: [8, 13, 1], outputs: 2)
    #expect(Redundancy.smallest(mlp, minimumWidth: 2).summary == "4-2-2-1-2", "never wider than it was")
  }

  /// When IPP keeps no model (no redundancy measured), the run does not stop:
  /// the size search backs off from the smallest allowed size.
  @Test func aStepWhosePruningFailsSearchesDownFromTheCurrentSize() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let run = try SizeSearchTests().searchRun({
      $0.pruning.initialSparsity = 0.98  // every pruned model is far too sparse: IPP keeps none
      $0.pruning.finalSparsity = 0.99
      $0.shrinking.maxSteps = 1
    }, folder: folder)
    var options = run.options
    options.output = folder.appendingPathComponent("run2")
    let record = try runPoPS(options)
    #expect(record.steps.count == 2, "\(record.steps.map(\.studentArchitecture))")
    #expect(record.steps[0].pruned == nil && record.steps[0].searchAttempt == nil)
    #expect(record.steps[1].searchAttempt == 1 && record.steps[1].studentAccepted)
    #expect(record.steps[1].studentArchitecture == "4-3-3-2", "halfway in log width from 4-8-8-2 to 4-1-1-2")
    #expect(record.final?.architecture == "4-3-3-2")
    #expect(record.stopReason == .maxSteps(1))
  }
}
