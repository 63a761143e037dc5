import Foundation
import PoPSCore

/// Where a model came from, stored in the file's metadata.
public struct Provenance: Codable, Equatable, Sendable {
  /// Environment id the model was trained on (e.g. `CartPole-v0`).
  public var environment: String?
  /// The seed of the run that produced it.
  public var seed: UInt64?
  /// The pops version that wrote it.
  public var popsVersion: String
  /// What produced it: `dqn-teacher`, `pops-student`, ...
  public var role: String?
  /// Free-form summary of training (steps, score, ...).
  public var summary: [String: String]

  private enum CodingKeys: String, CodingKey {
    case environment = "env", seed, popsVersion = "pops_version", role, summary
  }

  public init(
    environment: String? = nil, seed: UInt64? = nil, role: String? = nil,
    summary: [String: String] = [:], popsVersion: String = PoPSVersion.current
  ) {
    self.environment = environment
    self.seed = seed
    self.role = role
    self.summary = summary
    self.popsVersion = popsVersion
  }
}

/// The version of this library, written into every file it saves.
public enum PoPSVersion {
  public static let current = "0.1.0"
}

/// A model read from or written to disk.
public struct Model: Equatable, Sendable {
  public var network: Network
  public var provenance: Provenance
  /// How observations enter the network (version 1 files: float32, unscaled).
  public var input: ObservationEncoding

  public init(network: Network, provenance: Provenance, input: ObservationEncoding = .float32) {
    self.network = network
    self.provenance = provenance
    self.input = input
  }
}

/// An error reading a model file; the message names the file and the problem.
public struct ModelFileError: Error, CustomStringConvertible, Equatable {
  public var path: String
  public var problem: String
  public var description: String { "\(path): \(problem)" }

  public init(path: String, problem: String) {
    self.path = path
    self.problem = problem
  }
}

/// Model files: safetensors with PyTorch names and layout, the architecture
/// as JSON in `__metadata__` (see docs/model-format.md).
public enum ModelFile {
  /// The `pops_format_version` this code writes; it reads it and version 1
  /// (which has no `input`).
  public static let formatVersion = 2

  /// Writes `model` to `url` atomically (temporary file, then rename).
  /// Refuses a network with a non-finite weight (a diverged training run):
  /// pops never writes a model file it would refuse to load.
  public static func save(_ model: Model, to url: URL) throws {
    for (name, tensor) in zip(model.network.architecture.parameterNames, model.network.parameters) {
      if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
        throw ModelFileError(
          path: url.path,
          problem: "not written: tensor \(name) holds a non-finite value (\(tensor.scalars[bad])) at index \(bad); "
            + "the training diverged (try a smaller learning rate)")
      }
    }
    try AtomicFile.write(encode(model), to: url)
  }

  /// The file's bytes.
  public static func encode(_ model: Model) throws -> Data {
    let network = model.network
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let architecture = String(decoding: try encoder.encode(network.architecture), as: UTF8.self)
    let provenance = String(decoding: try encoder.encode(model.provenance), as: UTF8.self)
    let input = String(decoding: try encoder.encode(model.input), as: UTF8.self)
    var header: [String: Any] = [
      "__metadata__": [
        "format": "pops",
        "pops_format_version": String(formatVersion),
        "architecture": architecture,
        "provenance": provenance,
        "input": input,
      ]
    ]
    var offset = 0
    for (name, tensor) in zip(network.architecture.parameterNames, network.parameters) {
      let size = tensor.count * 4
      header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]]
      offset += size
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }  // pad so tensor data is 8-byte aligned
    var data = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    for tensor in network.parameters {
      tensor.scalars.withUnsafeBufferPointer { p in
        let le = p.map { $0.bitPattern.littleEndian }
        le.withUnsafeBytes { data.append(contentsOf: $0) }
      }
    }
    return data
  }

  /// Reads a model; throws `ModelFileError` naming `url` and the problem.
  public static func load(from url: URL) throws -> Model {
    if let problem = FileErrors.notARegularFile(url.path) { throw ModelFileError(path: url.path, problem: problem) }
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw ModelFileError(path: url.path, problem: "cannot read the file (\(FileErrors.reason(error)))")
    }
    return try decode(data, path: url.path)
  }

  /// Parses a model from the bytes of a file at `path` (used in errors).
  public static func decode(_ data: Data, path: String) throws -> Model {
    let file = try SafetensorsFile(data, path: path)
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    guard let metadata = file.header["__metadata__"] as? [String: String] else {
      throw fail("no __metadata__ with string values: not a pops model")
    }
    guard metadata["format"] == "pops", let versionText = metadata["pops_format_version"] else {
      throw fail("__metadata__ lacks format 'pops' and pops_format_version: not a pops model")
    }
    guard let version = Int(versionText), version == 1 || version == formatVersion else {
      throw fail("pops_format_version \(versionText) is not supported (this pops reads versions 1 and \(formatVersion))")
    }
    for (field, text) in metadata.sorted(by: { $0.key < $1.key }) where ["architecture", "provenance", "input"].contains(field) {
      if let key = StrictJSON.duplicateKey(in: Data(text.utf8)) { throw fail("__metadata__.\(field) names \"\(key)\" twice") }
    }
    guard let architectureText = metadata["architecture"],
      let architecture = try? JSONDecoder().decode(Architecture.self, from: Data(architectureText.utf8))
    else { throw fail("__metadata__.architecture is missing or not a valid architecture") }
    if let problem = architecture.validationError() { throw fail("architecture: \(problem)") }
    var provenance = Provenance()
    if let text = metadata["provenance"] {
      guard let decoded = try? JSONDecoder().decode(Provenance.self, from: Data(text.utf8)) else {
        throw fail("__metadata__.provenance is not valid")
      }
      provenance = decoded
    }
    var input = ObservationEncoding.float32
    if version >= 2 {
      guard let text = metadata["input"], let decoded = try? JSONDecoder().decode(ObservationEncoding.self, from: Data(text.utf8)),
        decoded.scale.isFinite, decoded.scale > 0
      else { throw fail("__metadata__.input is missing or not a valid observation encoding (dtype float32 or uint8, a positive scale)") }
      input = decoded
    }
    let expected = Set(architecture.parameterNames)
    if let extra = file.tensorNames.first(where: { !expected.contains($0) }) {
      throw fail("tensor \(extra) is not a parameter of the architecture (it has \(architecture.parameterNames.joined(separator: ", ")))")
    }
    let parameters = try zip(architecture.parameterNames, architecture.parameterShapes).map { name, shape in
      try file.tensor(name, shape: shape)
    }
    return Model(network: Network(architecture, parameters: parameters), provenance: provenance, input: input)
  }
}

