import Foundation

/// The reference implementation's TF1 teachers as a state dict: each
/// variable scope with `weights` (or `kernel`) and `biases` (or `bias`) is
/// one layer, in the order of the number in its name (`fc_1`, `fc_2`,
/// `conv_3`), `logits` last. TF's kernels are transposed to PyTorch's layout
/// ([in, out] -> [out, in]; [kh, kw, in, out] -> [out, in, kh, kw]) and the
/// pruning library's `mask` is multiplied in. The output layer has no
/// activation: the reference puts a ReLU on CartPole's Q-values, which
/// leaves the greedy action unchanged whenever some Q-value is positive
/// (always so for a trained CartPole teacher, whose returns are positive),
/// and its actors' `logits` are pre-softmax.
enum ReferenceCheckpoint {
  static func stateDict(_ tensors: [String: Tensor], path: String) throws -> (StateDict, [String: String]) {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    func scope(_ name: String) -> String? {
      for suffix in ["/weights", "/kernel"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
      return nil
    }
    let scopes = tensors.keys.compactMap(scope).sorted { a, b in
      func key(_ s: String) -> (Int, Int, String) {
        let last = s.split(separator: "/").last.map(String.init) ?? s
        return (last == "logits" ? 1 : 0, Int(last.split(separator: "_").last ?? "") ?? Int.max, s)
      }
      return key(a) < key(b)
    }
    guard !scopes.isEmpty else {
      throw fail("no '<scope>/weights' variables among \(tensors.keys.sorted().prefix(20).joined(separator: ", ")): not a reference teacher checkpoint")
    }
    var dict = StateDict()
    var sources: [String: String] = [:]
    for (i, scope) in scopes.enumerated() {
      let weightName = tensors[scope + "/weights"] != nil ? scope + "/weights" : scope + "/kernel"
      var weight = tensors[weightName]!
      var source = weightName
      if let mask = tensors[scope + "/mask"] {
        guard mask.shape == weight.shape else { throw fail("\(scope)/mask has shape \(mask.shape), its weights \(weight.shape)") }
        weight.scalars = zip(weight.scalars, mask.scalars).map { $0 * $1 }
        source += " * \(scope)/mask"
      }
      guard let bias = tensors[scope + "/biases"] ?? tensors[scope + "/bias"] else { throw fail("\(scope) has no biases") }
      switch weight.shape.count {
      case 2: weight = transposed(weight, order: [1, 0])
      case 4: weight = transposed(weight, order: [3, 2, 0, 1])
      default: throw fail("\(weightName) has shape \(weight.shape): only dense and 2-D conv kernels can be imported")
      }
      dict.append("\(i).weight", weight)
      dict.append("\(i).bias", bias)
      sources["\(i).weight"] = source
      sources["\(i).bias"] = tensors[scope + "/biases"] != nil ? scope + "/biases" : scope + "/bias"
    }
    return (dict, sources)
  }

  /// TF flattens an NHWC feature map as [H, W, C], PyTorch and pops as
  /// [C, H, W]: the dense layer after a flatten gets its input columns
  /// reordered so the network computes the same function.
  static func reorderAfterFlatten(_ architecture: Architecture, parameters: inout [Tensor]) {
    guard let flatten = architecture.layers.firstIndex(of: .flatten), flatten > 0 else { return }
    let shape = architecture.outputShapes[flatten - 1]
    guard shape.count == 3, let dense = architecture.layers[flatten...].firstIndex(where: { if case .linear = $0 { return true } else { return false } })
    else { return }
    let parameterIndex = 2 * architecture.layers[..<dense].filter(\.hasParameters).count
    let (c, h, w) = (shape[0], shape[1], shape[2])
    let weight = parameters[parameterIndex]
    let outputs = weight.shape[0], inputs = weight.shape[1]
    var reordered = weight.scalars
    for o in 0..<outputs {
      for ci in 0..<c {
        for hi in 0..<h {
          for wi in 0..<w {
            reordered[o * inputs + (ci * h + hi) * w + wi] = weight.scalars[o * inputs + (hi * w + wi) * c + ci]
          }
        }
      }
    }
    parameters[parameterIndex].scalars = reordered
  }

  /// `tensor` with its axes permuted: output axis k is input axis order[k].
  static func transposed(_ tensor: Tensor, order: [Int]) -> Tensor {
    let inShape = tensor.shape
    let outShape = order.map { inShape[$0] }
    var inStrides = [Int](repeating: 1, count: inShape.count)
    for k in stride(from: inShape.count - 2, through: 0, by: -1) { inStrides[k] = inStrides[k + 1] * inShape[k + 1] }
    var result = [Float](repeating: 0, count: tensor.count)
    var index = [Int](repeating: 0, count: outShape.count)
    for i in 0..<tensor.count {
      var source = 0
      for k in 0..<order.count { source += index[k] * inStrides[order[k]] }
      result[i] = tensor.scalars[source]
      var axis = outShape.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < outShape[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    return Tensor(shape: outShape, scalars: result)
  }
}
