import Foundation
import PoPSCore

/// Updates a network's parameters from gradients. Optimizers hold only their
/// own state (moments); the network stays a plain value the caller owns.
public protocol Optimizer {
  /// The step size; trainers may change it between updates (schedules).
  var learningRate: Float { get set }
  /// Applies one update and re-applies the network's pruning masks.
  mutating func update(_ network: inout Network, along gradients: [Tensor])
}

/// Adam (Kingma & Ba 2015) with bias correction, as PyTorch's `torch.optim.Adam`.
public struct Adam: Optimizer {
  /// Step size. Default 1e-3 (PyTorch's default).
  public var learningRate: Float
  /// Decay of the first-moment average. Default 0.9.
  public var beta1: Float
  /// Decay of the second-moment average. Default 0.999.
  public var beta2: Float
  /// Added to the denominator for stability. Default 1e-8.
  public var epsilon: Float
  public private(set) var step = 0
  var m: [Tensor] = []
  var v: [Tensor] = []

  public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
    precondition(learningRate > 0, "Adam: learningRate must be positive, got \(learningRate)")
    precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1), got \(beta1), \(beta2)")
    precondition(epsilon > 0, "Adam: epsilon must be positive, got \(epsilon)")
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
  }

  /// Saves the step count and moment estimates under `prefix`.
  public func store(in archive: inout TensorArchive, as prefix: String) {
    archive.store(m, as: "\(prefix).m")
    archive.store(v, as: "\(prefix).v")
    archive.arrays["\(prefix).step"] = .int64([Int64(step)])
  }

  /// Restores what `store(in:as:)` saved, for parameters of `shapes`.
  public mutating func restore(from archive: TensorArchive, as prefix: String, shapes: [[Int]]) throws {
    step = Int(try archive.int64s("\(prefix).step", count: 1)[0])
    if step > 0 {
      m = try archive.tensors("\(prefix).m", shapes: shapes)
      v = try archive.tensors("\(prefix).v", shapes: shapes)
    }
  }

  public mutating func update(_ network: inout Network, along gradients: [Tensor]) {
    precondition(gradients.count == network.parameters.count, "Adam: one gradient per parameter expected")
    if m.count != gradients.count {
      m = gradients.map { Tensor(shape: $0.shape) }
      v = m
    }
    step += 1
    let c1 = 1 - pow(beta1, Float(step))
    let c2 = 1 - pow(beta2, Float(step))
    let stepSize = learningRate / c1
    let b1 = beta1, b2 = beta2, eps = epsilon
    let rootC2 = c2.squareRoot()
    let counts = gradients.map(\.count)
    withParameterPointers(gradients) { gs in
      withMutablePointers(&m) { ms in
        withMutablePointers(&v) { vs in
          withMutablePointers(&network.parameters) { ps in
            let box = UncheckedBox((gs, ms, vs, ps))
            let parts = counts.reduce(0, +) >= 32768 ? Compute.maxThreads : 1
            Compute.parallelFor(parts) { part in
              let (gs, ms, vs, ps) = box.value
              for i in counts.indices {
                let lo = (counts[i] * part / parts) & ~15
                let hi = part == parts - 1 ? counts[i] : (counts[i] * (part + 1) / parts) & ~15
                guard hi > lo else { continue }
                OptimizerKernels.adam(
                  count: hi - lo, parameters: ps[i] + lo, gradients: gs[i] + lo, m: ms[i] + lo, v: vs[i] + lo,
                  stepSize: stepSize, beta1: b1, beta2: b2, epsilon: eps, rootC2: rootC2)
              }
            }
          }
        }
      }
    }
    network.applyMasks()
  }
}

/// RMSProp as PyTorch's `torch.optim.RMSprop` (no momentum, not centered):
/// `v = rho v + (1 - rho) g^2;  p -= lr g / (sqrt(v) + eps)`.
public struct RMSProp: Optimizer {
  /// Step size. Default 1e-3.
  public var learningRate: Float
  /// Decay of the squared-gradient average. Default 0.9 (TensorFlow 1's,
  /// which the reference's distillation used; PyTorch defaults to 0.99).
  public var rho: Float
  /// Added to the denominator. Default 1e-7.
  public var epsilon: Float
  var v: [[Float]] = []

