import Foundation
import PoPSCore
import PoPSNN
import Testing

/// A layer large enough that its input gradient reads W in place
/// (`Network.inPlaceThreshold`), with an input width that is not a multiple
/// of any tile (the last columns go another way), against backpropagation
/// written out in double precision.
struct InPlaceInputGradientTests {
  @Test(arguments: [1, 2])
  func firstLayerGradientMatchesPlainBackpropagation(threads: Int) {
    var rng = SeededGenerator(seed: 31)
    let (inputs, h1, h2, outputs, batch) = (5, 601, 499, 3, 7)
    #expect(h1 * h2 >= 1 << 18)
    let net = Network(.mlp(inputs: inputs, hidden: [h1, h2], outputs: outputs), biasInit: 0.01, using: &rng)
    let x = (0..<(batch * inputs)).map { _ in rng.uniform(-1, 1) }
    let g = (0..<(batch * outputs)).map { _ in rng.uniform(-1, 1) }
    let cache = Network.Cache()
    net.forward(x, batch: batch, cache: cache, threads: threads)
    var grads: [Tensor] = []
    net.backward(g, cache: cache, into: &grads, threads: threads)

    let w = net.parameters.map { $0.scalars.map(Double.init) }
    func dense(_ v: [Double], _ weight: [Double], _ bias: [Double], _ n: Int, _ m: Int) -> [Double] {
      (0..<m).map { o in bias[o] + (0..<n).reduce(0.0) { $0 + weight[o * n + $1] * v[$1] } }
    }
    var expected = [Double](repeating: 0, count: h1 * inputs)
    for r in 0..<batch {
      let xr = x[(r * inputs)..<((r + 1) * inputs)].map(Double.init)
      let a1 = dense(xr, w[0], w[1], inputs, h1).map { max($0, 0) }
      let a2 = dense(a1, w[2], w[3], h1, h2).map { max($0, 0) }
      let gr = g[(r * outputs)..<((r + 1) * outputs)].map(Double.init)
      let d2 = (0..<h2).map { i in a2[i] > 0 ? (0..<outputs).reduce(0.0) { $0 + w[4][$1 * h2 + i] * gr[$1] } : 0 }
      let d1 = (0..<h1).map { i in a1[i] > 0 ? (0..<h2).reduce(0.0) { $0 + w[2][$1 * h1 + i] * d2[$1] } : 0 }
      for o in 0..<h1 { for i in 0..<inputs { expected[o * inputs + i] += d1[o] * xr[i] } }
    }
    let worst = zip(grads[0].scalars, expected).map { abs(Double($0) - $1) }.max() ?? 0
    #expect(worst < 1e-3, "threads \(threads): layers.0.weight gradient differs by \(worst)")
  }
}
