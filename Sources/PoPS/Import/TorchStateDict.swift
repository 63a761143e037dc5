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
///
/// Sizes come from the file, so what it may make pops allocate is bounded by
/// the file itself: a storage is read once and must hold exactly the values
/// its every reference names; a tensor may have no more elements than its
/// storage has values (a parameter owns its values; only an expanded view,
/// stride 0, has more, and `torch.save` of a `state_dict()` writes none);
/// and the tensors together may hold no more values than the file has
/// bytes (tied weights share a storage twice; a file naming one storage
/// under thousands of names is refused rather than copied thousands of times).
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
    // torch.load reads the folder of the archive's first member: so does pops, and it refuses a second data.pkl.
    guard let first = zip.entries.first?.name, let slash = first.firstIndex(of: "/") else {
      throw fail("the zip archive has no data.pkl in a folder: not a torch.save file")
    }
    let folder = String(first[...slash])
    guard let pickle = zip.entry(named: folder + "data.pkl") else {
      throw fail("the zip archive has no data.pkl in its folder \(folder): not a torch.save file")
    }
    if let other = zip.entry(where: { $0 != pickle.name && ($0 == "data.pkl" || $0.hasSuffix("/data.pkl")) }) {
      throw fail("the zip archive holds two pickles, \(pickle.name) and \(other.name): readers could disagree on which is the model")
    }
    if let order = zip.entry(named: folder + "byteorder") {
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
    var values = 0
    for (key, value) in root.items {
      guard case .string(let name) = key else { throw fail("a state dict key is not a string") }
      guard case .tensor(let reference) = value else {
        skipped.append(name)
        continue
      }
      guard reference.storage.type == "torch FloatStorage" else {
        throw fail("tensor \(name) is stored as \(reference.storage.type.dropFirst(6)), only float32 tensors can be imported")
      }
      let key = reference.storage.key
      let storage = try storages[key] ?? floats(zip, entry: folder + "data/" + key, of: name, fail: fail)
      storages[key] = storage
      // Every reference must name the storage's true size: the pickle checked the view against the size it names.
      guard storage.count == reference.storage.count else {
        throw fail("storage data/\(key) holds \(storage.count) float32 values, but tensor \(name) names it with \(reference.storage.count)")
      }
      // Checked products: the shape is the file's. With zero-sized dimensions left out
      // (an empty tensor's), the rest may not multiply to more than the file has bytes.
      var count = 1, extent = 1
      for n in reference.shape {
        let (c, o1) = count.multipliedReportingOverflow(by: n)
        let (e, o2) = extent.multipliedReportingOverflow(by: max(n, 1))
        guard !o1, !o2 else { throw fail("tensor \(name) of shape \(reference.shape) is larger than the file") }
        (count, extent) = (c, e)
      }
      guard count <= storage.count else {
        throw fail("tensor \(name) of shape \(reference.shape) has \(count) elements, more than the \(storage.count) values of its storage data/\(key) (an expanded view; save the model's state_dict())")
      }
      guard extent <= data.count else { throw fail("tensor \(name) of shape \(reference.shape) is larger than the file") }
      values += count
      guard values <= data.count else {
        throw fail("the tensors hold more values than the file has bytes (\(data.count)) by tensor \(name): its storage data/\(key) is viewed again and again")
      }
      let scalars = try gather(reference, from: storage, count: count, fail: { fail("tensor \(name): \($0)") })
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

  /// The float32 values of the storage member `name`, for tensor `tensor`.
  private static func floats(
    _ zip: ZipArchive, entry name: String, of tensor: String, fail: (String) -> ModelFileError
  ) throws -> [Float] {
    guard let entry = zip.entry(named: name) else {
      throw fail("storage \(name) of tensor \(tensor) is missing from the archive")
    }
    let bytes = try zip.read(entry)
    guard bytes.count % 4 == 0 else { throw fail("storage \(name) holds \(bytes.count) bytes, not whole float32 values") }
    return bytes.withUnsafeBytes { raw in
      (0..<bytes.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
  }

  /// The `count` values `reference` views, row-major, through its strides.
  /// Every index is checked, though the pickle checked the view's last one.
  private static func gather(
    _ reference: TorchTensorReference, from storage: [Float], count: Int, fail: (String) -> ModelFileError
  ) throws -> [Float] {
    var scalars = [Float](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: reference.shape.count)
    for i in 0..<count {
      var source = reference.offset
      for (d, s) in Swift.zip(index, reference.stride) { source += d * s }
      guard storage.indices.contains(source) else { throw fail("its view reaches element \(source) of a storage of \(storage.count)") }
      scalars[i] = storage[source]
      var axis = index.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < reference.shape[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    return scalars
  }
}