/// The parts of a safetensors file pops reads: the JSON header and float32
/// tensors. Every offset and shape is checked against the file's bytes.
public struct SafetensorsFile {
  public let path: String
  /// The header: tensor entries by name, and `__metadata__` if present.
  public let header: [String: Any]
  private let data: Data
  private let dataStart: Int

  public init(_ data: Data, path: String) throws {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, too short for a safetensors header") }
    let headerSize = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard headerSize <= UInt64(data.count - 8) else {
      throw fail("truncated: header claims \(headerSize) bytes but the file has \(data.count - 8) after the size")
    }
    let headerData = data.subdata(in: data.startIndex + 8..<data.startIndex + 8 + Int(headerSize))
    guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
      throw fail("the safetensors header is not a JSON object")
    }
    if let key = StrictJSON.duplicateKey(in: headerData) {
      throw fail("the safetensors header names \"\(key)\" twice")
    }
    self.path = path
    self.header = header
    self.data = data
    dataStart = 8 + Int(headerSize)
    try checkLayout(payload: data.count - dataStart)
  }

  /// The safetensors rule: the tensors' byte ranges tile the data exactly,
  /// with no overlap, no gap and nothing after the last one.
  private func checkLayout(payload: Int) throws {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    var ranges: [(name: String, begin: Int, end: Int)] = []
    for (name, value) in header where name != "__metadata__" {
      guard let entry = value as? [String: Any] else { throw fail("header entry \(name) is not an object") }
      guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[1] >= offsets[0]
      else { throw fail("tensor \(name) has bad data_offsets \(entry["data_offsets"] ?? "none")") }
      ranges.append((name, offsets[0], offsets[1]))
    }
    ranges.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    var covered = 0
    var previous: String?
    for range in ranges {
      if range.begin < covered, let previous {
        throw fail("tensors \(previous) and \(range.name) overlap (\(range.name) starts at byte \(range.begin), before \(covered))")
      }
      if range.begin > covered {
        throw fail("\(range.begin - covered) bytes before tensor \(range.name) belong to no tensor")
      }
      covered = range.end
      previous = range.name
    }
    if covered > payload {
      throw fail("truncated: tensor \(previous ?? "") ends at byte \(covered) of data, the file has \(payload)")
    }
    if covered < payload { throw fail("\(payload - covered) trailing bytes after the last tensor") }
  }

  /// The tensor names, in the order of their data in the file.
  public var tensorNames: [String] {
    header.compactMap { name, value -> (String, Int)? in
      guard name != "__metadata__", let entry = value as? [String: Any], let offsets = entry["data_offsets"] as? [Int],
        let first = offsets.first
      else { return nil }
      return (name, first)
    }.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.map(\.0)
  }

  /// The shape the header gives `name`, if any.
  public func shape(of name: String) -> [Int]? { (header[name] as? [String: Any])?["shape"] as? [Int] }

  /// Tensor `name` as float32 values; `shape` (if given) must match the file's.
  public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    guard let entry = header[name] as? [String: Any] else { throw fail("tensor \(name) is missing") }
    guard entry["dtype"] as? String == "F32" else {
      throw fail("tensor \(name) has dtype \(entry["dtype"] ?? "none"); only F32 is supported")
    }
    guard let shape = entry["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }), expected == nil || shape == expected! else {
      throw fail("tensor \(name) has shape \(entry["shape"] ?? "none"), the architecture needs \(expected ?? [])")
    }
    let payload = data.count - dataStart
    // Sizes from the file are checked for overflow: a crafted header must not trap.
    let count = shape.reduce(Optional(1)) { total, n in total.flatMap { $0.multipliedReportingOverflow(by: n).overflow ? nil : $0 * n } }
    let bytes = count.flatMap { $0.multipliedReportingOverflow(by: 4).overflow ? nil : $0 * 4 }
    guard let count, let bytes, let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
      offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] - offsets[0] == bytes
    else { throw fail("tensor \(name) has bad data_offsets \(entry["data_offsets"] ?? "none")") }
    guard offsets[1] <= payload else {
      throw fail("truncated: tensor \(name) ends at byte \(offsets[1]) of data, the file has \(payload)")
    }
    var scalars = [Float](repeating: 0, count: count)
    data.withUnsafeBytes { raw in
      let base = raw.baseAddress! + dataStart + offsets[0]
      for i in 0..<count {
        scalars[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
      }
    }
    if let bad = scalars.firstIndex(where: { !$0.isFinite }) {
      throw fail("tensor \(name) holds a non-finite value (\(scalars[bad])) at index \(bad)")
    }
    return Tensor(shape: shape, scalars: scalars)
  }
}
