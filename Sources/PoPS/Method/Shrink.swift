import Foundation

/// One weight tensor of a layer stack, described for the shrink solver:
/// its weight count is `multiplier * width(input) * width(output)`, where a
/// width is either fixed (the observation size, the action count) or one of
/// the hidden widths the solver chooses.
///
/// Dense layers have multiplier 1; a conv layer has `kh * kw`; the dense
/// layer after a flatten has the spatial size of the last feature map.
public struct ShrinkLayer: Equatable, Sendable {
  public enum Width: Equatable, Sendable {
    case fixed(Int)
    /// Index into the hidden widths.
    case hidden(Int)
  }
  public var input: Width
  public var output: Width
  public var multiplier: Int
  /// Weights this layer should have in the new network.
  public var target: Double

  public init(input: Width, output: Width, multiplier: Int = 1, target: Double) {
    self.input = input
    self.output = output
    self.multiplier = multiplier
    self.target = target
  }
}

/// The result of `ShrinkSolver.solve`.
public struct ShrinkSolution: Equatable, Sendable {
  public var widths: [Int]
  /// The weight count of each layer with these widths.
  public var weights: [Int]
  public var total: Int { weights.reduce(0, +) }
}

/// Picks integer hidden widths for a stack of layers so that every layer's
/// weight count is close to its target, the total never exceeds a cap, and no
/// width falls below a minimum.
///
/// The fit is a least-squares problem in log space, where a layer's log
/// weight count is linear in the log widths:
///
///     minimise  sum_l  s_l (log W_l(h) - log target_l)^2
///             + lambda sum_j (log h_j - log previous_j - c)^2
///
/// `s_l` is layer l's share of the targets, so large layers fit their targets
/// and tiny ones (the input and output layers) follow the previous network's
/// shape, scaled by a common factor `c` the solver also chooses. Without that
/// second term the problem is degenerate: with equal redundancies it is solved
/// exactly by a bottleneck that never lets the middle layers shrink. The
/// continuous solution is rounded, clamped to `minimumWidth`, and trimmed one
/// unit at a time from the widest layer until the total fits the cap.
public enum ShrinkSolver {
  /// Weight of the shape-keeping term.
  public static let shapeWeight = 0.1

  public static func solve(
    layers: [ShrinkLayer], previousWidths: [Int], cap: Int, minimumWidth: Int = 2
  ) -> ShrinkSolution {
    let n = previousWidths.count
    precondition(n > 0, "ShrinkSolver: no hidden widths to choose")
    precondition(previousWidths.allSatisfy { $0 > 0 }, "ShrinkSolver: previous widths must be positive")
    precondition(minimumWidth > 0, "ShrinkSolver: minimumWidth must be positive, got \(minimumWidth)")
    precondition(layers.allSatisfy { $0.target > 0 && $0.multiplier > 0 }, "ShrinkSolver: targets and multipliers must be positive")
    // Unknowns: x_0..x_{n-1} (log widths), then c.
    let m = n + 1
    var ata = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
    var atb = [Double](repeating: 0, count: m)
    func addRow(_ coefficients: [(Int, Double)], _ rhs: Double, weight: Double) {
      for (i, a) in coefficients {
        atb[i] += weight * a * rhs
        for (j, b) in coefficients { ata[i][j] += weight * a * b }
      }
    }
    let totalTarget = layers.reduce(0) { $0 + $1.target }
    for layer in layers {
      var rhs = log(layer.target) - log(Double(layer.multiplier))
      var coefficients: [(Int, Double)] = []
      for width in [layer.input, layer.output] {
        switch width {
        case .fixed(let w): rhs -= log(Double(w))
        case .hidden(let j): coefficients.append((j, 1))
        }
      }
      if !coefficients.isEmpty { addRow(coefficients, rhs, weight: layer.target / totalTarget) }
    }
    for j in 0..<n {
      addRow([(j, 1), (n, -1)], log(Double(previousWidths[j])), weight: shapeWeight)
    }
    let x = solveLinear(ata, atb)
    var widths = (0..<n).map { max(minimumWidth, Int(exp(x[$0]).rounded())) }
    func weights(_ h: [Int]) -> [Int] {
      layers.map { layer in
        func value(_ w: ShrinkLayer.Width) -> Int {
          switch w {
          case .fixed(let v): return v
          case .hidden(let j): return h[j]
          }
        }
        return layer.multiplier * value(layer.input) * value(layer.output)
      }
    }
    while weights(widths).reduce(0, +) > cap {
      guard let widest = widths.indices.filter({ widths[$0] > minimumWidth }).max(by: { widths[$0] < widths[$1] }) else { break }
      widths[widest] -= 1
    }
    return ShrinkSolution(widths: widths, weights: weights(widths))
  }

