import Foundation
import PoPS
import Testing

struct ConvShrinkTests {
  static let nature = Architecture.natureCNN(actions: 3)

  func weights(_ a: Architecture) -> [Int] { a.parameterShapes.filter { $0.count >= 2 }.map { $0.reduce(1, *) } }

  @Test func natureCNNShrinksChannelsAndWidth() {
    let before = weights(Self.nature)
    let shrunk = Redundancy.shrink(Self.nature, redundancy: [0.8, 0.8, 0.8, 0.8, 0.8], minimumWidth: 4)
    #expect(shrunk.validationError() == nil, "\(shrunk.validationError() ?? "")")
    let after = weights(shrunk)
    #expect(after.reduce(0, +) < before.reduce(0, +))
    // fc1 holds 95% of the weights: it must land near 20% of its size.
    #expect(abs(Double(after[3]) / (Double(before[3]) * 0.2) - 1) < 0.1, "\(shrunk.summary)")
    #expect(shrunk.outputShapes[5] == [shrunk.outputShapes[4][0], 7, 7], "spatial sizes do not change")
    #expect(shrunk.outputCount == 3 && shrunk.inputShape == [4, 84, 84])
  }

  @Test func randomConvStacksKeepTheSolverInvariants() {
    var rng = SeededGenerator(seed: 5)
    for trial in 0..<100 {
      let c1 = 2 + rng.index(below: 30), c2 = 2 + rng.index(below: 30), fc = 2 + rng.index(below: 200)
      let arch = Architecture(
        inputShape: [1 + rng.index(below: 4), 12, 12],
        layers: [
          .conv2d(.init(inChannels: 0, outChannels: c1, kernel: 3, stride: 2, padding: .same)), .relu,
          .conv2d(.init(inChannels: c1, outChannels: c2, kernel: 3)), .relu,
          .flatten, .linear(inputs: c2 * 16, outputs: fc), .relu, .linear(inputs: fc, outputs: 4),
        ])
      let fixed = Redundancy.resized(arch, widths: [c1, c2, fc])  // fills in the input channels
      #expect(fixed.validationError() == nil, "trial \(trial): \(fixed.validationError() ?? "")")
      let redundancy = (0..<4).map { _ in rng.nextUnitDouble() * 0.99 }
      let minimum = 1 + rng.index(below: 3)
      let shrunk = Redundancy.shrink(fixed, redundancy: redundancy, minimumWidth: minimum)
      #expect(shrunk.validationError() == nil, "trial \(trial)")
      let hidden = Redundancy.problem(shrunk, redundancy: redundancy).widths
      #expect(hidden.allSatisfy { $0 >= minimum }, "trial \(trial): \(hidden)")
      let floor = weights(Redundancy.resized(fixed, widths: [minimum, minimum, minimum])).reduce(0, +)
      #expect(weights(shrunk).reduce(0, +) <= max(weights(fixed).reduce(0, +), floor), "trial \(trial)")
    }
  }
}
