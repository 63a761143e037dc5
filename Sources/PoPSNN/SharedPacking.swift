import PoPSCore

extension Network {
  /// A large dense layer's sizes and the index of its weight in `parameters`.
  struct LargeDense {
    let inputs: Int, outputs: Int, parameter: Int
  }

  /// The dense layers past `inPlaceThreshold`, by layer index.
  func largeDenseLayers() -> [Int: LargeDense] {
    var result: [Int: LargeDense] = [:]
    var parameter = 0
    for (index, layer) in architecture.layers.enumerated() where layer.hasParameters {
      if case .linear(let inputs, let outputs) = layer, inputs * outputs >= Network.inPlaceThreshold {
        result[index] = LargeDense(inputs: inputs, outputs: outputs, parameter: parameter)
      }
      parameter += 2
    }
    return result
  }

  /// Dense layers at least this large (weights) get their weights packed once
  /// per pass for all batch chunks instead of once per chunk.
  static let sharedPackingThreshold = 1 << 16
  /// Dense layers at least this large compute the input gradient with W read
  /// in place by the micro-kernel (no packing of megabytes of weights per pass).
  static let inPlaceThreshold = 1 << 18

  /// Packs each large dense layer's weights (W^T for forward, W for the input
  /// gradient) into `packs`, keyed by layer index, on up to `threads` threads.
  func packSharedWeights(
    _ weights: [UnsafePointer<Float>], into packs: inout [Int: GEMM.PackedB], transposed: Bool, threads: Int
  ) {
    var parameterIndex = 0
    for (index, layer) in architecture.layers.enumerated() {
      switch layer {
      case .linear(let inputs, let outputs):
        let inPlace = !transposed && inputs * outputs >= Network.inPlaceThreshold
        if inputs * outputs >= Network.sharedPackingThreshold && (transposed || index > 0) && !inPlace {
          let packed = packs[index] ?? GEMM.PackedB()
          packs[index] = packed
          if transposed {
            packed.pack(transposed: true, b: weights[parameterIndex], ldb: inputs, k: inputs, n: outputs, maxThreads: threads)
          } else {
            packed.pack(transposed: false, b: weights[parameterIndex], ldb: inputs, k: outputs, n: inputs, maxThreads: threads)
          }
        }
        parameterIndex += 2
      case .conv2d:
        parameterIndex += 2
      case .relu, .tanh, .flatten:
        break
      }
    }
  }
}
