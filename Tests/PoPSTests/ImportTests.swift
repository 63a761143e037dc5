import Foundation
import PoPS
import Testing

struct ImportTests {
  static let cases: [(file: String, format: ImportFormat, layout: String, architecture: String)] = [
    ("sb3_dqn_mlp.zip", .sb3, "Stable-Baselines3 DQN", "4-8-8-2"),
    ("sb3_ppo_mlp.zip", .sb3, "Stable-Baselines3 actor-critic (PPO/A2C)", "4-8-8-2/tanh"),
    ("sb3_ppo_cnn.zip", .sb3, "Stable-Baselines3 actor-critic (PPO/A2C)", "1x36x36-c32k8s4-c64k4s2-c64k3s1-16-3"),
    ("sb3_dqn_cnn.zip", .sb3, "Stable-Baselines3 DQN", "1x36x36-c32k8s4-c64k4s2-c64k3s1-16-3"),
    ("cleanrl_dqn.cleanrl_model", .torch, "CleanRL DQN", "4-8-8-2"),
    ("cleanrl_dqn_atari.cleanrl_model", .torch, "CleanRL DQN", "4x36x36-c4k8s4-c8k4s2-c8k3s1-16-3"),
    ("cleanrl_ppo_atari.cleanrl_model", .torch, "CleanRL PPO (Atari)", "4x36x36-c4k8s4-c8k4s2-c8k3s1-16-3"),
    ("plain_state_dict.safetensors", .safetensors, "nn.Sequential (N)", "4-6-3"),
    ("tf1_dense/model.ckpt", .tf1, "reference TF1 checkpoint", "4-8-8-2"),
    ("tf1_conv/model.ckpt", .tf1, "reference TF1 checkpoint", "2x44x44-c3k8s4-c4k4s2-c4k3s1-8-3"),
    ("onnx_mlp_tanh.onnx", .onnx, "ONNX graph", "4-8-2/tanh"),
    ("onnx_matmul.onnx", .onnx, "ONNX graph", "4-6-2"),
    ("onnx_cnn_uint8.onnx", .onnx, "ONNX graph", "4x36x36-c4k8s4-c8k4s2-c8k3s1-16-3"),
  ]

  /// Each file imports to a network whose outputs equal torch's on the same inputs.
  @Test(arguments: 0..<cases.count)
  func importedNetworksGiveTorchsOutputs(_ index: Int) throws {
    let (file, format, layout, architecture) = Self.cases[index]
    let (model, source) = try TeacherImport.load(ImportFixtures.url(file))
    #expect(source.format == format && source.layout == layout)
    #expect(model.network.architecture.summary == architecture)
    #expect(source.mapping.count == model.network.parameters.count)
    let images = model.network.architecture.inputShape.count == 3
    #expect(model.input == (images ? (format == .tf1 ? ObservationEncoding(dtype: .uint8, scale: 1 / 256) : .bytes) : .float32))
    #expect(source.sha256 == SHA256Check.hex(of: ImportFixtures.url(file)))
    #expect(model.provenance.summary["source_sha256"] == source.sha256)
    #expect(model.provenance.summary["source_mapping"] == source.mapping.joined(separator: ", "))
    let expected = try #require(try ImportFixtures.expected()[file])
    for (x, y) in zip(expected.inputs, expected.outputs) {
      let out = model.network.predict(x.map { $0 * expected.scale })
      for (a, b) in zip(out, y) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(file): \(out) vs \(y)") }
    }
    // The imported model saves and loads as a pops model.
    let decoded = try ModelFile.decode(try ModelFile.encode(model), path: "memory")
    #expect(decoded.network == model.network)
  }

  @Test func sb3ModelsWarnThatVecNormalizeIsNotInTheZip() throws {
    let (_, source) = try TeacherImport.load(ImportFixtures.url("sb3_dqn_mlp.zip"))
    #expect(source.warnings.contains { $0.contains("VecNormalize") })
    let (_, cnn) = try TeacherImport.load(ImportFixtures.url("sb3_ppo_cnn.zip"))
    #expect(cnn.warnings.contains { $0.contains("divides its uint8 image observations by 255") })
  }

