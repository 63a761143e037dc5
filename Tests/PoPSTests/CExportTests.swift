#if canImport(Glibc)
  import Glibc
#endif
import Foundation
import PoPS
import Testing

struct CExportTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// Networks of every layer kind: an MLP, a Tanh MLP, and a conv net with
  /// `same` and `valid` padding, strides and a flatten; the conv net takes
  /// bytes scaled by 1/255.
  static func models() -> [Model] {
    var rng = SeededGenerator(seed: 5)
    // 10x8 with kernel 3, stride 2, same: one row and one column of padding, at the bottom and right only.
    let conv = Architecture(inputShape: [2, 10, 8], layers: [
      .conv2d(.init(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, padding: .same)), .relu,
      .conv2d(.init(inChannels: 3, outChannels: 4, kernel: 2, stride: 1)), .tanh, .flatten,
      .linear(inputs: 4 * 4 * 3, outputs: 6), .relu, .linear(inputs: 6, outputs: 3),
    ])
    return [
      Model(network: Network(.mlp(inputs: 4, hidden: [16, 8], outputs: 2), biasInit: 0.1, using: &rng), provenance: Provenance()),
      Model(network: Network(.mlp(inputs: 8, hidden: [12], outputs: 4, activation: .tanh), biasInit: 0.1, using: &rng), provenance: Provenance()),
      Model(network: Network(conv, biasInit: 0.1, using: &rng), provenance: Provenance(), input: .bytes),
    ]
  }

  @Test(arguments: 0..<3)
  func theCompiledCComputesWhatPopsComputes(_ index: Int) throws {
    let model = Self.models()[index]
    let float = try CompiledPolicy(model, int8: false)
    let int8 = try CompiledPolicy(model, int8: true, name: "policy8")
    defer { try? FileManager.default.removeItem(at: float.folder); try? FileManager.default.removeItem(at: int8.folder) }
    let quantized = try Int8Policy(model)
    var rng = SeededGenerator(seed: 9)
    let raw = model.input.dtype == .uint8 ? Float(255) : 2
    for _ in 0..<20 {
      let x = (0..<model.network.architecture.inputCount).map { _ in model.input.dtype == .uint8 ? Float(rng.index(below: 256)) : rng.uniform(-raw, raw) }
      let expected = model.network.predict(x.map { $0 * model.input.scale })
      for (a, b) in zip(float.forward(x), expected) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "float: \(a) vs \(b)") }
      let q = quantized.forward(x)
      for (a, b) in zip(int8.forward(x), q) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "int8: \(a) vs \(b)") }
      #expect(float.action(for: x) == argmax(expected) && int8.action(for: x) == argmax(q))
      // int8 stays close to float: within a few percent of the output range.
      let range = expected.map(abs).max()! + 1e-3
      for (a, b) in zip(q, expected) { #expect(abs(a - b) <= 0.1 * range, "int8 drifts: \(a) vs \(b)") }
    }
  }

  /// The committed CartPole student, compiled as firmware would, still solves CartPole-v0.
  @Test func theExportedCartPoleStudentSolvesCartPoleInCFloatAndInt8() throws {
    let model = try ModelFile.load(from: Self.root.appendingPathComponent("docs/results/cartpole-v0/final.safetensors"))
    for int8 in [false, true] {
      let policy = try CompiledPolicy(model, int8: int8)
      defer { try? FileManager.default.removeItem(at: policy.folder) }
      let score = try evaluate(policy, environment: "CartPole-v0", episodes: 100, seed: 2026)
      #expect(score.mean >= 195, "int8 \(int8): \(score.summary)")
    }
  }

  @Test func int8WeightsArePerChannelSymmetric() throws {
    let model = Self.models()[0]
    let q = try Int8Policy(model)
    let weight = model.network.parameters[0]
    let layer = q.layers[0]!
    for o in 0..<weight.shape[0] {
      let row = (0..<weight.shape[1]).map { weight[o * weight.shape[1] + $0] }
      #expect(abs(layer.scales[o] - row.map(abs).max()! / 127) < 1e-9)
      #expect(layer.weights[(o * weight.shape[1])..<((o + 1) * weight.shape[1])].map { abs(Int($0)) }.max() == 127)
      for (j, w) in row.enumerated() {
        #expect(abs(Float(layer.weights[o * weight.shape[1] + j]) * layer.scales[o] - w) <= layer.scales[o] / 2 + 1e-7)
      }
    }
  }

  @Test func badNamesAndUnwritableFoldersAreClearErrorsThatWriteNothing() throws {
    let model = Self.models()[0]
    for name in ["9lives", "my-policy", "int", ""] {
      let error = #expect(throws: ExportError.self) { try CExport.generate(model, name: name, int8: false, source: "t") }
      #expect(error?.description.contains("is not a C identifier") == true, "\(name)")
    }
    let error = #expect(throws: WriteError.self) {
      try CExport.write(model, name: "p", int8: false, source: "t", to: URL(fileURLWithPath: "/proc/pops-cannot-write-here"))
    }
    #expect(error?.description.hasPrefix("could not write /proc/pops-cannot-write-here/p.c: ") == true, "\(String(describing: error))")
    #expect(!FileManager.default.fileExists(atPath: "/proc/pops-cannot-write-here/p.h"))
  }
}
