import Foundation
import PoPS
import Testing

/// int8 export of hostile values: weights at the ends of the float range,
/// input scales that are not finite positive numbers, observations that are
/// subnormal, infinite or NaN. Each either quantizes, with the compiled C
/// computing exactly what `Int8Policy` computes, or is refused with the
/// tensor or field and its value before anything is written.
struct Int8HostileTests {
  /// A ReLU MLP `4-3-3-2` whose parameters are `fill(parameterIndex, scalarIndex)`.
  static func model(scale: Float = 1, _ fill: (Int, Int) -> Float) -> Model {
    let architecture = Architecture.mlp(inputs: 4, hidden: [3, 3], outputs: 2)
    let parameters = architecture.parameterShapes.enumerated().map { p, shape in
      Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { fill(p, $0) })
    }
    return Model(
      network: Network(architecture, parameters: parameters), provenance: Provenance(),
      input: ObservationEncoding(dtype: .float32, scale: scale))
  }

  /// A subnormal float, written as text (a literal would warn that it underflows).
  static func tiny(_ text: String) -> Float { Float(text) ?? 0 }

  /// Small ordinary weights, different per position.
  static func ordinary(_ p: Int, _ i: Int) -> Float { Float((p * 7 + i * 5) % 11 - 5) / 10 }

  /// Observations that hit every branch of the input quantizer.
  static let hostileObservations: [[Float]] = [
    [0.1, -0.2, 0.3, 0.4], [0, 0, 0, 0], [Self.tiny("1e-39"), Self.tiny("-1e-40"), 0, Self.tiny("1e-45")], [1e-38, 2e-37, -3e-37, 0],
    [.infinity, 0.5, -0.5, 1], [-.infinity, .infinity, 0, 0], [.nan, 0.5, 1, -1], [.nan, .nan, .nan, .nan],
    [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, 0], [3e38, 3e38, 3e38, 3e38],
  ]

  /// The compiled C (built with -Wall -Wextra -Werror) computes what pops computes, NaN and infinities included.
  func expectTheCMatches(_ model: Model, _ label: String) throws {
    let quantized = try Int8Policy(model)
    let compiled = try CompiledPolicy(model, int8: true, name: "hostile8")
    defer { try? FileManager.default.removeItem(at: compiled.folder) }
    for x in Self.hostileObservations {
      let expected = quantized.forward(x), got = compiled.forward(x)
      for (a, b) in zip(got, expected) {
        let same = a == b || (a.isNaN && b.isNaN) || (a.isFinite && b.isFinite && abs(a - b) <= 1e-5 * max(1, abs(b)))
        #expect(same, "\(label), observation \(x): C \(a) vs pops \(b)")
      }
      #expect(compiled.action(for: x) == quantized.action(for: x), "\(label), observation \(x)")
    }
  }

  @Test func hugeWeightsQuantizeAndInfiniteActivationsDoNotTrap() throws {
    // 1e38 everywhere: the second layer's outputs overflow to infinity and reach the third layer's quantizer.
    let model = Self.model { _, _ in 1e38 }
    let q = try Int8Policy(model)
    #expect(q.layers[0]?.scales.allSatisfy { abs($0 - 1e38 / 127) <= 1e31 } == true)
    #expect(q.layers[0]?.weights.allSatisfy { $0 == 127 } == true)
    try expectTheCMatches(model, "1e38 weights")
    try expectTheCMatches(Self.model { p, i in p % 2 == 0 ? Float.greatestFiniteMagnitude * (i % 2 == 0 ? 1 : -1) : 0 }, "largest floats")
  }

  @Test func ordinaryModelsTakeHostileObservationsAndScales() throws {
    try expectTheCMatches(Self.model(Self.ordinary), "ordinary")
    // A subnormal scale and the largest finite one: valid, and the C still compiles without a warning.
    try expectTheCMatches(Self.model(scale: Self.tiny("1e-45"), Self.ordinary), "scale 1e-45")
    try expectTheCMatches(Self.model(scale: 3e38, Self.ordinary), "scale 3e38")
  }

  @Test func subnormalWeightsInAChannelWithANormalMaximumQuantizeToZero() throws {
    // Channel 0 of layer 0: one ordinary weight and three subnormal ones (1e-44, -1e-40, 1e-39).
    let subnormals = [Self.tiny("1e-44"), Self.tiny("-1e-40"), Self.tiny("1e-39")]
    let model = Self.model { p, i in p == 0 && (1..<4).contains(i) ? subnormals[i - 1] : Self.ordinary(p, i) }
    let q = try Int8Policy(model)
    #expect(q.layers[0]?.weights[1..<4].allSatisfy { $0 == 0 } == true)
    try expectTheCMatches(model, "subnormal weights")
  }

  @Test func aChannelTooSmallForAnInt8ScaleIsRefusedNamingTensorChannelAndValue() throws {
    // Layer 2's (parameter 2's) output channel 1 holds only 1e-44: its scale would be 0.
    let model = Self.model { p, i in p == 2 && (3..<6).contains(i) ? Self.tiny("1e-44") : Self.ordinary(p, i) }
    let error = #expect(throws: ExportError.self) { try Int8Policy(model) }
    let text = error?.description ?? ""
    #expect(text.contains("layers.2.weight") && text.contains("output channel 1") && text.contains("1e-44"), "\(text)")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-int8-\(UUID().uuidString)")
    #expect(throws: ExportError.self) { try CExport.write(model, name: "p", int8: true, source: "tiny.safetensors", to: folder) }
    #expect(!FileManager.default.fileExists(atPath: folder.path), "nothing is written")
    // Float32 export of the same model is fine: the values are finite.
    let float = try CompiledPolicy(model, int8: false, name: "tiny32")
    try? FileManager.default.removeItem(at: float.folder)
  }

  @Test(arguments: [Float.infinity, -.infinity, .nan, 0, -1])
  func aBadInputScaleIsRefusedByEveryExportBeforeWriting(_ scale: Float) throws {
    let model = Self.model(scale: scale, Self.ordinary)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-scale-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    for int8 in [false, true] {
      let error = #expect(throws: ExportError.self) { try CExport.write(model, name: "p", int8: int8, source: "m.onnx", to: folder) }
      let text = error?.description ?? ""
      #expect(text.contains("m.onnx") && text.contains("input.scale") && text.contains("\(scale)"), "\(text)")
    }
    #expect(!FileManager.default.fileExists(atPath: folder.path))
    let onnx = folder.appendingPathExtension("onnx")
    let error = #expect(throws: ExportError.self) { try ONNXExport.write(model, source: "m.onnx", to: onnx) }
    #expect(error?.description.contains("input.scale") == true, "\(String(describing: error))")
    #expect(!FileManager.default.fileExists(atPath: onnx.path))
    #expect(throws: ExportError.self) { try Int8Policy(model) }
  }

  /// Products accumulate in an int32 (in Swift and in the C's `int32_t`):
  /// a layer whose outputs each sum more than 133,144 int8 products could
  /// overflow it, and is refused naming the layer and its input count; at
  /// the limit the largest sum is exact.
  @Test func aLayerTooWideForAnInt32SumIsRefusedNamingItsInputs() throws {
    let widest = Int8Policy.largestInputsPerOutput
    #expect(widest == 133_144)
    func wide(_ inputs: Int) -> Model {
      let architecture = Architecture.mlp(inputs: inputs, hidden: [], outputs: 2)
      let parameters = architecture.parameterShapes.map { Tensor(shape: $0, repeating: 1) }
      return Model(network: Network(architecture, parameters: parameters), provenance: Provenance())
    }
    let error = #expect(throws: ExportError.self) { try Int8Policy(wide(widest + 1)) }
    #expect(error?.description.contains("layers.0: each output sums 133145 inputs, more than the 133144") == true, "\(String(describing: error))")
    #expect(throws: ExportError.self) { try CExport.generate(wide(widest + 1), name: "p", int8: true, source: "wide") }
    // At the limit, 133,144 products of 127 x 127 sum exactly (the wrapped sum was negative one input later).
    let outputs = try Int8Policy(wide(widest)).forward([Float](repeating: 1, count: widest))
    #expect(outputs.allSatisfy { abs($0 - Float(widest + 1)) <= 1 }, "\(outputs)")
    let code = try CExport.generate(Self.model(Self.ordinary), name: "p", int8: true, source: "t").code
    #expect(code.contains("#include <stdint.h>") && code.contains("int32_t acc = 0;") && !code.contains("long"))
  }

  @Test func aNonFiniteWeightIsRefusedNamingTheTensorIndexAndValue() throws {
    let model = Self.model { p, i in p == 3 && i == 2 ? .nan : Self.ordinary(p, i) }
    let error = #expect(throws: ExportError.self) { try CExport.generate(model, name: "p", int8: false, source: "m.pt") }
    #expect(error?.description.contains("layers.2.bias holds a non-finite value (nan) at index 2") == true, "\(String(describing: error))")
  }

  /// An ONNX graph whose input Div divides by 1e-45 gives an infinite scale:
  /// refused on import or export, naming the scale; no C is written (it
  /// would not compile: `inf` is no C literal).
  @Test func anONNXWhoseScaleOverflowsWritesNoC() throws {
    let fixture = CExportTests.root.appendingPathComponent("Tests/PoPSTests/Fixtures/import/onnx_cnn_uint8.onnx")
    var bytes = [UInt8](try Data(contentsOf: fixture))
    let divisor = withUnsafeBytes(of: Float(255).bitPattern.littleEndian, Array.init)
    let at = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == divisor }, "the fixture divides by 255")
    bytes.replaceSubrange(at..<(at + 4), with: withUnsafeBytes(of: Self.tiny("1e-45").bitPattern.littleEndian, Array.init))
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-onnx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("overflow.onnx")
    try Data(bytes).write(to: url)
    let error = #expect(throws: (any Error).self) {
      let model = try TeacherImport.load(url).model
      try CExport.write(model, name: "p", int8: false, source: url.lastPathComponent, to: folder.appendingPathComponent("c"))
    }
    let text = "\(error.map { "\($0)" } ?? "")"
    #expect(text.contains("overflow.onnx") && text.contains("scale") && text.contains("inf"), "\(text)")
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("c").path))
  }
}
