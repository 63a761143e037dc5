import PoPSCore

/// One layer of a sequential network, named and laid out like PyTorch's
/// `torch.nn` modules so a saved model maps onto `nn.Sequential` directly.
public enum LayerSpec: Equatable, Sendable, Codable {
  /// `y = x W^T + b`, W shaped [outputs, inputs] (PyTorch's `nn.Linear`).
  case linear(inputs: Int, outputs: Int)
  /// `y = max(0, x)` elementwise.
  case relu

  /// True for layers that own parameters.
  public var hasParameters: Bool {
    if case .linear = self { return true }
    return false
  }

  /// The shapes of this layer's parameters in order (weight, then bias).
  public var parameterShapes: [[Int]] {
    switch self {
    case .linear(let inputs, let outputs): return [[outputs, inputs], [outputs]]
    case .relu: return []
    }
  }

  private enum CodingKeys: String, CodingKey {
    case type, inFeatures = "in_features", outFeatures = "out_features"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let type = try c.decode(String.self, forKey: .type)
    switch type {
    case "linear":
      self = .linear(
        inputs: try c.decode(Int.self, forKey: .inFeatures),
        outputs: try c.decode(Int.self, forKey: .outFeatures))
    case "relu":
      self = .relu
    default:
      throw DecodingError.dataCorruptedError(
        forKey: .type, in: c, debugDescription: "unknown layer type '\(type)'")
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    switch self {
    case .linear(let inputs, let outputs):
      try c.encode("linear", forKey: .type)
      try c.encode(inputs, forKey: .inFeatures)
      try c.encode(outputs, forKey: .outFeatures)
    case .relu:
      try c.encode("relu", forKey: .type)
    }
  }
}

/// A sequential network's structure: its input shape and its layers.
public struct Architecture: Equatable, Sendable, Codable {
  /// The shape of one observation (e.g. `[4]` for CartPole).
  public var inputShape: [Int]
  /// The layers in order; `layers.N` in parameter names indexes this array.
  public var layers: [LayerSpec]

  private enum CodingKeys: String, CodingKey {
    case inputShape = "input_shape", layers
  }

  public init(inputShape: [Int], layers: [LayerSpec]) {
    self.inputShape = inputShape
    self.layers = layers
  }

  /// A multilayer perceptron: linear layers of the given widths with ReLU
  /// between them and no activation on the output.
  public static func mlp(inputs: Int, hidden: [Int], outputs: Int) -> Architecture {
    precondition(inputs > 0 && outputs > 0, "mlp: inputs (\(inputs)) and outputs (\(outputs)) must be positive")
    precondition(hidden.allSatisfy { $0 > 0 }, "mlp: hidden widths must be positive, got \(hidden)")
    var layers: [LayerSpec] = []
    var width = inputs
    for h in hidden {
      layers.append(.linear(inputs: width, outputs: h))
      layers.append(.relu)
      width = h
    }
    layers.append(.linear(inputs: width, outputs: outputs))
    return Architecture(inputShape: [inputs], layers: layers)
  }

  /// The number of values in one input.
  public var inputCount: Int { inputShape.reduce(1, *) }

  /// The width of each layer's output, in order.
  public var outputWidths: [Int] {
    var width = inputCount
    return layers.map { layer in
      if case .linear(_, let outputs) = layer { width = outputs }
      return width
    }
  }

  /// The number of values the network outputs per input.
  public var outputCount: Int { outputWidths.last ?? inputCount }

  /// The widths of the hidden linear layers (all linear outputs but the last).
  public var hiddenWidths: [Int] {
    let outs = layers.compactMap { layer -> Int? in
      if case .linear(_, let o) = layer { return o }
      return nil
    }
    return Array(outs.dropLast())
  }

  /// PyTorch-style names of every parameter, in the order of `Network.parameters`.
  public var parameterNames: [String] {
    layers.enumerated().flatMap { index, layer -> [String] in
      layer.hasParameters ? ["layers.\(index).weight", "layers.\(index).bias"] : []
    }
  }

  /// Shapes of every parameter, in the order of `Network.parameters`.
  public var parameterShapes: [[Int]] { layers.flatMap(\.parameterShapes) }

  /// Checks that consecutive layers fit; returns a description of the first problem.
  public func validationError() -> String? {
    if inputShape.isEmpty || inputShape.contains(where: { $0 <= 0 }) {
      return "input_shape \(inputShape) must be non-empty and positive"
    }
    var width = inputCount
    for (index, layer) in layers.enumerated() {
      if case .linear(let inputs, let outputs) = layer {
        if inputs != width {
          return "layers.\(index) expects \(inputs) inputs but receives \(width)"
        }
        if outputs <= 0 { return "layers.\(index) has \(outputs) outputs" }
        width = outputs
      }
    }
    if !layers.contains(where: \.hasParameters) { return "the network has no linear layer" }
    return nil
  }

  /// A short human-readable form such as `4-256-256-128-2`.
  public var summary: String {
    ([inputCount] + layers.compactMap { layer -> Int? in
      if case .linear(_, let o) = layer { return o }
      return nil
    }).map(String.init).joined(separator: "-")
  }
}
