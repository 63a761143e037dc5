import Foundation
import PoPSCore
import PoPSNN
import Testing

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

func run<O: Optimizer>(_ optimizer: inout O, fixture: OptimizerFixture) -> [Float] {
  var net = fixtureNetwork(fixture.params)
  for g in fixture.grads {
    optimizer.update(&net, along: [Tensor(shape: [1, 10], scalars: Array(g[0..<10])), Tensor(shape: [1], scalars: [g[10]])])
  }
  return net.parameters.flatMap(\.scalars)
}
