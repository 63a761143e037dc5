import CPoPSKernels
import PoPSCore

/// A sequential neural network as a plain value: an architecture, its
/// parameters as one ordered list, and optional pruning masks.
///
/// `parameters[i]` is named `architecture.parameterNames[i]`
/// (`layers.N.weight` shaped [out, in], then `layers.N.bias`). Optimizers,
/// masks, copies and model files all walk this list.
public struct Network: Equatable, Sendable {
  public let architecture: Architecture
  /// Every parameter, ordered as `architecture.parameterNames`.
  public var parameters: [Tensor] {
    didSet { weightsVersion = pops_next_version() }
  }
  /// A number that changes whenever `parameters` do, and that no other
  /// network's parameters carry: a forward cache keeps large layers' weights
  /// packed for the kernels while it is unchanged (a target network).
  public private(set) var weightsVersion = pops_next_version()
  /// A 0/1 mask per parameter (`nil`: dense). Masked weights stay zero through
  /// forward, backward and optimizer updates (see `applyMasks()`).
  public var masks: [Tensor?]

  /// A network with Glorot-uniform weights (fans counted over the kernel
  /// area for convolutions) and constant biases.
  ///
  /// - Parameters:
  ///   - biasInit: the initial value of every bias (the reference uses 0.001).
  public init(_ architecture: Architecture, biasInit: Float = 0, using rng: inout SeededGenerator) {
    if let problem = architecture.validationError() {
      preconditionFailure("Network: invalid architecture: \(problem)")
    }
    self.architecture = architecture
    var params: [Tensor] = []
    for layer in architecture.layers {
      let fans: (Int, Int, Int)?
      switch layer {
      case .linear(let inputs, let outputs): fans = (inputs, outputs, outputs)
      case .conv2d(let c):
        let area = c.kernelHeight * c.kernelWidth
        fans = (c.inChannels * area, c.outChannels * area, c.outChannels)
      case .relu, .tanh, .flatten: fans = nil
      }
      guard let (fanIn, fanOut, biases) = fans else { continue }
      let limit = (6 / Float(fanIn + fanOut)).squareRoot()
      var w = Tensor(shape: layer.parameterShapes[0])
      for i in 0..<w.count { w[i] = rng.uniform(-limit, limit) }
      params.append(w)
      params.append(Tensor(shape: [biases], repeating: biasInit))
    }
    self.parameters = params
    self.masks = Array(repeating: nil, count: params.count)
  }

  /// A network from existing parameters (checked against the architecture).
  public init(_ architecture: Architecture, parameters: [Tensor]) {
    if let problem = architecture.validationError() {
      preconditionFailure("Network: invalid architecture: \(problem)")
    }
    let shapes = architecture.parameterShapes
    precondition(
      shapes == parameters.map(\.shape),
      "Network: parameter shapes \(parameters.map(\.shape)) do not match the architecture's \(shapes)")
    self.architecture = architecture
    self.parameters = parameters
    self.masks = Array(repeating: nil, count: parameters.count)
  }

  /// The indices in `parameters` of the weight matrices (the prunable ones).
  public var weightIndices: [Int] {
    architecture.parameterShapes.indices.filter { architecture.parameterShapes[$0].count >= 2 }
  }

  /// Total number of parameters (weights and biases).
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

  /// Total number of weights (biases excluded): the size PoPS measures.
  public var weightCount: Int { architecture.weightCount }

  /// Number of non-zero weights in each weight matrix, in order.
  public var nonZeroWeightsPerLayer: [Int] { weightIndices.map { parameters[$0].nonZeroCount } }

  /// Number of non-zero weights over all weight matrices.
  public var nonZeroWeightCount: Int { nonZeroWeightsPerLayer.reduce(0, +) }

  /// Zeroes every masked parameter entry. Optimizers call this after each step.
  public mutating func applyMasks() {
    for i in parameters.indices {
      guard let mask = masks[i] else { continue }
      parameters[i].scalars.withUnsafeMutableBufferPointer { p in
        mask.scalars.withUnsafeBufferPointer { m in
          for j in 0..<p.count { p[j] *= m[j] }
        }
      }
    }
  }

  /// Zeroes the gradient entries of masked parameters.
  public func maskGradients(_ gradients: inout [Tensor]) {
    for i in parameters.indices {
      guard let mask = masks[i] else { continue }
      gradients[i].scalars.withUnsafeMutableBufferPointer { g in
        mask.scalars.withUnsafeBufferPointer { m in
          for j in 0..<g.count { g[j] *= m[j] }
        }
      }
    }
  }

  /// Equal architecture, parameters and masks (the weights' version is not compared).
  public static func == (lhs: Network, rhs: Network) -> Bool {
    lhs.architecture == rhs.architecture && lhs.parameters == rhs.parameters && lhs.masks == rhs.masks
  }

  /// Zero tensors shaped like the parameters (a gradient buffer).
  public func zeroGradients() -> [Tensor] { parameters.map { Tensor(shape: $0.shape) } }
}
