import PoPSCore

extension Network {
  /// Activations kept by `forward` for `backward`, reused across calls so a
  /// training loop allocates nothing once warm. One cache per network in use
  /// (online, target, ...); not shared between threads.
  public final class Cache: @unchecked Sendable {
    public private(set) var batch = 0
    var architecture: Architecture?
    var widest = 0
    var input = Buffer(0)
    /// The output of each layer for the last batch.
    var outputs: [Buffer] = []
    var gradientA = Buffer(0)
    var gradientB = Buffer(0)
    /// Per-chunk partial parameter gradients (chunks after the first).
    var partials: [[Buffer]] = []
    /// Per-chunk scratch (the input-gradient column matrix) for convolutions.
    var scratch: [Buffer] = []
    var columnSize = 0
    /// Each convolution's im2col matrices for the whole batch, kept from
    /// forward for backward (indexed by layer).
    var columns: [Int: Buffer] = [:]

    public init() {}

    func prepare(_ architecture: Architecture, batch: Int) {
      if self.batch == batch && self.architecture == architecture { return }
      self.batch = batch
      self.architecture = architecture
      widest = max(architecture.inputCount, architecture.outputWidths.max() ?? 0)
      input = Buffer(batch * architecture.inputCount)
      outputs = architecture.outputWidths.map { Buffer(batch * $0) }
      gradientA = Buffer(batch * widest)
      gradientB = Buffer(batch * widest)
      partials = []
      columnSize = architecture.largestColumnMatrix
      scratch = columnSize == 0 ? [] : (0..<max(1, Compute.maxThreads)).map { _ in Buffer(2 * columnSize) }
      columns = [:]
      var shape = architecture.inputShape
      for (index, (layer, next)) in zip(architecture.layers, architecture.outputShapes).enumerated() {
        if case .conv2d(let c) = layer {
          let g = ConvKernels.Geometry(c, inputShape: shape)
          columns[index] = Buffer(batch * g.patch * g.positions)
        }
        shape = next
      }
    }

    /// Makes sure every one of `chunks` threads has its own scratch.
    func ensureScratch(_ chunks: Int) {
      while columnSize > 0 && scratch.count < chunks { scratch.append(Buffer(2 * columnSize)) }
    }

    func columns(_ chunk: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)? {
      guard columnSize > 0 else { return nil }
      let base = scratch[chunk].base
      return (base, base + columnSize)
    }

    /// The network output for the last batch, row-major [batch, outputs].
    public var output: [Float] { outputs.last.map { Array($0.pointer) } ?? [] }
  }

  /// How many batch chunks run in parallel for a batch of `batch` rows.
  func chunkCount(batch: Int) -> Int {
    let work = batch * parameterCount
    if Compute.maxThreads <= 1 || work < (1 << 20) { return 1 }
    return max(1, min(Compute.maxThreads, batch / 16))
  }

  /// Runs a batch forward, keeping what `backward` needs in `cache`.
  ///
  /// Large batches are split into row chunks that run on separate threads,
  /// one dispatch per call.
  ///
  /// - Parameter input: `batch` observations, row-major [batch, inputCount].
  /// - Returns: the outputs, row-major [batch, outputCount].
  @discardableResult
  public func forward(_ input: [Float], batch: Int, cache: Cache) -> [Float] {
    precondition(batch > 0, "forward: batch must be positive, got \(batch)")
    precondition(
      input.count == batch * architecture.inputCount,
      "forward: got \(input.count) inputs for batch \(batch) x \(architecture.inputCount)")
    cache.prepare(architecture, batch: batch)
    input.withUnsafeBufferPointer { cache.input.base.update(from: $0.baseAddress!, count: $0.count) }
    let chunks = chunkCount(batch: batch)
    cache.ensureScratch(chunks)
    withParameterPointers(parameters) { weights in
      let box = UncheckedBox(weights)
      Compute.parallelFor(chunks) { chunk in
        let r0 = batch * chunk / chunks
        let r1 = batch * (chunk + 1) / chunks
        self.forwardRows(
          r0..<r1, cache: cache, parameters: box.value, columns: cache.columns(chunk),
          threads: chunks > 1 ? 1 : Compute.maxThreads)
      }
    }
    return Array(cache.outputs[cache.outputs.count - 1].pointer)
  }