  /// Gaussian elimination with partial pivoting on a small dense system.
  static func solveLinear(_ a: [[Double]], _ b: [Double]) -> [Double] {
    let n = b.count
    var m = a
    var v = b
    for col in 0..<n {
      let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
      m.swapAt(col, pivot)
      v.swapAt(col, pivot)
      let p = m[col][col]
      guard abs(p) > 1e-12 else { continue }
      for row in (col + 1)..<n {
        let f = m[row][col] / p
        if f == 0 { continue }
        for k in col..<n { m[row][k] -= f * m[col][k] }
        v[row] -= f * v[col]
      }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
      var s = v[row]
      for k in (row + 1)..<n { s -= m[row][k] * x[k] }
      x[row] = abs(m[row][row]) > 1e-12 ? s / m[row][row] : 0
    }
    return x
  }
}

/// Redundancy and shrinking of a pruned network: any stack of dense and
/// convolution layers (conv channels and hidden widths are the unknowns; the
/// observation's channels and the action count stay fixed).
public enum Redundancy {
  /// Per weight tensor of a pruned `network`: `1 - nonZero / parameters`
  /// (docs/algorithm.md section 5), the parameters counting the dense
  /// network that was pruned.
  public static func perLayer(of network: Network) -> [Double] {
    zip(network.nonZeroWeightsPerLayer, network.weightIndices).map { nonZero, index in
      1 - Double(nonZero) / Double(network.parameters[index].count)
    }
  }

  /// The solver's view of `architecture`: one `ShrinkLayer` per weight
  /// tensor with its target, and the current hidden widths (conv output
  /// channels and linear widths, in order, all but the last layer's).
  public static func problem(_ architecture: Architecture, redundancy: [Double]) -> (layers: [ShrinkLayer], widths: [Int]) {
    let parameterized = architecture.layers.indices.filter { architecture.layers[$0].hasParameters }
    precondition(redundancy.count == parameterized.count, "shrink: one redundancy per weight tensor expected")
    var layers: [ShrinkLayer] = []
    var widths: [Int] = []
    var current: ShrinkLayer.Width = .fixed(architecture.inputShape[0])
    var spatial = architecture.inputShape.count == 3 ? architecture.inputShape[1] * architecture.inputShape[2] : 1
    var shape = architecture.inputShape
    for (index, (layer, outShape)) in zip(architecture.layers, architecture.outputShapes).enumerated() {
      defer { shape = outShape }
      let isLast = index == parameterized.last
      let k = parameterized.firstIndex(of: index)
      switch layer {
      case .conv2d(let c):
        let output: ShrinkLayer.Width = isLast ? .fixed(c.outChannels) : .hidden(widths.count)
        if !isLast { widths.append(c.outChannels) }
        let params = Double(c.inChannels * c.outChannels * c.kernelHeight * c.kernelWidth)
        layers.append(ShrinkLayer(
          input: current, output: output, multiplier: c.kernelHeight * c.kernelWidth,
          target: max(1, params * (1 - redundancy[k!]))))
        current = output
        spatial = outShape[1] * outShape[2]
      case .flatten:
        _ = shape  // the next linear layer sees channels x spatial
      case .linear(let inputs, let outputs):
        let output: ShrinkLayer.Width = isLast ? .fixed(outputs) : .hidden(widths.count)
        if !isLast { widths.append(outputs) }
        layers.append(ShrinkLayer(
          input: current, output: output, multiplier: spatial,
          target: max(1, Double(inputs * outputs) * (1 - redundancy[k!]))))
        current = output
        spatial = 1
      case .relu, .tanh:
        break
      }
    }
    return (layers, widths)
  }

