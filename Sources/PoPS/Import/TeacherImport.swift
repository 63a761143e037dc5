import Foundation
import PoPSCore

/// The kinds of file `pops import` reads.
public enum ImportFormat: String, Codable, Sendable, CaseIterable {
  /// Detect the format from the file's bytes.
  case auto
  /// A pops model (docs/model-format.md).
  case pops
  /// A Stable-Baselines3 `.zip` (only its `policy.pth` and the plain JSON
  /// fields of `data` are read).
  case sb3
  /// A `torch.save` zip archive holding a state dict (`.pt`, `.pth`,
  /// CleanRL's `.cleanrl_model`).
  case torch
  /// A safetensors file holding a plain state dict.
  case safetensors
  /// A TensorFlow 1 V2 checkpoint (`model.ckpt.index` + `.data-*`) of the
  /// reference implementation, given as its prefix or its `.index` file.
  case tf1
  /// An ONNX model of a sequential policy (Gemm/MatMul+Add, Conv, Relu,
  /// Tanh, Flatten/Reshape, and Cast/Mul/Div scaling at the input).
  case onnx
}

/// How to read a file that is not a pops model.
public struct ImportOptions: Sendable {
  public var format: ImportFormat = .auto
  /// The layers, in compact notation (`4-64-64-2`, `4x84x84-c32k8s4-...-3`,
  /// `/tanh` at the end for Tanh activations), when the file cannot say.
  public var architecture: String?
  /// Prefixes of the policy's tensors, in forward order.
  public var policy: [String] = []
  /// The environment the model acts in (recorded, and checked when given).
  public var environment: String?

  public init(format: ImportFormat = .auto, architecture: String? = nil, policy: [String] = [], environment: String? = nil) {
    self.format = format
    self.architecture = architecture
    self.policy = policy
    self.environment = environment
  }
}

/// Where an imported teacher came from: kept in the model's provenance and
/// the run's record.
public struct ImportSource: Codable, Sendable, Equatable {
  /// The file as given.
  public var file: String
  /// The format it was read as.
  public var format: ImportFormat
  public var sha256: String
  /// The recognised layout (e.g. `Stable-Baselines3 DQN`).
  public var layout: String
  /// For each pops parameter (`layers.N.weight`), the source tensor's name, in order.
  public var mapping: [String]
  /// Things the user should know (e.g. VecNormalize statistics are not in an SB3 zip).
  public var warnings: [String]
}

/// Reads a policy from a pops model, a Stable-Baselines3 zip, a torch.save
/// state dict or a safetensors state dict, into a pops `Model` whose
/// outputs equal the source network's.
public enum TeacherImport {
  /// The SHA-256 of `data` as 64 hex digits, as imports record it.
  public static func sha256(of data: Data) -> String { SHA256.hex(data) }

  /// The format of `data`, from its bytes.
  public static func detect(_ data: Data) -> ImportFormat? {
    if ZipArchive.looksLikeZip(data) {
      guard let zip = try? ZipArchive(data, path: "") else { return .torch }
      return zip.entry(where: { $0 == "policy.pth" }) != nil ? .sb3 : .torch
    }
    // A safetensors file starts with its header's length, whose low byte may be anything: parse it first.
    if let file = try? SafetensorsFile(data, path: "") {
      return (file.header["__metadata__"] as? [String: String])?["format"] == "pops" ? .pops : .safetensors
    }
    if TF1Checkpoint.looksLikeIndex(data) { return .tf1 }
    if data.starts(with: [0x80, 0x02]) { return .torch }  // a legacy torch pickle: refused with a clear error
    // An ONNX ModelProto: ir_version (field 1) first, and a graph (field 7).
    if data.first == 0x08,
      let fields = try? ProtoReader.fields([UInt8](data), fail: { ModelFileError(path: "", problem: $0) }), fields[7] != nil
    {
      return .onnx
    }
    return nil
  }

