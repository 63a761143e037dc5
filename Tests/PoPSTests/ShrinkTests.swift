import Foundation
import PoPS
import Testing

struct ShrinkTests {
  @Test func referenceCartPoleCase() {
    // ~84% redundancy per layer on 4-256-256-128-2, as the reference's first step found.
    let arch = Architecture.mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2)
    let shrunk = Redundancy.shrink(arch, redundancy: [0.84, 0.84, 0.84, 0.84], minimumWidth: 2)
    let widths = shrunk.hiddenWidths
    let weights = [4 * widths[0], widths[0] * widths[1], widths[1] * widths[2], widths[2] * 2]
    let targets = [1024.0, 65536, 32768, 256].map { $0 * 0.16 }
    // The large layers (99% of the weights) land within 5% of their targets.
    #expect(abs(Double(weights[1]) / targets[1] - 1) < 0.05, "\(widths)")
    #expect(abs(Double(weights[2]) / targets[2] - 1) < 0.05, "\(widths)")
    // The total is close to 16% of the teacher and the shape is kept (no bottleneck).
    let total = Double(weights.reduce(0, +))
    #expect(abs(total / 99_584 - 0.16) < 0.01, "\(widths)")
    #expect(abs(Double(widths[0]) / Double(widths[1]) - 1) < 0.1, "\(widths)")
    #expect(abs(Double(widths[1]) / Double(widths[2]) - 2) < 0.2, "\(widths)")
  }

  @Test func propertiesOnRandomStacks() {
    var rng = SeededGenerator(seed: 99)
    for trial in 0..<300 {
      let depth = 1 + rng.index(below: 5)
      let hidden = (0..<depth).map { _ in 2 + rng.index(below: 300) }
      let inputs = 1 + rng.index(below: 40), outputs = 1 + rng.index(below: 10)
      let arch = Architecture.mlp(inputs: inputs, hidden: hidden, outputs: outputs)
      let redundancy = (0...depth).map { _ in rng.nextUnitDouble() * 0.999 }
      let minimum = 1 + rng.index(below: 4)
      let shrunk = Redundancy.shrink(arch, redundancy: redundancy, minimumWidth: minimum)
      let before = Network(arch, parameters: arch.parameterShapes.map { Tensor(shape: $0) }).weightCount
      let after = Network(shrunk, parameters: shrunk.parameterShapes.map { Tensor(shape: $0) }).weightCount
      #expect(shrunk.inputCount == inputs && shrunk.outputCount == outputs)
      #expect(shrunk.hiddenWidths.count == depth)
      #expect(shrunk.hiddenWidths.allSatisfy { $0 >= minimum }, "trial \(trial)")
      let floor = Network(
        .mlp(inputs: inputs, hidden: hidden.map { _ in minimum }, outputs: outputs),
        parameters: Architecture.mlp(inputs: inputs, hidden: hidden.map { _ in minimum }, outputs: outputs)
          .parameterShapes.map { Tensor(shape: $0) }).weightCount
      #expect(after <= max(before, floor), "trial \(trial): \(after) > \(before)")
    }
  }

  @Test func uniformRedundancyShrinksEveryHiddenLayer() {
    var arch = Architecture.mlp(inputs: 8, hidden: [64, 64, 64], outputs: 4)
    for _ in 0..<3 {
      let next = Redundancy.shrink(arch, redundancy: [0.75, 0.75, 0.75, 0.75], minimumWidth: 2)
      #expect(zip(next.hiddenWidths, arch.hiddenWidths).allSatisfy { $0 < $1 }, "\(arch.hiddenWidths) -> \(next.hiddenWidths)")
      arch = next
    }
  }

  @Test func solverHandlesConvLikeMultipliers() {
    // A conv stack: 4 -> c1 (8x8), c1 -> c2 (4x4), c2 * 49 -> fc, fc -> 3.
    let layers = [
      ShrinkLayer(input: .fixed(4), output: .hidden(0), multiplier: 64, target: 8192 * 0.2),
      ShrinkLayer(input: .hidden(0), output: .hidden(1), multiplier: 16, target: 32768 * 0.2),
      ShrinkLayer(input: .hidden(1), output: .hidden(2), multiplier: 49, target: 1_605_632 * 0.2),
      ShrinkLayer(input: .hidden(2), output: .fixed(3), multiplier: 1, target: 1536 * 0.2),
    ]
    let solution = ShrinkSolver.solve(layers: layers, previousWidths: [32, 64, 512], cap: 1_648_128, minimumWidth: 1)
    #expect(solution.total <= 1_648_128)
    #expect(abs(Double(solution.weights[2]) / (1_605_632 * 0.2) - 1) < 0.05, "\(solution)")
  }
}