  public init(learningRate: Float = 1e-3, rho: Float = 0.9, epsilon: Float = 1e-7) {
    precondition(learningRate > 0, "RMSProp: learningRate must be positive, got \(learningRate)")
    precondition((0..<1).contains(rho), "RMSProp: rho must be in [0, 1), got \(rho)")
    precondition(epsilon > 0, "RMSProp: epsilon must be positive, got \(epsilon)")
    self.learningRate = learningRate
    self.rho = rho
    self.epsilon = epsilon
  }

  public mutating func update(_ network: inout Network, along gradients: [Tensor]) {
    precondition(gradients.count == network.parameters.count, "RMSProp: one gradient per parameter expected")
    if v.count != gradients.count { v = gradients.map { [Float](repeating: 0, count: $0.count) } }
    let lr = learningRate, r = rho, eps = epsilon
    for i in gradients.indices {
      gradients[i].scalars.withUnsafeBufferPointer { g in
        v[i].withUnsafeMutableBufferPointer { v in
          network.parameters[i].scalars.withUnsafeMutableBufferPointer { p in
            OptimizerKernels.rmsProp(
              count: p.count, parameters: p.baseAddress!, gradients: g.baseAddress!, v: v.baseAddress!,
              learningRate: lr, rho: r, epsilon: eps)
          }
        }
      }
    }
    network.applyMasks()
  }

  /// Saves the squared-gradient averages under `prefix` (none before the first update).
  public func store(in archive: inout TensorArchive, as prefix: String) {
    archive.arrays["\(prefix).count"] = .int64([Int64(v.count)])
    for (i, average) in v.enumerated() { archive.arrays["\(prefix).v.\(i)"] = .float(average) }
  }

  /// Restores what `store(in:as:)` saved, for parameters of `shapes`.
  public mutating func restore(from archive: TensorArchive, as prefix: String, shapes: [[Int]]) throws {
    let count = try archive.int64s("\(prefix).count", count: 1)[0]
    guard count == 0 || count == Int64(shapes.count) else {
      throw archive.problem("\(prefix) holds \(count) RMSProp averages, the network has \(shapes.count) parameters")
    }
    v = try (0..<Int(count)).map { try archive.floats("\(prefix).v.\($0)", count: shapes[$0].reduce(1, *)) }
  }
}

/// Stochastic gradient descent with optional (heavy-ball) momentum, as
/// PyTorch's `torch.optim.SGD`: `b = mu b + g;  p -= lr b`.
public struct SGD: Optimizer {
  /// Step size. Default 1e-2.
  public var learningRate: Float
  /// Momentum factor mu. Default 0 (plain SGD).
  public var momentum: Float
  var buffers: [[Float]] = []

  public init(learningRate: Float = 1e-2, momentum: Float = 0) {
    precondition(learningRate > 0, "SGD: learningRate must be positive, got \(learningRate)")
    precondition((0..<1).contains(momentum), "SGD: momentum must be in [0, 1), got \(momentum)")
    self.learningRate = learningRate
    self.momentum = momentum
  }

  public mutating func update(_ network: inout Network, along gradients: [Tensor]) {
    precondition(gradients.count == network.parameters.count, "SGD: one gradient per parameter expected")
    if buffers.count != gradients.count { buffers = gradients.map { [Float](repeating: 0, count: $0.count) } }
    let lr = learningRate, mu = momentum
    for i in gradients.indices {
      gradients[i].scalars.withUnsafeBufferPointer { g in
        buffers[i].withUnsafeMutableBufferPointer { b in
          network.parameters[i].scalars.withUnsafeMutableBufferPointer { p in
            for j in 0..<p.count {
              b[j] = mu * b[j] + g[j]
              p[j] -= lr * b[j]
            }
          }
        }
      }
    }
    network.applyMasks()
  }
}

/// Scales `gradients` so their global L2 norm is at most `maxNorm`; returns
/// the norm before clipping (PyTorch's `clip_grad_norm_`).
@discardableResult
public func clipGradientNorm(_ gradients: inout [Tensor], maxNorm: Float) -> Float {
  precondition(maxNorm > 0, "clipGradientNorm: maxNorm must be positive, got \(maxNorm)")
  var total: Float = 0
  for g in gradients { for x in g.scalars { total += x * x } }
  let norm = total.squareRoot()
  if norm > maxNorm {
    let s = maxNorm / (norm + 1e-6)
    for i in gradients.indices {
      gradients[i].scalars.withUnsafeMutableBufferPointer { p in
        for j in 0..<p.count { p[j] *= s }
      }
    }
  }
  return norm
}