  private func forwardRows(
    _ rows: Range<Int>, cache: Cache, parameters: [UnsafePointer<Float>],
    columns: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)?, threads: Int
  ) {
    var width = architecture.inputCount
    var shape = architecture.inputShape
    var parameterIndex = 0
    let shapes = architecture.outputShapes
    for (index, layer) in architecture.layers.enumerated() {
      let source = index == 0 ? cache.input : cache.outputs[index - 1]
      let x = source.base + rows.lowerBound * width
      defer { shape = shapes[index] }
      switch layer {
      case .conv2d(let c):
        let g = ConvKernels.Geometry(c, inputShape: shape)
        let outWidth = shapes[index].reduce(1, *)
        let y = cache.outputs[index].base + rows.lowerBound * outWidth
        let stored = cache.columns[index]!.base
        let size = g.patch * g.positions
        for r in 0..<rows.count {
          ConvKernels.forward(
            x + r * width, g, weight: parameters[parameterIndex], bias: parameters[parameterIndex + 1],
            y: y + r * outWidth, col: stored + (rows.lowerBound + r) * size, threads: threads)
        }
        width = outWidth
        parameterIndex += 2
      case .flatten:
        (cache.outputs[index].base + rows.lowerBound * width).update(from: x, count: rows.count * width)
      case .linear(let inputs, let outputs):
        let y = cache.outputs[index].base + rows.lowerBound * outputs
        Kernels.linear(
          x: x, batch: rows.count, inputs: inputs, outputs: outputs,
          weight: parameters[parameterIndex], bias: parameters[parameterIndex + 1], y: y, threads: threads)
        width = outputs
        parameterIndex += 2
      case .relu:
        Kernels.relu(x, cache.outputs[index].base + rows.lowerBound * width, count: rows.count * width)
      }
    }
  }

  /// The output for one observation, with no heap allocation in the layers.
  public func predict(_ observation: [Float]) -> [Float] {
    precondition(
      observation.count == architecture.inputCount,
      "predict: expected \(architecture.inputCount) values, got \(observation.count)")
    let widest = max(architecture.inputCount, architecture.outputWidths.max() ?? 0)
    let columnSize = architecture.largestColumnMatrix
    return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * widest + columnSize) { scratch in
      var current = scratch.baseAddress!
      var next = current + widest
      let col = current + 2 * widest
      observation.withUnsafeBufferPointer { current.update(from: $0.baseAddress!, count: $0.count) }
      var width = architecture.inputCount
      var shape = architecture.inputShape
      var parameterIndex = 0
      for (layer, nextShape) in zip(architecture.layers, architecture.outputShapes) {
        defer { shape = nextShape }
        switch layer {
        case .conv2d(let c):
          let g = ConvKernels.Geometry(c, inputShape: shape)
          parameters[parameterIndex].scalars.withUnsafeBufferPointer { w in
            parameters[parameterIndex + 1].scalars.withUnsafeBufferPointer { b in
              ConvKernels.forward(
                current, g, weight: w.baseAddress!, bias: b.baseAddress!, y: next, col: col, threads: Compute.maxThreads)
            }
          }
          swap(&current, &next)
          width = nextShape.reduce(1, *)
          parameterIndex += 2
        case .flatten:
          break
        case .linear(let inputs, let outputs):
          parameters[parameterIndex].scalars.withUnsafeBufferPointer { w in
            parameters[parameterIndex + 1].scalars.withUnsafeBufferPointer { b in
              Kernels.linear(
                x: current, batch: 1, inputs: inputs, outputs: outputs,
                weight: w.baseAddress!, bias: b.baseAddress!, y: next, threads: 1)
            }
          }
          swap(&current, &next)
          width = outputs
          parameterIndex += 2
        case .relu:
          Kernels.relu(current, current, count: width)
        }
      }
      return Array(UnsafeBufferPointer(start: current, count: width))
    }
  }

  /// The index of the largest output for one observation (greedy action).
  public func greedyAction(for observation: [Float]) -> Int {
    argmax(predict(observation))
  }

  /// Backpropagates `outputGradient` ([batch, outputCount], dLoss/dOutput)
  /// through the batch last passed to `forward`, writing dLoss/dParameter into
  /// `gradients` (overwritten, masked like the parameters).
  public func backward(_ outputGradient: [Float], cache: Cache, into gradients: inout [Tensor]) {
    let batch = cache.batch
    precondition(batch > 0 && cache.architecture == architecture, "backward: call forward on this network first")
    precondition(
      outputGradient.count == batch * architecture.outputCount,
      "backward: gradient has \(outputGradient.count) values, expected \(batch * architecture.outputCount)")
    if gradients.map(\.shape) != parameters.map(\.shape) { gradients = zeroGradients() }
    let chunks = chunkCount(batch: batch)
    cache.ensureScratch(chunks)
    while cache.partials.count < chunks - 1 {
      cache.partials.append(parameters.map { Buffer($0.count) })
    }
    let outputs = architecture.outputCount
    let widest = cache.widest
    // Each chunk's gradient rows live at row offset r0 * widest in the scratch buffers.
    for chunk in 0..<chunks {
      let r0 = batch * chunk / chunks
      let r1 = batch * (chunk + 1) / chunks
      let dst = cache.gradientA.base + r0 * widest
      outputGradient.withUnsafeBufferPointer { g in
        dst.update(from: g.baseAddress! + r0 * outputs, count: (r1 - r0) * outputs)
      }
    }
    withParameterPointers(parameters) { weights in
      withMutablePointers(&gradients) { grads in
        let box = UncheckedBox((weights, grads))
        Compute.parallelFor(chunks) { chunk in
          let r0 = batch * chunk / chunks
          let r1 = batch * (chunk + 1) / chunks
          let targets = chunk == 0 ? box.value.1 : cache.partials[chunk - 1].map(\.base)
          self.backwardRows(
            r0..<r1, cache: cache, weights: box.value.0, gradients: targets, columns: cache.columns(chunk),
            threads: chunks > 1 ? 1 : Compute.maxThreads)
        }
        for partial in cache.partials.prefix(chunks - 1) {
          for (p, buffer) in partial.enumerated() {
            let g = grads[p]
            let q = buffer.base
            for j in 0..<buffer.count { g[j] += q[j] }
          }
        }
      }
    }
    maskGradients(&gradients)
  }

  private func backwardRows(
    _ rows: Range<Int>, cache: Cache, weights: [UnsafePointer<Float>],
    gradients: [UnsafeMutablePointer<Float>], columns: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)?,
    threads: Int
  ) {
    let offset = rows.lowerBound * cache.widest
    var g = cache.gradientA.base + offset
    var gx = cache.gradientB.base + offset
    let n = rows.count
    var parameterIndex = parameters.count
    let widths = architecture.outputWidths
    let shapes = architecture.outputShapes
    for index in architecture.layers.indices.reversed() {
      switch architecture.layers[index] {
      case .conv2d(let c):
        parameterIndex -= 2
        let inputShape = index == 0 ? architecture.inputShape : shapes[index - 1]
        let inWidth = inputShape.reduce(1, *), outWidth = widths[index]
        let geo = ConvKernels.Geometry(c, inputShape: inputShape)
        let dW = gradients[parameterIndex], dB = gradients[parameterIndex + 1]
        dW.update(repeating: 0, count: geo.patch * c.outChannels)
        dB.update(repeating: 0, count: c.outChannels)
        let stored = cache.columns[index]!.base
        let size = geo.patch * geo.positions
        for r in 0..<n {
          ConvKernels.backward(
            geo, weight: weights[parameterIndex], dOut: g + r * outWidth,
            dWeight: dW, dBias: dB, dx: index > 0 ? gx + r * inWidth : nil,
            col: stored + (rows.lowerBound + r) * size, dcol: columns!.1, threads: threads)
        }
        if index > 0 { swap(&g, &gx) }
      case .flatten:
        break
      case .linear(let inputs, let outputs):
        parameterIndex -= 2
        let source = index == 0 ? cache.input : cache.outputs[index - 1]
        let x = UnsafePointer(source.base + rows.lowerBound * inputs)
        // dW[out, in] = g^T[out, n] * x[n, in]
        GEMM.multiply(
          transposeA: true, m: outputs, n: inputs, k: n,
          a: g, lda: outputs, b: x, ldb: inputs,
          c: gradients[parameterIndex], ldc: inputs, maxThreads: threads)
        Kernels.sumRows(g, rows: n, columns: outputs, into: gradients[parameterIndex + 1])
        if index > 0 {
          // dx[n, in] = g[n, out] * W[out, in]
          GEMM.multiply(
            m: n, n: inputs, k: outputs,
            a: g, lda: outputs, b: weights[parameterIndex], ldb: inputs,
            c: gx, ldc: inputs, maxThreads: threads)
          swap(&g, &gx)
        }
      case .relu:
        let y = cache.outputs[index].base + rows.lowerBound * widths[index]
        for j in 0..<(n * widths[index]) where y[j] <= 0 { g[j] = 0 }
      }
    }
  }
}

