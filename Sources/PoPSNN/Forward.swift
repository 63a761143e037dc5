import PoPSCore

extension Network {
  /// How many batch chunks run in parallel for a batch of `batch` rows on
  /// up to `threads` threads.
  func chunkCount(batch: Int, threads: Int) -> Int {
    let work = batch * parameterCount
    if threads <= 1 || work < (1 << 20) { return 1 }
    return max(1, min(threads, batch / 16))
  }

  /// Runs a batch forward, keeping what `backward` needs in `cache`.
  ///
  /// Large batches are split into row chunks that run on separate threads,
  /// one dispatch per call.
  ///
  /// - Parameters:
  ///   - input: `batch` observations, row-major [batch, inputCount].
  ///   - threads: the most threads to use; callers that compare thread
  ///     counts pass it instead of changing the process-wide setting.
  /// - Returns: the outputs, row-major [batch, outputCount].
  @discardableResult
  public func forward(_ input: [Float], batch: Int, cache: Cache, threads: Int = Compute.maxThreads) -> [Float] {
    precondition(batch > 0, "forward: batch must be positive, got \(batch)")
    precondition(
      input.count == batch * architecture.inputCount,
      "forward: got \(input.count) inputs for batch \(batch) x \(architecture.inputCount)")
    cache.prepare(architecture, batch: batch)
    let chunks = chunkCount(batch: batch, threads: threads)
    cache.ensureScratch(chunks)
    let inputs = architecture.inputCount
    input.withUnsafeBufferPointer { source in
      withParameterPointers(parameters) { weights in
        // Large layers' W^T, packed again only when the weights changed.
        if chunks > 1 {
          if cache.packedForwardVersion != weightsVersion {
            packSharedWeights(weights, into: &cache.packedForward, transposed: true, threads: threads)
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
            scratch: cache.scratch.isEmpty ? nil : cache.scratch[chunk].base, threads: chunks > 1 ? 1 : threads)
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
}
