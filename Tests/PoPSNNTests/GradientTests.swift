import Foundation
import PoPSCore
import PoPSNN
import Testing

/// Central finite differences of `f` at `x`, in double precision.
func numericGradient(_ x: [Float], step: Float = 1e-3, _ f: ([Float]) -> Double) -> [Double] {
  x.indices.map { i in
    var plus = x, minus = x
    plus[i] += step
    minus[i] -= step
    return (f(plus) - f(minus)) / (Double(plus[i]) - Double(minus[i]))
  }
}

func expectClose(_ analytic: [Float], _ numeric: [Double], tolerance: Double = 2e-2, _ what: String) {
  #expect(analytic.count == numeric.count)
  for (a, n) in zip(analytic, numeric) {
    let scale = max(1, abs(n), Double(abs(a)))
    #expect(abs(Double(a) - n) / scale < tolerance, "\(what): analytic \(a) vs numeric \(n)")
  }
}

/// Checks every parameter gradient of `net` on a mean-squared-error loss
/// against central finite differences.
func expectBackwardMatchesFiniteDifferences(
  _ net: Network, x: [Float], target: [Float], batch: Int, tolerance: Double = 2e-2, _ what: String
) {
  let cache = Network.Cache()
  let out = net.forward(x, batch: batch, cache: cache)
  let l = Loss.meanSquaredError(predictions: out, targets: target)
  var grads: [Tensor] = []
  net.backward(l.gradient, cache: cache, into: &grads)
  for p in net.parameters.indices {
    let numeric = numericGradient(net.parameters[p].scalars) { values in
      var copy = net
      copy.parameters[p].scalars = values
      return Double(Loss.meanSquaredError(predictions: copy.forward(x, batch: batch, cache: Network.Cache()), targets: target).value)
    }
    expectClose(grads[p].scalars, numeric, tolerance: tolerance, "\(what) \(net.architecture.parameterNames[p]) batch \(batch)")
  }
}

struct LossGradientTests {
  var rng = SeededGenerator(seed: 5)

  @Test mutating func meanSquaredError() {
    let p = (0..<12).map { _ in rng.uniform(-2, 2) }
    let t = (0..<12).map { _ in rng.uniform(-2, 2) }
    let r = Loss.meanSquaredError(predictions: p, targets: t)
    expectClose(r.gradient, numericGradient(p) { Double(Loss.meanSquaredError(predictions: $0, targets: t).value) }, "mse")
    #expect(abs(r.value - zip(p, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 12) < 1e-5)
  }

  @Test mutating func huberOnBothSidesOfDelta() {
    let p: [Float] = [0.1, -0.3, 2.5, -3.0, 0.9, 1.7]
    let t: [Float] = [0, 0, 0, 0, 0, 0]
    let r = Loss.huber(predictions: p, targets: t)
    expectClose(r.gradient, numericGradient(p) { Double(Loss.huber(predictions: $0, targets: t).value) }, "huber")
    #expect(abs(r.value - (0.005 + 0.045 + 2.0 + 2.5 + 0.405 + 1.2) / 6) < 1e-5)
  }

  @Test mutating func advantageCrossEntropy() {
    let logits = (0..<12).map { _ in rng.uniform(-2, 2) }
    let actions = [0, 3, 2]
    let adv: [Float] = [1.5, -0.7, 0.3]
    let r = Loss.advantageCrossEntropy(logits: logits, actions: actions, advantages: adv, actionCount: 4)
    let numeric = numericGradient(logits) {
      Double(Loss.advantageCrossEntropy(logits: $0, actions: actions, advantages: adv, actionCount: 4).value)
    }
    expectClose(r.gradient, numeric, "advantage cross-entropy")
  }

  @Test(arguments: [Float(1), 0.5])
  func distillationKL(temperature: Float) {
    var rng = SeededGenerator(seed: 9)
    let teacher = (0..<12).map { _ in rng.uniform(-1, 1) }
    let student = (0..<12).map { _ in rng.uniform(-2, 2) }
    let r = Loss.distillation(teacher: teacher, student: student, actionCount: 3, temperature: temperature)
    let numeric = numericGradient(student) {
      Double(Loss.distillation(teacher: teacher, student: $0, actionCount: 3, temperature: temperature).value)
    }
    expectClose(r.gradient, numeric, "distillation tau \(temperature)")
  }

  @Test func distillationMatchesTheSpecFormula() {
    // One row worked by hand: p_T = softmax(t / tau) + eps, p_S = softmax(s) + eps.
    let t: [Float] = [1.0, 1.02]
    let s: [Float] = [0.3, -0.2]
    let tau: Float = 0.01, eps: Float = 1e-5
    let et = [exp(Double(t[0] / tau)), exp(Double(t[1] / tau))]
    let pT = et.map { $0 / (et[0] + et[1]) + Double(eps) }
    let es = [exp(Double(s[0])), exp(Double(s[1]))]
    let pS = es.map { $0 / (es[0] + es[1]) + Double(eps) }
    let expected = pT[0] * log(pT[0] / pS[0]) + pT[1] * log(pT[1] / pS[1])
    let r = Loss.distillation(teacher: t, student: s, actionCount: 2, temperature: tau, epsilon: eps)
    #expect(abs(Double(r.value) - expected) < 1e-4)
    // The loss is zero when the student already matches the sharpened teacher.
    let same = Loss.distillation(teacher: [0, 0], student: [0, 0], actionCount: 2)
    #expect(abs(same.value) < 1e-6)
  }
}

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
