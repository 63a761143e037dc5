import PoPSCore

/// One layer of a sequential network, named and laid out like PyTorch's
/// `torch.nn` modules so a saved model maps onto `nn.Sequential` directly.
public enum LayerSpec: Equatable, Sendable, Codable {
  /// `y = x W^T + b`, W shaped [outputs, inputs] (PyTorch's `nn.Linear`).
  case linear(inputs: Int, outputs: Int)
  /// `y = max(0, x)` elementwise.
  case relu
  /// `y = tanh(x)` elementwise (Stable-Baselines3's default activation for
  /// PPO and A2C policies).
  case tanh
  /// A 2-D convolution over [channels, height, width] inputs, weight shaped
  /// [out, in, kh, kw] (PyTorch's `nn.Conv2d`, cross-correlation).
  case conv2d(Conv2D)
  /// [C, H, W] -> [C * H * W] (PyTorch's `nn.Flatten`; no data moves).
  case flatten

  /// How a convolution pads its input.
  public enum Padding: String, Codable, Sendable, CaseIterable {
    /// No padding: output = floor((input - kernel) / stride) + 1.
    case valid
    /// TensorFlow's: output = ceil(input / stride), the padding split evenly
    /// with the odd unit after.
    case same
  }

  /// The settings of a convolution layer.
  public struct Conv2D: Equatable, Sendable {
    public var inChannels: Int
    public var outChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var stride: Int
    public var padding: Padding

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Padding = .valid) {
      self.inChannels = inChannels
      self.outChannels = outChannels
      kernelHeight = kernel
      kernelWidth = kernel
      self.stride = stride
      self.padding = padding
    }

