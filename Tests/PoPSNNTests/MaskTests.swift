import Foundation
import PoPSCore
import PoPSNN
import Testing

struct MaskTests {
  @Test func maskedWeightsStayZeroThroughTraining() {
    var rng = SeededGenerator(seed: 12)
    var net = Network(.mlp(inputs: 6, hidden: [32, 16], outputs: 3), using: &rng)
    net.pruneByMagnitude(sparsity: 0.8)
    let expectedNonZero = net.nonZeroWeightsPerLayer
    #expect(expectedNonZero == [Int((192 * 0.2).rounded(.up)), Int((512 * 0.2).rounded(.up)), Int((48 * 0.2).rounded(.up))])
    var adam = Adam(learningRate: 1e-2)
    var rms = RMSProp(learningRate: 1e-2)
    let cache = Network.Cache()
    var grads: [Tensor] = []
    for step in 0..<300 {
      let x = (0..<(16 * 6)).map { _ in rng.uniform(-1, 1) }
      let y = net.forward(x, batch: 16, cache: cache)
      let loss = Loss.meanSquaredError(predictions: y, targets: y.map { _ in 1 })
      net.backward(loss.gradient, cache: cache, into: &grads)
      if step % 2 == 0 { adam.update(&net, along: grads) } else { rms.update(&net, along: grads) }
    }
    #expect(net.nonZeroWeightsPerLayer == expectedNonZero)
    for i in net.weightIndices {
      for j in 0..<net.parameters[i].count where net.masks[i]![j] == 0 { #expect(net.parameters[i][j] == 0) }
    }
  }

  @Test func magnitudePruningKeepsTheLargestWeights() {
    var net = Network(
      .mlp(inputs: 4, hidden: [], outputs: 2),
      parameters: [Tensor(shape: [2, 4], scalars: [0.1, -5, 0.3, 2, -0.2, 0.05, 4, -1]), Tensor(shape: [2], scalars: [0, 0])])
    net.pruneByMagnitude(sparsity: 0.5)
    #expect(net.parameters[0].scalars == [0, -5, 0, 2, 0, 0, 4, -1])
    #expect(net.sparsity == 0.5)
    net.pruneByMagnitude(sparsity: 0.75)
    #expect(net.parameters[0].scalars == [0, -5, 0, 0, 0, 0, 4, 0])
  }
}
