import Foundation

/// Named float32 tensors in their file's order: a PyTorch state dict.
public struct StateDict: Sendable {
  public var names: [String]
  public var tensors: [String: Tensor]

  public init(names: [String] = [], tensors: [String: Tensor] = [:]) {
    self.names = names
    self.tensors = tensors
  }

  mutating func append(_ name: String, _ tensor: Tensor) {
    if tensors[name] == nil { names.append(name) }
    tensors[name] = tensor
  }

  /// `name: shape` of every tensor, for errors that list what a file holds.
  var listing: String {
    names.prefix(40).map { "\($0) \(tensors[$0]!.shape)" }.joined(separator: ", ")
      + (names.count > 40 ? ", ... (\(names.count) in all)" : "")
  }
}

/// `torch.save` zip archives (`.pt`, `.pth`, CleanRL's `.cleanrl_model`)
/// holding a state dict, read without PyTorch and without running anything
/// from the file (see `RestrictedUnpickler`).
enum TorchFile {
  static func stateDict(_ data: Data, path: String) throws -> StateDict {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    if data.first == 0x80 {
      throw fail("a legacy (non-zip) torch file is not supported; save it again with a current torch.save")
    }
    guard ZipArchive.looksLikeZip(data) else { throw fail("not a torch.save zip archive") }
    let zip = try ZipArchive(data, path: path)
    if zip.entry(where: { $0.hasSuffix("/constants.pkl") || $0.contains("/code/") }) != nil {
      throw fail("a TorchScript archive is not supported; save the model's state_dict() with torch.save instead")
    }
    guard let pickle = zip.entry(where: { $0.hasSuffix("data.pkl") }) else {
      throw fail("the zip archive has no data.pkl: not a torch.save file")
    }
    let folder = String(pickle.name.dropLast("data.pkl".count))
    if let order = zip.entry(where: { $0 == folder + "byteorder" }) {
      let text = String(decoding: try zip.read(order), as: UTF8.self)
      guard text == "little" else { throw fail("byte order '\(text)' is not supported (little only)") }
    }
    var unpickler = RestrictedUnpickler(try zip.read(pickle), path: path)
    guard case .dict(let root) = try unpickler.load() else {
      throw fail("data.pkl does not hold a state dict (a mapping of names to tensors)")
    }
    var storages: [String: [Float]] = [:]
    var result = StateDict()
    var skipped: [String] = []
    for (key, value) in root.items {
      guard case .string(let name) = key else { throw fail("a state dict key is not a string") }
      guard case .tensor(let reference) = value else {
        skipped.append(name)
        continue
      }
      guard reference.storage.type == "torch FloatStorage" else {
        throw fail("tensor \(name) is stored as \(reference.storage.type.dropFirst(6)), only float32 tensors can be imported")
      }
      if storages[reference.storage.key] == nil {
        guard let entry = zip.entry(where: { $0 == folder + "data/" + reference.storage.key }) else {
          throw fail("storage data/\(reference.storage.key) of tensor \(name) is missing from the archive")
        }
        let bytes = try zip.read(entry)
        guard reference.storage.count <= bytes.count / 4, bytes.count == reference.storage.count * 4 else {
          throw fail("storage data/\(reference.storage.key) holds \(bytes.count) bytes, not \(reference.storage.count) float32 values")
        }
        storages[reference.storage.key] = bytes.withUnsafeBytes { raw in
          (0..<reference.storage.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
      }
      let storage = storages[reference.storage.key]!
      // Sizes come from the file: checked for overflow, and capped (zero strides could make a small storage huge).
      let count = reference.shape.reduce(Optional(1)) { total, n in total.flatMap { $0.multipliedReportingOverflow(by: n).overflow ? nil : $0 * n } }
      guard let count, count <= 1 << 28 else { throw fail("tensor \(name) of shape \(reference.shape) is too large") }
      var scalars = [Float](repeating: 0, count: count)
      // Gather through the strides (bounds were checked when the pickle was read).
      var index = [Int](repeating: 0, count: reference.shape.count)
      for i in 0..<count {
        var source = reference.offset
        for (d, s) in Swift.zip(index, reference.stride) { source += d * s }
        scalars[i] = storage[source]
        var axis = index.count - 1
        while axis >= 0 {
          index[axis] += 1
          if index[axis] < reference.shape[axis] { break }
          index[axis] = 0
          axis -= 1
        }
      }
      if let bad = scalars.firstIndex(where: { !$0.isFinite }) {
        throw fail("tensor \(name) holds a non-finite value at index \(bad)")
      }
      result.append(name, Tensor(shape: reference.shape, scalars: scalars))
    }
    if result.names.isEmpty {
      throw fail("data.pkl holds no tensors at its top level\(skipped.isEmpty ? "" : " (keys: \(skipped.prefix(10).joined(separator: ", ")))"); save the model's state_dict()")
    }
    return result
  }
}