    /// Output height and width, and the padding before the first row and column.
    public func geometry(height: Int, width: Int) -> (height: Int, width: Int, top: Int, left: Int) {
      if padding == .same {
        let oh = (height + stride - 1) / stride, ow = (width + stride - 1) / stride
        let ph = max((oh - 1) * stride + kernelHeight - height, 0)
        let pw = max((ow - 1) * stride + kernelWidth - width, 0)
        return (oh, ow, ph / 2, pw / 2)
      }
      return ((height - kernelHeight) / stride + 1, (width - kernelWidth) / stride + 1, 0, 0)
    }
  }

  /// True for layers that own parameters.
  public var hasParameters: Bool {
    switch self {
    case .linear, .conv2d: return true
    case .relu, .tanh, .flatten: return false
    }
  }

  /// The shapes of this layer's parameters in order (weight, then bias).
  public var parameterShapes: [[Int]] {
    switch self {
    case .linear(let inputs, let outputs): return [[outputs, inputs], [outputs]]
    case .conv2d(let c): return [[c.outChannels, c.inChannels, c.kernelHeight, c.kernelWidth], [c.outChannels]]
    case .relu, .tanh, .flatten: return []
    }
  }

  private enum CodingKeys: String, CodingKey {
    case type, inFeatures = "in_features", outFeatures = "out_features"
    case inChannels = "in_channels", outChannels = "out_channels", kernelSize = "kernel_size", stride, padding
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
    case "tanh":
      self = .tanh
    case "flatten":
      self = .flatten
    case "conv2d":
      let kernel = try c.decode([Int].self, forKey: .kernelSize)
      guard kernel.count == 2 else {
        throw DecodingError.dataCorruptedError(forKey: .kernelSize, in: c, debugDescription: "kernel_size must be [kh, kw]")
      }
      let paddingName = try c.decode(String.self, forKey: .padding)
      guard let padding = Padding(rawValue: paddingName) else {
        throw DecodingError.dataCorruptedError(
          forKey: .padding, in: c, debugDescription: "padding must be valid or same, got '\(paddingName)'")
      }
      var conv = Conv2D(
        inChannels: try c.decode(Int.self, forKey: .inChannels), outChannels: try c.decode(Int.self, forKey: .outChannels),
        kernel: kernel[0], stride: try c.decode(Int.self, forKey: .stride), padding: padding)
      conv.kernelWidth = kernel[1]
      self = .conv2d(conv)
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
    case .tanh:
      try c.encode("tanh", forKey: .type)
    case .flatten:
      try c.encode("flatten", forKey: .type)
    case .conv2d(let conv):
      try c.encode("conv2d", forKey: .type)
      try c.encode(conv.inChannels, forKey: .inChannels)
      try c.encode(conv.outChannels, forKey: .outChannels)
      try c.encode([conv.kernelHeight, conv.kernelWidth], forKey: .kernelSize)
      try c.encode(conv.stride, forKey: .stride)
      try c.encode(conv.padding.rawValue, forKey: .padding)
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

  /// The activations a hidden layer may have.
  public enum Activation: String, Sendable, CaseIterable {
    case relu, tanh

    public var layer: LayerSpec { self == .relu ? .relu : .tanh }
  }

  /// A multilayer perceptron: linear layers of the given widths with
  /// `activation` (ReLU by default) between them and none on the output.
  public static func mlp(inputs: Int, hidden: [Int], outputs: Int, activation: Activation = .relu) -> Architecture {
    precondition(inputs > 0 && outputs > 0, "mlp: inputs (\(inputs)) and outputs (\(outputs)) must be positive")
    precondition(hidden.allSatisfy { $0 > 0 }, "mlp: hidden widths must be positive, got \(hidden)")
    var layers: [LayerSpec] = []
    var width = inputs
    for h in hidden {
      layers.append(.linear(inputs: width, outputs: h))
      layers.append(activation.layer)
      width = h
    }
    layers.append(.linear(inputs: width, outputs: outputs))
    return Architecture(inputShape: [inputs], layers: layers)
  }

  /// A convolutional network: `convolutions` as `[out_channels, kernel,
  /// stride]` (valid padding) with ReLU, a flatten, then an MLP head.
  /// Without convolutions it is `mlp`.
  /// The Nature CNN's convolutions (Mnih et al. 2015), `[out_channels, kernel, stride]` each.
  public static let natureConvolutions = [[32, 8, 4], [64, 4, 2], [64, 3, 1]]

  /// The Nature CNN on 4 stacked 84x84 frames: the reference's Pong teacher
  /// (4x84x84-c32k8s4-c64k4s2-c64k3s1-512-actions).
  public static func natureCNN(actions: Int) -> Architecture {
    convNet(inputShape: [4, 84, 84], convolutions: natureConvolutions, hidden: [512], outputs: actions)
  }

  /// Why `convNet` cannot be built on `inputShape` (not [C, H, W], a bad
  /// triple, a kernel larger than what reaches it), or nil.
  public static func convNetProblem(inputShape: [Int], convolutions: [[Int]]) -> String? {
    guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
      return "convolutions need a [channels, height, width] input, got \(inputShape)"
    }
    var height = inputShape[1], width = inputShape[2]
    for (index, c) in convolutions.enumerated() {
      guard c.count == 3, c.allSatisfy({ $0 > 0 }) else {
        return "convolution \(index) must be [out_channels, kernel, stride] with positive values, got \(c)"
      }
      guard c[1] <= height && c[1] <= width else {
        return "convolution \(index) has a \(c[1])x\(c[1]) kernel but its input is \(height)x\(width)"
      }
      height = (height - c[1]) / c[2] + 1
      width = (width - c[1]) / c[2] + 1
    }
    return nil
  }

  public static func convNet(inputShape: [Int], convolutions: [[Int]], hidden: [Int], outputs: Int) -> Architecture {
    if convolutions.isEmpty {
      return .mlp(inputs: inputShape.reduce(1, *), hidden: hidden, outputs: outputs)
    }
    precondition(inputShape.count == 3, "convNet: convolutions need a [C, H, W] input, got \(inputShape)")
    precondition(convolutions.allSatisfy { $0.count == 3 && $0.allSatisfy { $0 > 0 } }, "convNet: each convolution is [out_channels, kernel, stride]")
    var layers: [LayerSpec] = []
    var channels = inputShape[0]
    for c in convolutions {
      layers.append(.conv2d(LayerSpec.Conv2D(inChannels: channels, outChannels: c[0], kernel: c[1], stride: c[2])))
      layers.append(.relu)
      channels = c[0]
    }
    layers.append(.flatten)
    var features = Architecture(inputShape: inputShape, layers: layers).outputWidths.last!
    for h in hidden {
      layers.append(.linear(inputs: features, outputs: h))
      layers.append(.relu)
      features = h
    }
    layers.append(.linear(inputs: features, outputs: outputs))
    return Architecture(inputShape: inputShape, layers: layers)
  }

  /// The number of values in one input.
  public var inputCount: Int { inputShape.reduce(1, *) }

  /// The shape of each layer's output, in order ([C, H, W] after a
  /// convolution, [n] after a linear layer or a flatten).
  public var outputShapes: [[Int]] {
    var shape = inputShape
    return layers.map { layer in
      switch layer {
      case .linear(_, let outputs): shape = [outputs]
      case .flatten: shape = [shape.reduce(1, *)]
      case .conv2d(let c):
        let g = c.geometry(height: shape.count == 3 ? shape[1] : 0, width: shape.count == 3 ? shape[2] : 0)
        shape = [c.outChannels, g.height, g.width]
      case .relu, .tanh: break
      }
      return shape
    }
  }

  /// The number of values in each layer's output, in order.
  public var outputWidths: [Int] { outputShapes.map { $0.reduce(1, *) } }

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

  /// The number of weights (biases excluded): what PoPS sizes are counted in.
  public var weightCount: Int {
    layers.reduce(0) { total, layer in total + (layer.parameterShapes.first.map { $0.reduce(1, *) } ?? 0) }
  }

  /// Checks that consecutive layers fit; returns a description of the first problem.
  /// The largest size pops accepts for any one dimension (a width, a channel
  /// count, a kernel, a stride, an input extent): 2^24.
  public static let maximumDimension = 1 << 24
  /// The most values pops accepts in one activation or one weight tensor:
  /// 2^31 (8 GiB of float32). Larger architectures are refused before any
  /// size arithmetic could overflow.
  public static let maximumValues = 1 << 31

  /// The product of `sizes`, or nil when it exceeds `maximumValues`.
  static func boundedProduct(_ sizes: [Int]) -> Int? {
    var total = 1
    for n in sizes {
      let (product, overflow) = total.multipliedReportingOverflow(by: n)
      guard !overflow, product <= maximumValues else { return nil }
      total = product
    }
    return total
  }

  /// Checks every layer against its input; the message names the first problem.
  public func validationError() -> String? {
    let limit = Self.maximumDimension
    if inputShape.isEmpty || inputShape.contains(where: { $0 <= 0 || $0 > limit }) {
      return "input_shape \(inputShape) must be non-empty with sizes in 1...\(limit)"
    }
    guard Self.boundedProduct(inputShape) != nil else {
      return "input_shape \(inputShape) has more than \(Self.maximumValues) values"
    }
    var shape = inputShape
    for (index, layer) in layers.enumerated() {
      switch layer {
      case .linear(let inputs, let outputs):
        if shape.count != 1 { return "layers.\(index) is linear but receives shape \(shape) (flatten first)" }
        let width = shape[0]
        if inputs != width { return "layers.\(index) expects \(inputs) inputs but receives \(width)" }
        if outputs <= 0 || outputs > limit { return "layers.\(index) has \(outputs) outputs (must be in 1...\(limit))" }
        if Self.boundedProduct([inputs, outputs]) == nil {
          return "layers.\(index) has \(inputs) x \(outputs) weights, more than \(Self.maximumValues)"
        }
        shape = [outputs]
      case .conv2d(let c):
        guard shape.count == 3 else { return "layers.\(index) is conv2d but receives shape \(shape) (needs [C, H, W])" }
        if c.inChannels != shape[0] { return "layers.\(index) expects \(c.inChannels) channels but receives \(shape[0])" }
        let sizes = [c.outChannels, c.kernelHeight, c.kernelWidth, c.stride]
        if sizes.contains(where: { $0 <= 0 || $0 > limit }) {
          return "layers.\(index) has a size outside 1...\(limit) (out_channels, kernel_size, stride: \(sizes))"
        }
        if Self.boundedProduct([c.outChannels, c.inChannels, c.kernelHeight, c.kernelWidth]) == nil {
          return "layers.\(index) has more than \(Self.maximumValues) weights"
        }
        let g = c.geometry(height: shape[1], width: shape[2])
        if g.height <= 0 || g.width <= 0 { return "layers.\(index) kernel is larger than its \(shape[1])x\(shape[2]) input" }
        if Self.boundedProduct([c.outChannels, g.height, g.width]) == nil {
          return "layers.\(index) outputs \(c.outChannels)x\(g.height)x\(g.width), more than \(Self.maximumValues) values"
        }
        shape = [c.outChannels, g.height, g.width]
      case .flatten:
        shape = [shape.reduce(1, *)]
      case .relu, .tanh:
        break
      }
    }
    if !layers.contains(where: \.hasParameters) { return "the network has no linear layer" }
    return nil
  }

  /// A short human-readable form such as `4-256-256-128-2`, or
  /// `4x84x84-c32k8s4-c64k4s2-c64k3s1-512-3` with convolutions, `/tanh`
  /// appended when the network uses Tanh (`init(compact:)` reads it back).
  public var summary: String {
    let input = inputShape.count == 1 ? String(inputShape[0]) : inputShape.map(String.init).joined(separator: "x")
    return ([input] + layers.compactMap { layer -> String? in
      switch layer {
      case .linear(_, let o): return String(o)
      case .conv2d(let c): return "c\(c.outChannels)k\(c.kernelHeight)s\(c.stride)"
      case .relu, .tanh, .flatten: return nil
      }
    }).joined(separator: "-") + (layers.contains(.tanh) ? "/tanh" : "")
  }
}
