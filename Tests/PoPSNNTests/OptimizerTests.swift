import Foundation
import PoPSCore
import PoPSNN
import Testing

struct OptimizerFixture: Decodable {
  struct Settings: Decodable {
    var lr: Float
    var rho: Float?
    var momentum: Float?
    var result: [Double]
  }
  var params: [Float]
  var grads: [[Float]]
  var adam: Settings
  var rmsprop: Settings
  var sgd: Settings

  static func load() throws -> OptimizerFixture {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/optimizers.json")
    return try JSONDecoder().decode(OptimizerFixture.self, from: Data(contentsOf: url))
  }
}

/// A one-layer network whose 10 weights and 1 bias are the fixture's 11 values.
func fixtureNetwork(_ values: [Float]) -> Network {
  Network(
    .mlp(inputs: 10, hidden: [], outputs: 1),
    parameters: [Tensor(shape: [1, 10], scalars: Array(values[0..<10])), Tensor(shape: [1], scalars: [values[10]])])
}

func run<O: Optimizer>(_ optimizer: inout O, fixture: OptimizerFixture) -> [Float] {
  var net = fixtureNetwork(fixture.params)
  for g in fixture.grads {
    optimizer.update(&net, along: [Tensor(shape: [1, 10], scalars: Array(g[0..<10])), Tensor(shape: [1], scalars: [g[10]])])
  }
  return net.parameters.flatMap(\.scalars)
}

struct OptimizerTests {
  @Test func adamMatchesNumpy() throws {
    let f = try OptimizerFixture.load()
    var opt = Adam(learningRate: f.adam.lr)
    let result = run(&opt, fixture: f)
    for (a, b) in zip(result, f.adam.result) { #expect(abs(Double(a) - b) < 1e-5, "\(a) vs \(b)") }
  }

  @Test func rmsPropMatchesNumpy() throws {
    let f = try OptimizerFixture.load()
    var opt = RMSProp(learningRate: f.rmsprop.lr, rho: f.rmsprop.rho!)
    let result = run(&opt, fixture: f)
    for (a, b) in zip(result, f.rmsprop.result) { #expect(abs(Double(a) - b) < 1e-5, "\(a) vs \(b)") }
  }

  @Test func sgdWithMomentumMatchesNumpy() throws {
    let f = try OptimizerFixture.load()
    var opt = SGD(learningRate: f.sgd.lr, momentum: f.sgd.momentum!)
    let result = run(&opt, fixture: f)
    for (a, b) in zip(result, f.sgd.result) { #expect(abs(Double(a) - b) < 1e-5, "\(a) vs \(b)") }
  }

  @Test func clippingBoundsTheGlobalNorm() {
    var grads = [Tensor(shape: [2], scalars: [3, 4]), Tensor(shape: [1], scalars: [12])]
    let norm = clipGradientNorm(&grads, maxNorm: 1)
    #expect(abs(norm - 13) < 1e-5)
    let after = grads.flatMap(\.scalars).map { $0 * $0 }.reduce(0, +).squareRoot()
    #expect(abs(after - 1) < 1e-4)
  }
}

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