/// The index of the largest value (the first on ties).
public func argmax(_ values: [Float]) -> Int {
  var best = 0
  for i in values.indices where values[i] > values[best] { best = i }
  return best
}

/// A manually managed float buffer that lives as long as its owner.
final class Buffer: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>
  let count: Int

  init(_ count: Int) {
    self.count = count
    base = .allocate(capacity: max(count, 1))
    base.initialize(repeating: 0, count: max(count, 1))
  }

  deinit { base.deallocate() }

  var pointer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: base, count: count) }
}

struct UncheckedBox<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// Calls `body` with a pointer to each tensor's storage, valid during the call.
func withParameterPointers<R>(_ tensors: [Tensor], _ body: ([UnsafePointer<Float>]) -> R) -> R {
  var pointers: [UnsafePointer<Float>] = []
  pointers.reserveCapacity(tensors.count)
  func go(_ i: Int) -> R {
    if i == tensors.count { return body(pointers) }
    return tensors[i].scalars.withUnsafeBufferPointer { p in
      pointers.append(p.baseAddress!)
      return go(i + 1)
    }
  }
  return go(0)
}

/// Calls `body` with a mutable pointer to each tensor's storage.
func withMutablePointers<R>(_ tensors: inout [Tensor], _ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
  var pointers: [UnsafeMutablePointer<Float>] = []
  pointers.reserveCapacity(tensors.count)
  return tensors.withUnsafeMutableBufferPointer { all in
    func go(_ i: Int) -> R {
      if i == all.count { return body(pointers) }
      return all[i].scalars.withUnsafeMutableBufferPointer { p in
        pointers.append(p.baseAddress!)
        return go(i + 1)
      }
    }
    return go(0)
  }
}

/// Elementwise and layer kernels shared by forward and prediction.
enum Kernels {
  /// y[batch, outputs] = x[batch, inputs] * W[outputs, inputs]^T + b
  @inline(__always)
  static func linear(
    x: UnsafePointer<Float>, batch: Int, inputs: Int, outputs: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, threads: Int
  ) {
    for r in 0..<batch { (y + r * outputs).update(from: bias, count: outputs) }
    GEMM.multiply(
      transposeB: true, m: batch, n: outputs, k: inputs,
      a: x, lda: inputs, b: weight, ldb: inputs, beta: 1, c: y, ldc: outputs, maxThreads: threads)
  }

  @inline(__always)
  static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] = max(x[i], 0) }
  }

  static func sumRows(_ g: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
    out.update(repeating: 0, count: columns)
    for r in 0..<rows {
      let row = g + r * columns
      for j in 0..<columns { out[j] += row[j] }
    }
  }
}
