import Foundation
import PoPS
import Testing

/// The console's account of a run's milestones.
struct PoPSEventTests {
  /// A stage resumed from its checkpoint is named as the console always named it.
  @Test func aResumedStageIsNamedInItsMessage() {
    #expect(PoPSEvent.resumingStage(step: 2, stage: .pruning, minibatch: 150).description
      == "step 2: IPP continues from its checkpoint after minibatch 150")
    #expect(PoPSEvent.resumingStage(step: 3, stage: .distillation, minibatch: 250).description
      == "step 3: distillation continues from its checkpoint after minibatch 250")
  }
}
