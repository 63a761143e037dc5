import Foundation

/// A loss value with its gradient with respect to the network output.
public struct LossResult: Sendable {
  public var value: Float
  /// dLoss/dOutput, shaped like the output it was computed from.
  public var gradient: [Float]

  public init(value: Float, gradient: [Float]) {
    self.value = value
    self.gradient = gradient
  }
}

/// Loss functions. Each returns the loss and its gradient with respect to
/// the predictions, ready for `Network.backward`.
public enum Loss {
  /// Mean squared error over all elements: mean((p - t)^2).
  public static func meanSquaredError(predictions: [Float], targets: [Float]) -> LossResult {
    precondition(predictions.count == targets.count && !predictions.isEmpty, "meanSquaredError: sizes differ or empty")
    let n = Float(predictions.count)
    var loss: Float = 0
    var grad = [Float](repeating: 0, count: predictions.count)
    for i in predictions.indices {
      let d = predictions[i] - targets[i]
      loss += d * d
      grad[i] = 2 * d / n
    }
    return LossResult(value: loss / n, gradient: grad)
  }

  /// Huber (smooth L1) loss averaged over elements: 0.5 d^2 for |d| <= delta,
  /// delta (|d| - 0.5 delta) beyond (PyTorch's `HuberLoss`, default delta 1).
  public static func huber(predictions: [Float], targets: [Float], delta: Float = 1) -> LossResult {
    precondition(predictions.count == targets.count && !predictions.isEmpty, "huber: sizes differ or empty")
    precondition(delta > 0, "huber: delta must be positive, got \(delta)")
    let n = Float(predictions.count)
    var loss: Float = 0
    var grad = [Float](repeating: 0, count: predictions.count)
    for i in predictions.indices {
      let d = predictions[i] - targets[i]
      if abs(d) <= delta {
        loss += 0.5 * d * d
        grad[i] = d / n
      } else {
        loss += delta * (abs(d) - 0.5 * delta)
        grad[i] = delta * (d > 0 ? 1 : -1) / n
      }
    }
    return LossResult(value: loss / n, gradient: grad)
  }

  /// Policy-gradient cross-entropy weighted by advantages:
  /// `-mean_b( A_b * log softmax(logits_b)[a_b] )`.
  public static func advantageCrossEntropy(
    logits: [Float], actions: [Int], advantages: [Float], actionCount: Int
  ) -> LossResult {
    let batch = actions.count
    precondition(batch > 0 && advantages.count == batch, "advantageCrossEntropy: need one advantage per action")
    precondition(logits.count == batch * actionCount, "advantageCrossEntropy: logits must be [batch, actionCount]")
    var loss: Float = 0
    var grad = [Float](repeating: 0, count: logits.count)
    var logProbs = [Float](repeating: 0, count: actionCount)
    for b in 0..<batch {
      let row = b * actionCount
      logSoftmax(logits, offset: row, count: actionCount, into: &logProbs)
      let a = actions[b]
      precondition(a >= 0 && a < actionCount, "advantageCrossEntropy: action \(a) out of range")
      let adv = advantages[b]
      loss -= adv * logProbs[a]
      for j in 0..<actionCount {
        let p = exp(logProbs[j])
        grad[row + j] = adv * (p - (j == a ? 1 : 0)) / Float(batch)
      }
    }
    return LossResult(value: loss / Float(batch), gradient: grad)
  }

  /// The PoPS policy-distillation loss (Rusu et al.; docs/algorithm.md section 3):
  ///
  ///     p_T = softmax(teacher / tau) + eps,  p_S = softmax(student) + eps
  ///     L   = sum over batch and actions of p_T * log(p_T / p_S)
  ///
  /// - Parameters:
  ///   - teacher: teacher outputs (Q-values or logits), [batch, actions].
  ///   - student: student logits, [batch, actions].
  ///   - temperature: tau; the reference uses 0.01 (sharpens the teacher).
  ///   - epsilon: added to both distributions; the reference uses 1e-5.
  public static func distillation(
    teacher: [Float], student: [Float], actionCount: Int,
    temperature: Float = 0.01, epsilon: Float = 1e-5
  ) -> LossResult {
    precondition(temperature > 0, "distillation: temperature must be positive, got \(temperature)")
    precondition(epsilon >= 0, "distillation: epsilon must be non-negative, got \(epsilon)")
    precondition(
      teacher.count == student.count && teacher.count % actionCount == 0 && !teacher.isEmpty,
      "distillation: teacher and student must both be [batch, \(actionCount)]")
    let batch = teacher.count / actionCount
    var loss: Float = 0
    var grad = [Float](repeating: 0, count: student.count)
    var pT = [Float](repeating: 0, count: actionCount)
    var q = [Float](repeating: 0, count: actionCount)
    for b in 0..<batch {
      let row = b * actionCount
      softmax(teacher, offset: row, count: actionCount, scale: 1 / temperature, into: &pT)
      softmax(student, offset: row, count: actionCount, scale: 1, into: &q)
      // dL/dq_i = -pT_i / pS_i; through softmax: dL/ds_j = q_j (dL/dq_j - sum_i q_i dL/dq_i)
      var weighted: Float = 0
      for i in 0..<actionCount {
        let t = pT[i] + epsilon
        let s = q[i] + epsilon
        loss += t * log(t / s)
        weighted += q[i] * (-t / s)
      }
      for j in 0..<actionCount {
        let t = pT[j] + epsilon
        let s = q[j] + epsilon
        grad[row + j] = q[j] * (-t / s - weighted)
      }
    }
    return LossResult(value: loss, gradient: grad)
  }

  /// softmax(scale * x[offset..<offset+count]) into `out`.
  public static func softmax(_ x: [Float], offset: Int, count: Int, scale: Float, into out: inout [Float]) {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, scale * x[offset + j]) }
    var total: Float = 0
    for j in 0..<count {
      let e = exp(scale * x[offset + j] - m)
      out[j] = e
      total += e
    }
    for j in 0..<count { out[j] /= total }
  }

  /// log softmax(x[offset..<offset+count]) into `out`.
  public static func logSoftmax(_ x: [Float], offset: Int, count: Int, into out: inout [Float]) {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, x[offset + j]) }
    var total: Float = 0
    for j in 0..<count { total += exp(x[offset + j] - m) }
    let lse = m + log(total)
    for j in 0..<count { out[j] = x[offset + j] - lse }
  }
}
