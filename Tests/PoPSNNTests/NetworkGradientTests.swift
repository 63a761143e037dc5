import Foundation
import PoPSCore
import PoPSNN
import Testing

struct NetworkGradientTests {
  @Test(arguments: [1, 3, 40])
  func backwardMatchesFiniteDifferences(batch: Int) {
    var rng = SeededGenerator(seed: UInt64(batch))
    var net = Network(.mlp(inputs: 5, hidden: [7, 6], outputs: 3), biasInit: 0.1, using: &rng)
    let x = (0..<(batch * 5)).map { _ in rng.uniform(-1, 1) }
    let target = (0..<(batch * 3)).map { _ in rng.uniform(-1, 1) }
    expectBackwardMatchesFiniteDifferences(net, x: x, target: target, batch: batch, "mlp")
    let cache = Network.Cache()
    let l = Loss.meanSquaredError(predictions: net.forward(x, batch: batch, cache: cache), targets: target)
    var grads: [Tensor] = []
    // Masked weights get zero gradient.
    net.pruneByMagnitude(sparsity: 0.5)
    _ = net.forward(x, batch: batch, cache: cache)
    net.backward(l.gradient, cache: cache, into: &grads)
    for i in net.weightIndices {
      for j in 0..<grads[i].count where net.masks[i]![j] == 0 { #expect(grads[i][j] == 0) }
    }
  }

  /// Tanh layers (SB3's default PPO activation): backward matches finite
  /// differences, and prediction equals the batch forward pass.
  @Test(arguments: [1, 6])
  func tanhBackwardMatchesFiniteDifferences(batch: Int) {
    var rng = SeededGenerator(seed: 11 + UInt64(batch))
    let net = Network(.mlp(inputs: 5, hidden: [7, 6], outputs: 3, activation: .tanh), biasInit: 0.1, using: &rng)
    #expect(net.architecture.layers.filter { $0 == .tanh }.count == 2)
    let x = (0..<(batch * 5)).map { _ in rng.uniform(-2, 2) }
    let target = (0..<(batch * 3)).map { _ in rng.uniform(-1, 1) }
    expectBackwardMatchesFiniteDifferences(net, x: x, target: target, batch: batch, "tanh mlp")
    let batched = net.forward(x, batch: batch, cache: Network.Cache())
    for b in 0..<batch {
      let one = net.predict(Array(x[(5 * b)..<(5 * b + 5)]))
      for j in 0..<3 { #expect(abs(one[j] - batched[3 * b + j]) < 1e-6) }
    }
    // By hand for one unit: the output of a 1-1 tanh net is tanh(w x + b).
    let tiny = Network(
      Architecture(inputShape: [1], layers: [.linear(inputs: 1, outputs: 1), .tanh]),
      parameters: [Tensor(shape: [1, 1], scalars: [0.5]), Tensor(shape: [1], scalars: [0.25])])
    #expect(abs(tiny.predict([1.5])[0] - Float(Foundation.tanh(1.0))) < 1e-6)
  }

  /// An MLP and a conv net whose 800x96 dense layer is packed once per pass
  /// for all batch chunks.
  static let splitCases: [(Architecture, Int)] = [
    (.mlp(inputs: 8, hidden: [96, 96], outputs: 4), 256),
    (Architecture(
      inputShape: [1, 12, 12],
      layers: [
        .conv2d(.init(inChannels: 1, outChannels: 8, kernel: 3, stride: 1)), .relu, .flatten,
        .linear(inputs: 800, outputs: 96), .relu, .linear(inputs: 96, outputs: 4),
      ]), 40),
    // A layer past Network.inPlaceThreshold (its input gradient reads W in place).
    (.mlp(inputs: 8, hidden: [600, 500], outputs: 4), 64),
  ]

  @Test(arguments: 0..<3)
  func largeBatchesSplitAcrossThreadsGiveTheSameGradients(_ index: Int) {
    let (architecture, batch) = Self.splitCases[index]
    var rng = SeededGenerator(seed: 21)
    var net = Network(architecture, using: &rng)
    let x = (0..<(batch * architecture.inputCount)).map { _ in rng.uniform(-1, 1) }
    let g = (0..<(batch * 4)).map { _ in rng.uniform(-1, 1) }
    // Caches reused across two weight settings: nothing packed may go stale.
    let caches = [Network.Cache(), Network.Cache()]
    let inference = [Network.Cache(inferenceOnly: true), Network.Cache(inferenceOnly: true)]
    for round in 0..<2 {
      if round == 1 {
        for i in net.parameters.indices { net.parameters[i].scalars = net.parameters[i].scalars.map { $0 * 0.9 + 0.01 } }
      }
      var results: [[Tensor]] = []
      var outputs: [[Float]] = []
      for threads in [1, 2] {
        let cache = caches[threads - 1]
        outputs.append(net.forward(x, batch: batch, cache: cache, threads: threads))
        outputs.append(net.forward(x, batch: batch, cache: inference[threads - 1], threads: threads))
        var grads: [Tensor] = []
        net.backward(g, cache: cache, into: &grads, threads: threads)
        results.append(grads)
      }
      for output in outputs.dropFirst() {
        #expect(zip(outputs[0], output).allSatisfy { abs($0 - $1) < 1e-4 }, "round \(round)")
      }
      for (a, b) in zip(results[0], results[1]) {
        #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) < 1e-3 }, "round \(round)")
      }
    }
  }

  @Test func predictEqualsBatchForward() {
    var rng = SeededGenerator(seed: 4)
    let net = Network(.mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2), biasInit: 0.001, using: &rng)
    let x = (0..<(3 * 4)).map { _ in rng.uniform(-1, 1) }
    let batch = net.forward(x, batch: 3, cache: Network.Cache())
    for r in 0..<3 {
      let single = net.predict(Array(x[(r * 4)..<(r * 4 + 4)]))
      #expect(zip(single, batch[(r * 2)..<(r * 2 + 2)]).allSatisfy { abs($0 - $1) < 1e-5 })
    }
  }

  @Test func glorotUniformBoundsAndSeededInit() {
    var a = SeededGenerator(seed: 8)
    var b = SeededGenerator(seed: 8)
    let n1 = Network(.mlp(inputs: 4, hidden: [256], outputs: 2), biasInit: 0.001, using: &a)
    let n2 = Network(.mlp(inputs: 4, hidden: [256], outputs: 2), biasInit: 0.001, using: &b)
    #expect(n1 == n2)
    let limit = (6.0 / Float(4 + 256)).squareRoot()
    #expect(n1.parameters[0].scalars.allSatisfy { abs($0) <= limit })
    #expect(n1.parameters[0].scalars.map { abs($0) }.max()! > 0.9 * limit)
    #expect(n1.parameters[1].scalars.allSatisfy { $0 == 0.001 })
  }
}
