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
    /// Per-chunk scratch for the convolutions (packed weights, the phase
    /// planes and the extended output forward; the planes, their gradient and
    /// the packed operands backward).
    var scratch: [Buffer] = []
    var scratchSize = 0

    /// Whether this cache serves forward passes only (a target network, a
    /// policy being evaluated); `backward` refuses it.
    public let inferenceOnly: Bool
    /// Large dense layers' weights packed once per pass and shared by the
    /// batch chunks (by layer; W^T for forward, W for the input gradient).
    var packedForward: [Int: GEMM.PackedB] = [:]
    var packedBackward: [Int: GEMM.PackedB] = [:]
    /// The `Network.weightsVersion` `packedForward` was packed from.
    var packedForwardVersion = -1
    /// Output gradients [batch, outputs] of the large dense layers whose
    /// weight gradient is computed once over the whole batch after the
    /// chunks (by layer), instead of per chunk and summed.
    var deferred: [Int: Buffer] = [:]

    public init(inferenceOnly: Bool = false) {
      self.inferenceOnly = inferenceOnly
    }

    func prepare(_ architecture: Architecture, batch: Int) {
      if self.batch == batch && self.architecture == architecture { return }
      if self.architecture != architecture {
        // Packs are keyed by layer index: another network's are never reused.
        packedForward = [:]
        packedBackward = [:]
        packedForwardVersion = -1
        deferred = [:]
      }
      self.batch = batch
      self.architecture = architecture
      widest = max(architecture.inputCount, architecture.outputWidths.max() ?? 0)
      input = Buffer(batch * architecture.inputCount)
      outputs = architecture.outputWidths.map { Buffer(batch * $0) }
      gradientA = Buffer(batch * widest)
      gradientB = Buffer(batch * widest)
      partials = []
      scratch = []
      scratchSize = 0
    }

    /// Makes sure every one of `chunks` threads has its own convolution scratch.
    func ensureScratch(_ chunks: Int) {
      guard let architecture else { return }
      let size = architecture.convolutionScratch(forwardOnly: inferenceOnly)
      if size == 0 { return }
      if size > scratchSize {
        scratch = []
        scratchSize = size
      }
      while scratch.count < chunks { scratch.append(Buffer(scratchSize)) }
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
    let chunks = chunkCount(batch: batch)
    cache.ensureScratch(chunks)
    let inputs = architecture.inputCount
    input.withUnsafeBufferPointer { source in
      withParameterPointers(parameters) { weights in
        // Large layers' W^T, packed again only when the weights changed.
        if chunks > 1 {
          if cache.packedForwardVersion != weightsVersion {
            packSharedWeights(weights, into: &cache.packedForward, transposed: true)
            cache.packedForwardVersion = weightsVersion
          }
        } else {
          cache.packedForward.removeAll()
          cache.packedForwardVersion = -1
        }
        let box = UncheckedBox((weights, source.baseAddress!))
        Compute.parallelFor(chunks) { chunk in
          let r0 = batch * chunk / chunks
          let r1 = batch * (chunk + 1) / chunks
          // Each chunk copies its own rows of the input (megabytes for image batches).
          (cache.input.base + r0 * inputs).update(from: box.value.1 + r0 * inputs, count: (r1 - r0) * inputs)
          self.forwardRows(
            r0..<r1, cache: cache, parameters: box.value.0,
            scratch: cache.scratch.isEmpty ? nil : cache.scratch[chunk].base, threads: chunks > 1 ? 1 : Compute.maxThreads)
        }
      }
    }
    return Array(cache.outputs[cache.outputs.count - 1].pointer)
  }

  private func forwardRows(
    _ rows: Range<Int>, cache: Cache, parameters: [UnsafePointer<Float>],
    scratch: UnsafeMutablePointer<Float>?, threads: Int
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
        ConvKernels.forward(
          x, samples: rows.count, inWidth: width, outWidth: outWidth, g,
          weight: parameters[parameterIndex], bias: parameters[parameterIndex + 1], y: y, scratch: scratch!,
          threads: threads)
        width = outWidth
        parameterIndex += 2
      case .flatten:
        (cache.outputs[index].base + rows.lowerBound * width).update(from: x, count: rows.count * width)
      case .linear(let inputs, let outputs):
        let y = cache.outputs[index].base + rows.lowerBound * outputs
        if threads == 1, let packed = cache.packedForward[index], packed.n == outputs {
          for r in 0..<rows.count { (y + r * outputs).update(from: parameters[parameterIndex + 1], count: outputs) }
          GEMM.multiply(m: rows.count, a: x, lda: inputs, packed: packed, beta: 1, c: y, ldc: outputs, maxThreads: 1)
          width = outputs
          parameterIndex += 2
          continue
        }
        Kernels.linear(
          x: x, batch: rows.count, inputs: inputs, outputs: outputs,
          weight: parameters[parameterIndex], bias: parameters[parameterIndex + 1], y: y, threads: threads)
        width = outputs
        parameterIndex += 2
      case .relu:
        Kernels.relu(x, cache.outputs[index].base + rows.lowerBound * width, count: rows.count * width)
      case .tanh:
        Kernels.tanh(x, cache.outputs[index].base + rows.lowerBound * width, count: rows.count * width)
      }
    }
  }

  /// The output for one observation, with no heap allocation in the layers.
  public func predict(_ observation: [Float]) -> [Float] {
    precondition(
      observation.count == architecture.inputCount,
      "predict: expected \(architecture.inputCount) values, got \(observation.count)")
    let widest = max(architecture.inputCount, architecture.outputWidths.max() ?? 0)
    let columnSize = architecture.convolutionScratch(forwardOnly: true)
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
                current, samples: 1, inWidth: width, outWidth: nextShape.reduce(1, *), g,
                weight: w.baseAddress!, bias: b.baseAddress!, y: next, scratch: col, threads: Compute.maxThreads)
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
                weight: w.baseAddress!, bias: b.baseAddress!, y: next, threads: Compute.maxThreads)
            }
          }
          swap(&current, &next)
          width = outputs
          parameterIndex += 2
        case .relu:
          Kernels.relu(current, current, count: width)
        case .tanh:
          Kernels.tanh(current, current, count: width)
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
    precondition(!cache.inferenceOnly, "backward: this cache was made with inferenceOnly: true")
    precondition(
      outputGradient.count == batch * architecture.outputCount,
      "backward: gradient has \(outputGradient.count) values, expected \(batch * architecture.outputCount)")
    if gradients.map(\.shape) != parameters.map(\.shape) { gradients = zeroGradients() }
    let chunks = chunkCount(batch: batch)
    cache.ensureScratch(chunks)
    let outputs = architecture.outputCount
    let widest = cache.widest
    // Large dense layers' weight gradients: one product over the whole batch
    // after the chunks (no per-chunk partial of megabytes to sum).
    let deferredLayers = chunks > 1 ? largeDenseLayers() : [:]
    for (index, shape) in deferredLayers where cache.deferred[index]?.count != batch * shape.outputs {
      cache.deferred[index] = Buffer(batch * shape.outputs)
    }
    let deferredParameters = Set(deferredLayers.values.flatMap { [$0.parameter, $0.parameter + 1] })
    // Per-chunk partial gradients (none for the deferred layers' parameters).
    while cache.partials.count < chunks - 1 {
      cache.partials.append(parameters.indices.map { deferredParameters.contains($0) ? Buffer(0) : Buffer(parameters[$0].count) })
    }
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
      if chunks > 1 {
        packSharedWeights(weights, into: &cache.packedBackward, transposed: false)
      } else {
        cache.packedBackward.removeAll()
      }
      withMutablePointers(&gradients) { grads in
        let box = UncheckedBox((weights, grads))
        Compute.parallelFor(chunks) { chunk in
          let r0 = batch * chunk / chunks
          let r1 = batch * (chunk + 1) / chunks
          let targets = chunk == 0 ? box.value.1 : cache.partials[chunk - 1].map(\.base)
          self.backwardRows(
            r0..<r1, cache: cache, weights: box.value.0, gradients: targets,
            scratch: cache.scratch.isEmpty ? nil : cache.scratch[chunk].base, threads: chunks > 1 ? 1 : Compute.maxThreads,
            deferring: deferredLayers)
        }
        for (index, shape) in deferredLayers {
          // dW[out, in] = G^T[out, batch] * X[batch, in], db = column sums of G.
          let g = cache.deferred[index]!.base
          let source = index == 0 ? cache.input : cache.outputs[index - 1]
          GEMM.multiply(
            transposeA: true, m: shape.outputs, n: shape.inputs, k: batch, a: g, lda: shape.outputs,
            b: source.base, ldb: shape.inputs, c: box.value.1[shape.parameter], ldc: shape.inputs)
          Kernels.sumRows(g, rows: batch, columns: shape.outputs, into: box.value.1[shape.parameter + 1])
        }
        // Sum the chunks' partial gradients, each tensor split over the threads.
        let partials = UncheckedBox(Array(cache.partials.prefix(chunks - 1)))
        Compute.parallelFor(chunks > 1 ? chunks : 0) { t in
          for (p, g) in box.value.1.enumerated() where !deferredParameters.contains(p) {
            let count = partials.value[0][p].count
            let lo = count * t / chunks, hi = count * (t + 1) / chunks
            for partial in partials.value {
              let q = partial[p].base
              for j in lo..<hi { g[j] += q[j] }
            }
          }
        }
      }
    }
    maskGradients(&gradients)
  }

  private func backwardRows(
    _ rows: Range<Int>, cache: Cache, weights: [UnsafePointer<Float>],
    gradients: [UnsafeMutablePointer<Float>], scratch: UnsafeMutablePointer<Float>?, threads: Int,
    deferring deferred: [Int: LargeDense] = [:]
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
        let source = index == 0 ? cache.input : cache.outputs[index - 1]
        ConvKernels.backward(
          geo, samples: n, x: source.base + rows.lowerBound * inWidth, inWidth: inWidth, outWidth: outWidth,
          weight: weights[parameterIndex], dOut: g, dWeight: gradients[parameterIndex],
          dBias: gradients[parameterIndex + 1], dx: index > 0 ? gx : nil, scratch: scratch!)
        if index > 0 { swap(&g, &gx) }
      case .flatten:
        break
      case .linear(let inputs, let outputs):
        parameterIndex -= 2
        let source = index == 0 ? cache.input : cache.outputs[index - 1]
        let x = UnsafePointer(source.base + rows.lowerBound * inputs)
        if deferred[index] != nil {
          // Kept for the one weight-gradient product over the whole batch.
          (cache.deferred[index]!.base + rows.lowerBound * outputs).update(from: g, count: n * outputs)
        } else {
          // dW[out, in] = g^T[out, n] * x[n, in]
          GEMM.multiply(
            transposeA: true, m: outputs, n: inputs, k: n,
            a: g, lda: outputs, b: x, ldb: inputs,
            c: gradients[parameterIndex], ldc: inputs, maxThreads: threads)
          Kernels.sumRows(g, rows: n, columns: outputs, into: gradients[parameterIndex + 1])
        }
        if index > 0 {
          // dx[n, in] = g[n, out] * W[out, in]
          if inputs * outputs >= Network.inPlaceThreshold {
            Kernels.inputGradientInPlace(
              g, rows: n, outputs: outputs, weight: weights[parameterIndex], inputs: inputs, into: gx, threads: threads)
            swap(&g, &gx)
            continue
          }
          if threads == 1, let packed = cache.packedBackward[index], packed.n == inputs {
            GEMM.multiply(m: n, a: g, lda: outputs, packed: packed, c: gx, ldc: inputs, maxThreads: 1)
            swap(&g, &gx)
            continue
          }
          GEMM.multiply(
            m: n, n: inputs, k: outputs,
            a: g, lda: outputs, b: weights[parameterIndex], ldb: inputs,
            c: gx, ldc: inputs, maxThreads: threads)
          swap(&g, &gx)
        }
      case .relu:
        let y = cache.outputs[index].base + rows.lowerBound * widths[index]
        Kernels.reluBackward(y, g, count: n * widths[index])
      case .tanh:
        let y = cache.outputs[index].base + rows.lowerBound * widths[index]
        Kernels.tanhBackward(y, g, count: n * widths[index])
      }
    }
  }
}

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
  /// gradient) into `packs`, keyed by layer index.
  func packSharedWeights(_ weights: [UnsafePointer<Float>], into packs: inout [Int: GEMM.PackedB], transposed: Bool) {
    var parameterIndex = 0
    for (index, layer) in architecture.layers.enumerated() {
      switch layer {
      case .linear(let inputs, let outputs):
        let inPlace = !transposed && inputs * outputs >= Network.inPlaceThreshold
        if inputs * outputs >= Network.sharedPackingThreshold && (transposed || index > 0) && !inPlace {
          let packed = packs[index] ?? GEMM.PackedB()
          packs[index] = packed
          if transposed {
            packed.pack(transposed: true, b: weights[parameterIndex], ldb: inputs, k: inputs, n: outputs)
          } else {
            packed.pack(transposed: false, b: weights[parameterIndex], ldb: inputs, k: outputs, n: inputs)
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