  @Test func hostileAndBrokenFilesAreClearErrors() {
    let evil = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("evil_os_system.pt")) }
    #expect(evil.contains("evil_os_system.pt") && evil.contains("refuses global 'os system'"), "\(evil)")
    #expect(!FileManager.default.fileExists(atPath: "PWNED"), "nothing in the file ran")
    let overrun = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("storage_overrun.pt")) }
    #expect(overrun.contains("reaches element 6 of a storage of 4"), "\(overrun)")
    let noPickle = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("no_data_pkl.pt")) }
    #expect(noPickle.contains("no data.pkl"), "\(noPickle)")
    let truncated = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("truncated_sb3.zip")) }
    #expect(truncated.contains("truncated_sb3.zip") && truncated.contains("truncated"), "\(truncated)")
  }

  @Test func aCorruptEntryFailsItsCRC() {
    let error = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("bad_crc.pt")) }
    #expect(error.contains("data/0: CRC-32 mismatch"), "\(error)")
    let tf1 = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("tf1_bad_crc/model.ckpt")) }
    #expect(tf1.contains("model.ckpt.data-00000-of-00001: tensor fc_1/biases: CRC-32C mismatch"), "\(tf1)")
    let index = ImportFixtures.error { _ = try TeacherImport.load(ImportFixtures.url("tf1_bad_index/model.ckpt")) }
    #expect(index.contains("model.ckpt.index: a table block fails its CRC-32C"), "\(index)")
  }

  /// The reference's pruning masks are multiplied in, its kernels
  /// transposed, its step counter and optimizer slots left out.
  @Test func aReferenceCheckpointImportsWithItsMasks() throws {
    let (model, source) = try TeacherImport.load(ImportFixtures.url("tf1_dense/model.ckpt.index"))
    #expect(source.mapping == [
      "fc_1/weights * fc_1/mask", "fc_1/biases", "fc_2/weights * fc_2/mask", "fc_2/biases",
      "logits/weights * logits/mask", "logits/biases",
    ])
    #expect(model.network.nonZeroWeightCount < model.network.weightCount, "masked weights are zero")
    #expect(model.network.architecture.layers.last.map { if case .linear = $0 { return true } else { return false } } == true,
      "no activation on the output")
  }

  @Test func architectureAndPolicyFlagsNameWhatTheFileCannot() throws {
    let plain = ImportFixtures.url("plain_state_dict.safetensors")
    let given = try TeacherImport.load(plain, options: ImportOptions(architecture: "4-6-3/tanh")).model
    #expect(given.network.architecture.layers.contains(.tanh))
    let wrong = ImportFixtures.error { _ = try TeacherImport.load(plain, options: ImportOptions(architecture: "4-5-3")) }
    #expect(wrong.contains("0.weight has shape [6, 4] but --architecture needs [5, 4]"), "\(wrong)")
    let bad = ImportFixtures.error { _ = try TeacherImport.load(plain, options: ImportOptions(architecture: "4-x-3")) }
    #expect(bad.contains("not in the compact notation"), "\(bad)")
    // --policy picks the actor of an actor-critic state dict.
    let actor = try TeacherImport.load(ImportFixtures.url("cleanrl_ppo_atari.cleanrl_model"), options: ImportOptions(policy: ["network.", "critic"])).model
    #expect(actor.network.architecture.outputCount == 1, "the critic's value head")
  }

  @Test func theFormatComesFromTheBytesNotTheExtension() throws {
    let copy = FileManager.default.temporaryDirectory.appendingPathComponent("pops-import-\(UUID().uuidString).bin")
    defer { try? FileManager.default.removeItem(at: copy) }
    try FileManager.default.copyItem(at: ImportFixtures.url("sb3_ppo_mlp.zip"), to: copy)
    #expect(try TeacherImport.load(copy).source.format == .sb3)
    try Data("hello".utf8).write(to: copy)
    #expect(ImportFixtures.error { _ = try TeacherImport.load(copy) }.contains("not a format pops can import"))
    // A pops model whose header length starts with the byte 0x80 (a pickle's first byte) is still a pops model.
    var rng = SeededGenerator(seed: 1)
    for hidden in 1...40 {
      let model = Model(network: Network(.mlp(inputs: 4, hidden: [hidden], outputs: 2), using: &rng), provenance: Provenance())
      let data = try ModelFile.encode(model)
      guard data.first == 0x80 else { continue }
      try data.write(to: copy)
      #expect(try TeacherImport.load(copy).source.format == .pops)
      return
    }
    Issue.record("no model with a header length of low byte 0x80 was found")
  }
}

/// SHA-256 as the import records it, checked against a known vector.
enum SHA256Check {
  /// The file's digest (a TF checkpoint prefix: its index's).
  static func hex(of url: URL) -> String {
    let file = FileManager.default.fileExists(atPath: url.path) ? url : URL(fileURLWithPath: url.path + ".index")
    return (try? TeacherImport.sha256(of: Data(contentsOf: file))) ?? ""
  }
}
