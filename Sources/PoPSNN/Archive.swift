import Foundation
import PoPSCore

/// One array in a `TensorArchive`.
public enum ArchiveArray: Equatable, Sendable {
  case float([Float])
  case bytes([UInt8])
  case int32([Int32])
  case int64([Int64])

  var dtype: String {
    switch self {
    case .float: "F32"
    case .bytes: "U8"
    case .int32: "I32"
    case .int64: "I64"
    }
  }

  var count: Int {
    switch self {
    case .float(let a): a.count
    case .bytes(let a): a.count
    case .int32(let a): a.count
    case .int64(let a): a.count
    }
  }

  func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    switch self {
    case .float(let a): try a.withUnsafeBytes(body)
    case .bytes(let a): try a.withUnsafeBytes(body)
    case .int32(let a): try a.withUnsafeBytes(body)
    case .int64(let a): try a.withUnsafeBytes(body)
    }
  }
}

/// Named arrays of several dtypes plus string metadata in one safetensors
/// file: training checkpoints (networks, optimizer moments, replay buffers)
/// that numpy can open like a model file. Written by streaming to a
/// temporary file and renaming it, so a crash mid-write leaves the previous
/// archive intact; read through a memory map.
public struct TensorArchive: Sendable {
  public var arrays: [String: ArchiveArray] = [:]
  public var metadata: [String: String] = [:]
  /// Where the archive was read from (named in errors).
  public var path = ""

  public init(arrays: [String: ArchiveArray] = [:], metadata: [String: String] = [:]) {
    self.arrays = arrays
    self.metadata = metadata
  }

  /// Writes the archive to `url` atomically.
  public func write(to url: URL) throws {
    let names = arrays.keys.sorted()
    var header: [String: Any] = ["__metadata__": metadata]
    var offset = 0
    for name in names {
      let array = arrays[name]!
      let size = array.withBytes { $0.count }
      header[name] = ["dtype": array.dtype, "shape": [array.count], "data_offsets": [offset, offset + size]]
      offset += size
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var prefix = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
    prefix.append(json)
    // Straight from the arrays' memory: a multi-gigabyte replay buffer is never copied.
    try AtomicFile.write(to: url, synchronize: true) { output in
      try output.write(prefix)
      for name in names { try arrays[name]!.withBytes { try output.write($0) } }
    }
  }

  /// Reads an archive; throws `ModelFileError` naming the file and the problem.
  public static func read(from url: URL) throws -> TensorArchive {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: url.path, problem: problem) }
    if let problem = FileErrors.notARegularFile(url.path) { throw fail(problem) }
    let data: Data
    do {
      data = try Data(contentsOf: url, options: .alwaysMapped)
    } catch {
      throw fail("cannot read the file (\(FileErrors.reason(error)))")
    }
    guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, too short for a safetensors header") }
    let headerSize = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard headerSize <= UInt64(data.count - 8) else { throw fail("truncated: the header runs past the end of the file") }
    guard let header = (try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(headerSize))))) as? [String: Any]
    else { throw fail("the safetensors header is not a JSON object") }
    var archive = TensorArchive()
    archive.path = url.path
    archive.metadata = header["__metadata__"] as? [String: String] ?? [:]
    let start = 8 + Int(headerSize)
    for (name, value) in header where name != "__metadata__" {
      guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
        let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[1] >= offsets[0]
      else { throw fail("array \(name) has a malformed header entry") }
      guard start + offsets[1] <= data.count else { throw fail("truncated: array \(name) runs past the end of the file") }
      let bytes = offsets[1] - offsets[0]
      func load<T>(_ type: T.Type) throws -> [T] {
        guard bytes % MemoryLayout<T>.stride == 0 else { throw fail("array \(name): \(bytes) bytes is not a whole number of \(dtype)") }
        let count = bytes / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
          data.withUnsafeBytes { raw in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(
              from: UnsafeRawBufferPointer(rebasing: raw[(start + offsets[0])..<(start + offsets[1])]))
          }
          initialized = count
        }
      }
      switch dtype {
      case "F32": archive.arrays[name] = .float(try load(Float.self))
      case "U8": archive.arrays[name] = .bytes(try load(UInt8.self))
      case "I32": archive.arrays[name] = .int32(try load(Int32.self))
      case "I64": archive.arrays[name] = .int64(try load(Int64.self))
      default: throw fail("array \(name) has unsupported dtype \(dtype)")
      }
    }
    return archive
  }

  public func problem(_ text: String) -> ModelFileError { ModelFileError(path: path, problem: text) }

  /// The array `name` as `T` (`dtype` names it in errors), optionally of exactly `count` values.
  private func array<T>(_ name: String, _ dtype: String, count: Int?, _ extract: (ArchiveArray) -> [T]?) throws -> [T] {
    guard let stored = arrays[name], let values = extract(stored) else { throw problem("array \(name) (\(dtype)) is missing") }
    if let count, values.count != count { throw problem("array \(name) has \(values.count) values, expected \(count)") }
    return values
  }

  public func floats(_ name: String, count: Int? = nil) throws -> [Float] {
    try array(name, "F32", count: count) { if case .float(let a) = $0 { a } else { nil } }
  }

  public func bytes(_ name: String, count: Int? = nil) throws -> [UInt8] {
    try array(name, "U8", count: count) { if case .bytes(let a) = $0 { a } else { nil } }
  }

  public func int32s(_ name: String, count: Int? = nil) throws -> [Int32] {
    try array(name, "I32", count: count) { if case .int32(let a) = $0 { a } else { nil } }
  }

  public func int64s(_ name: String, count: Int? = nil) throws -> [Int64] {
    try array(name, "I64", count: count) { if case .int64(let a) = $0 { a } else { nil } }
  }

  /// Stores each tensor of `tensors` as `prefix.i`.
  public mutating func store(_ tensors: [Tensor], as prefix: String) {
    for (i, t) in tensors.enumerated() { arrays["\(prefix).\(i)"] = .float(t.scalars) }
  }

  /// Tensors stored with `store(_:as:)`, in the given shapes.
  public func tensors(_ prefix: String, shapes: [[Int]]) throws -> [Tensor] {
    try shapes.enumerated().map { i, shape in
      Tensor(shape: shape, scalars: try floats("\(prefix).\(i)", count: shape.reduce(1, *)))
    }
  }
}
