import PoPSCore

extension Network {
  /// Backpropagates `outputGradient` ([batch, outputCount], dLoss/dOutput)
  /// through the batch last passed to `forward`, writing dLoss/dParameter into
  /// `gradients` (overwritten, masked like the parameters), on up to
  /// `threads` threads.
  public func backward(
    _ outputGradient: [Float], cache: Cache, into gradients: inout [Tensor], threads: Int = Compute.maxThreads
  ) {
    let batch = cache.batch
    precondition(batch > 0 && cache.architecture == architecture, "backward: call forward on this network first")
    precondition(!cache.inferenceOnly, "backward: this cache was made with inferenceOnly: true")
    precondition(
      outputGradient.count == batch * architecture.outputCount,
      "backward: gradient has \(outputGradient.count) values, expected \(batch * architecture.outputCount)")
    if gradients.map(\.shape) != parameters.map(\.shape) { gradients = zeroGradients() }
    let chunks = chunkCount(batch: batch, threads: threads)
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
        packSharedWeights(weights, into: &cache.packedBackward, transposed: false, threads: threads)
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
            scratch: cache.scratch.isEmpty ? nil : cache.scratch[chunk].base, threads: chunks > 1 ? 1 : threads,
            deferring: deferredLayers)
        }
        for (index, shape) in deferredLayers {
          // dW[out, in] = G^T[out, batch] * X[batch, in], db = column sums of G.
          let g = cache.deferred[index]!.base
          let source = index == 0 ? cache.input : cache.outputs[index - 1]
          GEMM.multiply(
            transposeA: true, m: shape.outputs, n: shape.inputs, k: batch, a: g, lda: shape.outputs,
            b: source.base, ldb: shape.inputs, c: box.value.1[shape.parameter], ldc: shape.inputs, maxThreads: threads)
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
