import Foundation
import PoPSCore
import PoPSNN
import Testing

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
