import Foundation

/// A network with int8 weights, as `pops export --quantize int8` writes it:
/// each output channel's weights are quantized symmetrically with their own
/// float scale (max |w| / 127); each layer's input is quantized on the fly
/// with one scale (max |x| / 127); products accumulate in int32 and the
/// result is scaled back to float before the bias and the activation.
/// `forward` computes exactly what the generated C computes, so pops can
/// measure the quantized policy before it ships.
///
/// Quantization is total: a model with a non-finite value, or a channel whose
/// largest weight is too small for a normal float scale, is refused by
/// `init` with the tensor and the value; at run time a layer input whose
/// largest magnitude is zero, infinite, or too small to invert (under about
/// 3.7e-37) quantizes to zeros with scale 1, and NaN inputs count as 0, so
/// no observation can make `forward` or the C trap or leave defined behaviour.
public struct Int8Policy: Policy, Sendable {
  public struct Layer: Sendable {
    /// int8 weights in the float layer's layout ([out, in] or [out, in, kh, kw]).
    public var weights: [Int8]
    /// One scale per output channel.
    public var scales: [Float]
    public var bias: [Float]
  }

  public let architecture: Architecture
  /// The quantized layers, by index in `architecture.layers`.
  public let layers: [Int: Layer]
  /// The observation's scale (the model's recorded encoding).
  public let inputScale: Float

  /// The smallest nonzero largest |weight| of a channel: its scale
  /// (largest / 127) must be a normal float, or it loses its precision.
  public static let smallestChannelMaximum: Float = 127 * Float.leastNormalMagnitude

  /// The most inputs one output may sum: products of two int8 values in
  /// [-127, 127] accumulate in an int32 (in the C too: `int32_t`, whose
  /// overflow would be undefined), so at most 2^31 - 1 / 127^2 of them.
  public static let largestInputsPerOutput = Int(Int32.max) / (127 * 127)

  /// Quantizes `model`; throws `ExportError` naming the tensor, the channel
  /// and the value when a weight is non-finite or a channel cannot be
  /// scaled, and naming the layer when an output sums more inputs than
  /// `largestInputsPerOutput`.
  public init(_ model: Model) throws {
    if let problem = ExportCheck.problem(model) { throw ExportError("int8 cannot quantize the model: \(problem)") }
    try self.init(checked: model)
  }

  /// Quantizes `model`, which passed `ExportCheck` already (`CExport`).
  init(checked model: Model) throws {
    architecture = model.network.architecture
    inputScale = model.input.scale
    var layers: [Int: Layer] = [:]
    var parameter = 0
    for (index, layer) in architecture.layers.enumerated() where layer.hasParameters {
      let weight = model.network.parameters[parameter], bias = model.network.parameters[parameter + 1]
      parameter += 2
      let outputs = weight.shape[0], perOutput = weight.count / outputs
      guard perOutput <= Self.largestInputsPerOutput else {
        throw ExportError(
          "int8 cannot quantize layers.\(index): each output sums \(perOutput) inputs, more than the "
            + "\(Self.largestInputsPerOutput) whose int8 products an int32 accumulator holds; export it as float32 (without --quantize)")
      }
      var quantized = [Int8](repeating: 0, count: weight.count)
      var scales = [Float](repeating: 1, count: outputs)
      for o in 0..<outputs {
        let row = weight.scalars[(o * perOutput)..<((o + 1) * perOutput)]
        let largest = row.map(abs).max() ?? 0
        guard largest > 0 else { continue }
        guard largest >= Self.smallestChannelMaximum else {
          throw ExportError(
            "int8 cannot quantize layers.\(index).weight: output channel \(o)'s largest |weight| is \(largest), under "
              + "\(Self.smallestChannelMaximum), the smallest an int8 channel scale can hold; export it as float32 "
              + "(without --quantize) or set that channel's weights to 0")
        }
        scales[o] = largest / 127
        let inverse = 127 / largest
        for (j, w) in row.enumerated() { quantized[o * perOutput + j] = Int8(Self.round(w * inverse)) }
      }
      layers[index] = Layer(weights: quantized, scales: scales, bias: bias.scalars)
    }
    self.layers = layers
  }

