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
        // The dropCount-th smallest magnitude, in O(n): drop everything below
        // it, then ties in index order until dropCount are gone.
        var magnitudes = w.map { abs($0) }
        let threshold = quickSelect(&magnitudes, dropCount - 1)
        var dropped = 0
        for j in w.indices where abs(w[j]) < threshold {
          mask[j] = 0
          dropped += 1
        }
        for j in w.indices where dropped < dropCount && abs(w[j]) == threshold {
          mask[j] = 0
          dropped += 1
        }
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

/// The k-th smallest element (0-based) of `values`, which it reorders
/// (Hoare's selection with median-of-three pivots).
func quickSelect(_ values: inout [Float], _ k: Int) -> Float {
  precondition(k >= 0 && k < values.count, "quickSelect: k \(k) out of range")
  var lo = 0
  var hi = values.count - 1
  while lo < hi {
    let mid = lo + (hi - lo) / 2
    if values[mid] < values[lo] { values.swapAt(mid, lo) }
    if values[hi] < values[lo] { values.swapAt(hi, lo) }
    if values[hi] < values[mid] { values.swapAt(hi, mid) }
    let pivot = values[mid]
    var i = lo
    var j = hi
    while i <= j {
      while values[i] < pivot { i += 1 }
      while values[j] > pivot { j -= 1 }
      if i <= j {
        values.swapAt(i, j)
        i += 1
        j -= 1
      }
    }
    if k <= j {
      hi = j
    } else if k >= i {
      lo = i
    } else {
      return values[k]
    }
  }
  return values[k]
}
