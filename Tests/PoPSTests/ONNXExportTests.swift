import Foundation
import PoPS
import Testing

struct ONNXExportTests {

  /// The C tests' networks (MLP, Tanh MLP, a conv net with same/valid
  /// padding on bytes) and a Nature-CNN-sized network on uint8 frames.
  static func models() -> [Model] {
    var rng = SeededGenerator(seed: 8)
    return CExportTests.models() + [
      Model(network: Network(.natureCNN(actions: 3), biasInit: 0.01, using: &rng), provenance: Provenance(environment: "gym:ALE/Pong-v5"), input: .bytes)
    ]
  }

  func exported(_ model: Model) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pops-onnx-\(UUID().uuidString).onnx")
    try ONNXExport.write(model, source: "test", to: url)
    return url
  }

  /// export -> import gives back the same network, bit for bit, and the same input encoding.
  @Test(arguments: 0..<4)
  func exportThenImportIsExact(_ index: Int) throws {
    let model = Self.models()[index]
    let url = try exported(model)
    defer { try? FileManager.default.removeItem(at: url) }
    let (back, source) = try TeacherImport.load(url)
    #expect(source.format == .onnx)
    #expect(back.network.architecture == model.network.architecture)
    #expect(back.network.parameters == model.network.parameters, "bit-exact")
    #expect(back.input == model.input)
    #expect(back.provenance.environment == model.provenance.environment, "the environment comes back from the metadata")
  }

  /// onnx.checker accepts the file and onnxruntime computes pops' outputs
  /// and actions (the venv `make test` builds has both).
  @Test(arguments: 0..<4)
  func onnxruntimeAgreesWithPops(_ index: Int) throws {
    let model = Self.models()[index]
    let url = try exported(model)
    defer { try? FileManager.default.removeItem(at: url) }
    var rng = SeededGenerator(seed: 3)
    let bytes = model.input.dtype == .uint8
    let shape = model.network.architecture.inputShape
    let inputs: [[Float]] = (0..<3).map { _ in
      (0..<model.network.architecture.inputCount).map { _ in bytes ? Float(rng.index(below: 256)) : rng.uniform(-2, 2) }
    }
    // Observations shaped as the graph takes them: [batch, ...shape].
    func nest(_ flat: [Float], _ shape: [Int]) -> Any {
      guard shape.count > 1 else { return flat.map { bytes ? Int($0) as Any : Double($0) as Any } }
      let step = shape.dropFirst().reduce(1, *)
      return (0..<shape[0]).map { nest(Array(flat[($0 * step)..<(($0 + 1) * step)]), Array(shape.dropFirst())) }
    }
    let json = url.deletingPathExtension().appendingPathExtension("json")
    defer { try? FileManager.default.removeItem(at: json) }
    try JSONSerialization.data(withJSONObject: inputs.map { nest($0, shape) }).write(to: json)
    let output = try runTestPython([repositoryRoot.appendingPathComponent("scripts/check_onnx.py").path, url.path, json.path])
    let result = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    let outputs = try #require(result["outputs"] as? [[Double]])
    let actions = try #require(result["action"] as? [Int])
    #expect(result["input_type"] as? String == (bytes ? "tensor(uint8)" : "tensor(float)"))
    let metadata = try #require(result["metadata"] as? [String: String])
    #expect(metadata["architecture"] == model.network.architecture.summary && metadata["pops_version"] != nil)
    for (i, x) in inputs.enumerated() {
      let expected = model.network.predict(x.map { $0 * model.input.scale })
      for (a, b) in zip(outputs[i], expected) { #expect(abs(Float(a) - b) <= 1e-5 * max(1, abs(b)), "\(a) vs \(b)") }
      #expect(actions[i] == argmax(expected))
    }
  }
}