  /// Round half away from zero, clamped to [-127, 127], NaN to 0, as the C does.
  static func round(_ v: Float) -> Int32 {
    guard !v.isNaN else { return 0 }
    let clamped = min(127, max(-127, v))
    return Int32(clamped + (clamped >= 0 ? 0.5 : -0.5))
  }

  /// `x` quantized with one scale; returns the int8 values and the scale.
  /// All zeros with scale 1 when the largest magnitude is 0, infinite, or too
  /// small for 127 / largest to be finite.
  static func quantize(_ x: [Float]) -> ([Int32], Float) {
    var largest: Float = 0
    for v in x where abs(v) > largest { largest = abs(v) }
    let zeros = ([Int32](repeating: 0, count: x.count), Float(1))
    guard largest > 0, largest <= .greatestFiniteMagnitude else { return zeros }
    let inverse = 127 / largest
    guard inverse <= .greatestFiniteMagnitude else { return zeros }
    return (x.map { round($0 * inverse) }, largest / 127)
  }

  /// The outputs for an observation as the environment gives it (a frame's
  /// bytes 0-255): what the generated C's `NAME_forward` computes, input
  /// scale included.
  public func forward(_ observation: [Float]) -> [Float] {
    forward(networkInput: observation.map { $0 * inputScale })
  }

  /// The outputs for the network's input, the observation already scaled:
  /// what pops' environments give (the Gymnasium bridge scales frames by
  /// 1/255) and `pops evaluate` feeds the float network.
  public func forward(networkInput: [Float]) -> [Float] {
    var x = networkInput
    var shape = architecture.inputShape
    for (index, (layer, outShape)) in zip(architecture.layers, architecture.outputShapes).enumerated() {
      defer { shape = outShape }
      switch layer {
      case .relu: x = x.map { $0 > 0 ? $0 : 0 }
      case .tanh: x = x.map { Foundation.tanh($0) }
      case .flatten: break
      case .linear(let inputs, let outputs):
        let q = layers[index]!
        let (xq, sx) = Self.quantize(x)
        x = (0..<outputs).map { o in
          var acc: Int32 = 0  // cannot wrap: init bounds the inputs per output
          for i in 0..<inputs { acc &+= Int32(q.weights[o * inputs + i]) * xq[i] }
          return Float(acc) * (q.scales[o] * sx) + q.bias[o]
        }
      case .conv2d(let c):
        let q = layers[index]!
        let (xq, sx) = Self.quantize(x)
        let (h, w) = (shape[1], shape[2])
        let g = c.geometry(height: h, width: w)
        var y = [Float](repeating: 0, count: outShape.reduce(1, *))
        for o in 0..<c.outChannels {
          for oy in 0..<g.height {
            for ox in 0..<g.width {
              var acc: Int32 = 0
              for ci in 0..<c.inChannels {
                for ky in 0..<c.kernelHeight {
                  let iy = oy * c.stride + ky - g.top
                  if iy < 0 || iy >= h { continue }
                  for kx in 0..<c.kernelWidth {
                    let ix = ox * c.stride + kx - g.left
                    if ix < 0 || ix >= w { continue }
                    let wi = ((o * c.inChannels + ci) * c.kernelHeight + ky) * c.kernelWidth + kx
                    acc &+= Int32(q.weights[wi]) * xq[(ci * h + iy) * w + ix]
                  }
                }
              }
              y[(o * g.height + oy) * g.width + ox] = Float(acc) * (q.scales[o] * sx) + q.bias[o]
            }
          }
        }
        x = y
      }
    }
    return x
  }

  public func action(for observation: [Float]) -> Int { argmax(forward(observation)) }

  /// This policy acting on network inputs (`forward(networkInput:)`), to
  /// play pops' environments as the float network does.
  public var onNetworkInputs: OnNetworkInputs { OnNetworkInputs(policy: self) }

  public struct OnNetworkInputs: Policy, Sendable {
    public let policy: Int8Policy
    public func action(for input: [Float]) -> Int { argmax(policy.forward(networkInput: input)) }
  }
}