  /// Imports `url`; a pops model comes back as it is.
  public static func load(_ given: URL, options: ImportOptions = ImportOptions()) throws -> (model: Model, source: ImportSource) {
    // A TF checkpoint is named by its prefix: read its index.
    let indexURL = TF1Checkpoint.indexURL(given)
    let url = !FileManager.default.fileExists(atPath: given.path) && FileManager.default.fileExists(atPath: indexURL.path)
      ? indexURL : given
    let path = url.path
    if let problem = FileErrors.notARegularFile(path) { throw ModelFileError(path: path, problem: problem) }
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw ModelFileError(path: path, problem: "cannot read the file (\(FileErrors.reason(error)))")
    }
    var format = options.format
    if format == .auto {
      guard let detected = detect(data) else {
        throw ModelFileError(
          path: path, problem: "not a format pops can import (pops model, Stable-Baselines3 zip, torch.save zip, safetensors)")
      }
      format = detected
    }
    var hints = LayoutHints()
    hints.prefixes = options.policy
    if let text = options.architecture {
      guard let architecture = Architecture(compact: text) else {
        throw ModelFileError(path: path, problem: "--architecture '\(text)' is not in the compact notation (e.g. 4-64-64-2, 4x84x84-c32k8s4-c64k4s2-c64k3s1-512-3, 8-64-64-4/tanh)")
      }
      hints.architecture = architecture
    }
    var warnings: [String] = []
    var dict: StateDict
    var renamed: [String: String] = [:]
    switch format {
    case .auto:
      preconditionFailure("resolved above")
    case .pops:
      let model = try ModelFile.decode(data, path: path)
      let source = ImportSource(
        file: path, format: .pops, sha256: SHA256.hex(data), layout: "pops model",
        mapping: model.network.architecture.parameterNames, warnings: [])
      return (model, source)
    case .sb3:
      (dict, hints, warnings) = try StableBaselines3.stateDict(data, path: path, hints: hints)
    case .torch:
      dict = try TorchFile.stateDict(data, path: path)
    case .safetensors:
      let file = try SafetensorsFile(data, path: path)
      var result = StateDict()
      for name in file.tensorNames { result.append(name, try file.tensor(name)) }
      dict = result
    case .onnx:
      let (architecture, parameters, input, sources) = try ONNXGraph.model(data, path: path)
      let source = ImportSource(
        file: given.path, format: .onnx, sha256: SHA256.hex(data), layout: "ONNX graph", mapping: sources, warnings: [])
      // The environment a pops export recorded, unless --env names one.
      var options = options
      if options.environment == nil, let recorded = try ONNXGraph.metadata(data, path: path)["environment"], !recorded.isEmpty {
        options.environment = recorded
      }
      return (imported(Network(architecture, parameters: parameters), input: input, source: source, options: options), source)
    case .tf1:
      (dict, renamed) = try ReferenceCheckpoint.stateDict(try TF1Checkpoint.tensors(index: data, indexPath: path), path: path)
      if hints.architecture == nil && hints.prefixes.isEmpty { hints.activation = hints.activation ?? .relu }
    }
    let layout = try Layouts.recognise(dict, hints: hints, path: path)
    if layout.name.hasPrefix("CleanRL"), layout.architecture.inputShape.count == 3 {
      warnings.append("CleanRL's Atari agents divide frames by 255 before their network: feed it frames scaled to [0, 1], as pops' Atari observations are")
    }
    var parameters = layout.sources.map { dict.tensors[$0]! }
    var layoutName = layout.name
    if format == .tf1 {
      ReferenceCheckpoint.reorderAfterFlatten(layout.architecture, parameters: &parameters)
      layoutName = "reference TF1 checkpoint"
    }
    let network = Network(layout.architecture, parameters: parameters)
    // Images: SB3's CnnPolicy and CleanRL's Atari agents divide bytes by 255, the reference by 256.
    var input = ObservationEncoding.float32
    if layout.architecture.inputShape.count == 3 {
      input = format == .tf1 ? ObservationEncoding(dtype: .uint8, scale: 1 / 256) : .bytes
      if format == .tf1 {
        warnings.append("the reference divides frames by 256; pops' Atari observations are bytes / 255, 0.4% larger")
      }
    }
    let source = ImportSource(
      file: given.path, format: format, sha256: SHA256.hex(data), layout: layoutName,
      mapping: layout.sources.map { renamed[$0] ?? $0 }, warnings: warnings)
    return (imported(network, input: input, source: source, options: options), source)
  }

  /// The pops model of an imported network, its provenance naming the source.
  private static func imported(
    _ network: Network, input: ObservationEncoding, source: ImportSource, options: ImportOptions
  ) -> Model {
    let summary = [
      "source": URL(fileURLWithPath: source.file).lastPathComponent, "source_format": source.format.rawValue,
      "source_sha256": source.sha256, "source_layout": source.layout,
      "source_mapping": source.mapping.joined(separator: ", "),
    ]
    let provenance = Provenance(environment: options.environment, role: ModelRole.importedTeacher.name, summary: summary)
    return Model(network: network, provenance: provenance, input: input)
  }
}