  /// `architecture` with its hidden widths (conv channels, linear widths) replaced.
  public static func resized(_ architecture: Architecture, widths: [Int]) -> Architecture {
    var next = 0
    var channels = architecture.inputShape[0]
    var features = architecture.inputCount
    var layers: [LayerSpec] = []
    let lastParameterized = architecture.layers.lastIndex { $0.hasParameters }
    for (index, (layer, outShape)) in zip(architecture.layers, architecture.outputShapes).enumerated() {
      switch layer {
      case .conv2d(var c):
        c.inChannels = channels
        if index != lastParameterized {
          c.outChannels = widths[next]
          next += 1
        }
        channels = c.outChannels
        features = c.outChannels * outShape[1] * outShape[2]
        layers.append(.conv2d(c))
      case .linear(_, let outputs):
        let width = index == lastParameterized ? outputs : widths[next]
        if index != lastParameterized { next += 1 }
        layers.append(.linear(inputs: features, outputs: width))
        features = width
      case .flatten, .relu, .tanh:
        layers.append(layer)
      }
    }
    precondition(next == widths.count, "resized: \(widths.count) widths for \(next) hidden layers")
    return Architecture(inputShape: architecture.inputShape, layers: layers)
  }

  /// The dense architecture whose layer l has about `params_l * (1 - r_l)`
  /// weights, never larger in total than `architecture`.
  public static func shrink(
    _ architecture: Architecture, redundancy: [Double], minimumWidth: Int
  ) -> Architecture {
    let (layers, widths) = problem(architecture, redundancy: redundancy)
    if widths.isEmpty { return architecture }
    let solution = ShrinkSolver.solve(
      layers: layers, previousWidths: widths, cap: architecture.weightCount, minimumWidth: minimumWidth)
    return resized(architecture, widths: solution.widths)
  }

  /// `architecture` with every hidden width at `minimumWidth`: the floor of
  /// the size search when IPP measured no redundancy.
  public static func smallest(_ architecture: Architecture, minimumWidth: Int) -> Architecture {
    let zeros = [Double](repeating: 0, count: architecture.layers.filter(\.hasParameters).count)
    let widths = problem(architecture, redundancy: zeros).widths
    return resized(architecture, widths: widths.map { min($0, max(minimumWidth, 1)) })
  }

  /// A dense architecture between `larger` (accepted) and `smaller` (whose
  /// student failed), both of the same layer stack: each hidden width at the
  /// geometric mean of the two, so the gap in log size halves. Nil when no
  /// architecture strictly between them exists.
  public static func between(_ larger: Architecture, _ smaller: Architecture, minimumWidth: Int) -> Architecture? {
    let zeros = { (a: Architecture) in [Double](repeating: 0, count: a.layers.filter(\.hasParameters).count) }
    let big = problem(larger, redundancy: zeros(larger)).widths, small = problem(smaller, redundancy: zeros(smaller)).widths
    guard big.count == small.count, !big.isEmpty else { return nil }
    let widths = zip(big, small).map { b, s in max(minimumWidth, Int((Double(b) * Double(s)).squareRoot().rounded())) }
    let middle = resized(larger, widths: widths)
    guard middle.weightCount < larger.weightCount, widths != small, widths != big else { return nil }
    return middle
  }
}
