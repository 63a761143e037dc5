import PoPSCore

extension Network {
  /// Magnitude pruning: for every weight matrix, keeps the entries with the
  /// largest |w| and masks the smallest `sparsity` fraction of them (rounded
  /// down). Biases are never pruned. Already-masked weights are zero, so they
  /// are the first to go again: the mask only grows while sparsity rises.
  public mutating func pruneByMagnitude(sparsity: Double) {
    precondition((0...1).contains(sparsity), "pruneByMagnitude: sparsity must be in [0, 1], got \(sparsity)")
    for i in weightIndices {
      let w = parameters[i].scalars
      let dropCount = Int((sparsity * Double(w.count)).rounded(.down))
      var mask = Tensor(shape: parameters[i].shape, repeating: 1)
      if dropCount > 0 {
        let order = w.indices.sorted { abs(w[$0]) < abs(w[$1]) || (abs(w[$0]) == abs(w[$1]) && $0 < $1) }
        for j in order.prefix(dropCount) { mask[j] = 0 }
      }
      masks[i] = mask
    }
    applyMasks()
  }

  /// Masks every weight that is exactly zero now, so a sparse model loaded
  /// from a file keeps its sparsity while it trains.
  public mutating func maskZeroWeights() {
    for i in weightIndices {
      masks[i] = Tensor(shape: parameters[i].shape, scalars: parameters[i].scalars.map { $0 == 0 ? 0 : 1 })
    }
  }

  /// Drops every mask: all weights may change again.
  public mutating func removeMasks() {
    masks = Array(repeating: nil, count: parameters.count)
  }

  /// The fraction of weights (biases excluded) that are zero.
  public var sparsity: Double {
    let total = weightCount
    return total == 0 ? 0 : 1 - Double(nonZeroWeightCount) / Double(total)
  }
}
