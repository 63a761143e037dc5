extension Architecture {
  /// Parses the compact notation `summary` prints: the input (`4` or
  /// `4x84x84`), then convolutions `c<out>k<kernel>s<stride>` (valid
  /// padding, ReLU after each), then dense widths, the last one the outputs;
  /// `/tanh` at the end puts Tanh instead of ReLU between the dense layers.
  /// A flatten goes before the first dense layer after a convolution.
  /// Returns nil for text that is not in the notation.
  public init?(compact text: String) {
    var body = Substring(text.trimmingCharacters(in: .whitespaces))
    var activation = Activation.relu
    if let slash = body.lastIndex(of: "/") {
      guard let named = Activation(rawValue: String(body[body.index(after: slash)...])) else { return nil }
      activation = named
      body = body[..<slash]
    }
    let tokens = body.split(separator: "-", omittingEmptySubsequences: false)
    guard tokens.count >= 2 else { return nil }
    let input = tokens[0].split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard !input.isEmpty, input.count == 1 || input.count == 3, input.allSatisfy({ ($0 ?? 0) > 0 && $0! < 1 << 20 }) else {
      return nil
    }
    let inputShape = input.map { $0! }
    var layers: [LayerSpec] = []
    var channels = inputShape[0]
    var features: Int? = inputShape.count == 1 ? inputShape[0] : nil
    var dense: [Int] = []
    for token in tokens.dropFirst() {
      if token.first == "c" {
        guard dense.isEmpty, inputShape.count == 3, let k = token.firstIndex(of: "k"), let s = token.firstIndex(of: "s"), k < s,
          let out = Int(token[token.index(after: token.startIndex)..<k]), let kernel = Int(token[token.index(after: k)..<s]),
          let stride = Int(token[token.index(after: s)...]), out > 0, kernel > 0, stride > 0, out < 1 << 20, kernel < 1 << 12,
          stride < 1 << 12
        else { return nil }
        layers.append(.conv2d(.init(inChannels: channels, outChannels: out, kernel: kernel, stride: stride)))
        layers.append(.relu)
        channels = out
      } else {
        guard let width = Int(token), width > 0, width < 1 << 24 else { return nil }
        dense.append(width)
      }
    }
    guard !dense.isEmpty else { return nil }
    if features == nil {
      layers.append(.flatten)
      let shapes = Architecture(inputShape: inputShape, layers: layers).outputShapes
      guard let last = shapes.last, last.allSatisfy({ $0 > 0 }) else { return nil }
      features = last.reduce(1, *)
    }
    var width = features!
    for (i, next) in dense.enumerated() {
      layers.append(.linear(inputs: width, outputs: next))
      if i < dense.count - 1 { layers.append(activation.layer) }
      width = next
    }
    self.init(inputShape: inputShape, layers: layers)
    if validationError() != nil { return nil }
  }
}
