import Foundation
import PoPSCore

/// TensorFlow 1 "V2" checkpoints (`model.ckpt.index` + `model.ckpt.data-*`),
/// as the reference implementation saves its teachers, read without
/// TensorFlow: the index is a LevelDB-style table of BundleEntryProto
/// records, the data file holds the raw tensors. Every block's and tensor's
/// CRC-32C is checked. Every number read from the files is checked before
/// use: block handles against the index's size, tensor offsets and sizes
/// against the data file's, shapes against `ImportLimits`, so a forged file
/// is an error naming the file and the field, never a trap.
enum TF1Checkpoint {
  /// One tensor's record in the index.
  struct Entry {
    var dtype: UInt64
    var shape: [Int]
    var count: Int
    var shard: Int
    var offset: Int
    var size: Int
    var crc: UInt32?
  }

  static let tableMagic: UInt64 = 0xdb47_7524_8b80_fb57
  /// The most data shards a checkpoint may have: TF names them `.data-%05d-of-%05d`.
  static let maximumShards = 99_999
  /// The TF DataType of float32 (DT_FLOAT), the only one imported.
  static let float32: UInt64 = 1

  /// True when `data` ends like a TF checkpoint index (an SSTable footer).
  static func looksLikeIndex(_ data: Data) -> Bool {
    guard data.count >= 48 else { return false }
    return data.suffix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } == tableMagic
  }

  /// The index file of a checkpoint given as its prefix or its `.index` path.
  static func indexURL(_ url: URL) -> URL {
    url.pathExtension == "index" ? url : URL(fileURLWithPath: url.path + ".index")
  }

  /// The float32 tensors of the checkpoint, by TF name.
  static func tensors(index data: Data, indexPath: String) throws -> [String: Tensor] {
    let fail = { (problem: String) in ModelFileError(path: indexPath, problem: problem) }
    let bytes = [UInt8](data)
    guard looksLikeIndex(data) else { throw fail("not a TensorFlow checkpoint index (no table footer)") }
    var footer = ProtoReader(bytes: Array(bytes.suffix(48)), fail: fail)
    _ = try footer.varint()  // the metaindex handle: offset ...
    _ = try footer.varint()  // ... and size
    let indexOffset = try footer.varint(), indexSize = try footer.varint()
    var entries: [String: Entry] = [:]
    var shards = 1
    // The data blocks lie in order, each after the one before: a block listed
    // twice or overlapping another (each re-read in full) is refused.
    var nextBlock: UInt64 = 0
    let indexBlock = try block(bytes, offset: indexOffset, size: indexSize, what: "the footer's index block handle", fail: fail)
    for (key, handle) in indexBlock {
      var h = ProtoReader(bytes: handle, fail: fail)
      let offset = try h.varint(), size = try h.varint()
      let what = "the data block handle of index key '\(String(decoding: key, as: UTF8.self))'"
      guard offset >= nextBlock else { throw fail("\(what) (offset \(offset)) overlaps the data block before it") }
      for (key, value) in try block(bytes, offset: offset, size: size, what: what, fail: fail) {
        let name = String(decoding: key, as: UTF8.self)
        let fields = try ProtoReader.fields(value, fail: fail)
        if name.isEmpty {  // BundleHeaderProto
          shards = try number(fields[1], default: 1, in: 1...maximumShards, "the header's num_shards", fail: fail)
          if (fields[2]?.first?.number ?? 0) != 0 { throw fail("a big-endian checkpoint is not supported") }
          continue
        }
        entries[name] = try entry(name, fields, fail: fail)
      }
      nextBlock = offset + size + 5  // block() checked that the block and its trailer lie in the file
    }
    return try read(entries, shards: shards, indexPath: indexPath, fail: fail)
  }

  /// One BundleEntryProto: dtype 1, shape 2, shard_id 3, offset 4, size 5,
  /// crc32c 6, slices 7.
  private static func entry(_ name: String, _ fields: [Int: [ProtoReader.Field]], fail: @escaping (String) -> ModelFileError) throws -> Entry {
    if fields[7] != nil { throw fail("tensor \(name) is stored in slices, which is not supported") }
    var shape: [Int] = []
    if let shapeBytes = fields[2]?.first?.bytes {
      // TensorShapeProto: dim 2 { size 1 }.
      for dim in try ProtoReader.fields(shapeBytes, fail: fail)[2] ?? [] {
        let size = try ProtoReader.fields(dim.bytes ?? [], fail: fail)[1]?.first?.number ?? 0
        shape.append(ImportLimits.signed(size))
      }
    }
    if let problem = ImportLimits.shapeProblem(shape) { throw fail("tensor \(name): shape \(shape): \(problem)") }
    let nonNegative = 0...Int.max
    return Entry(
      dtype: fields[1]?.first?.number ?? 0, shape: shape, count: ImportLimits.elementCount(shape) ?? 0,
      shard: try number(fields[3], default: 0, in: 0...maximumShards, "tensor \(name): shard_id", fail: fail),
      offset: try number(fields[4], default: 0, in: nonNegative, "tensor \(name): offset", fail: fail),
      size: try number(fields[5], default: 0, in: nonNegative, "tensor \(name): size", fail: fail),
      crc: fields[6]?.first?.number.map { UInt32(truncatingIfNeeded: $0) })
  }

  /// The first value of an int32/int64 field, checked to lie in `range`.
  private static func number(
    _ field: [ProtoReader.Field]?, default value: Int, in range: ClosedRange<Int>, _ what: String,
    fail: (String) -> ModelFileError
  ) throws -> Int {
    guard let raw = field?.first?.number else { return value }
    let number = ImportLimits.signed(raw)
    guard range.contains(number) else { throw fail("\(what) is \(number) (must be in \(range.lowerBound)...\(range.upperBound))") }
    return number
  }

  /// The float32 tensors of `entries`, read from the data shards beside the
  /// index; other dtypes (step counters) are skipped.
  private static func read(
    _ entries: [String: Entry], shards: Int, indexPath: String, fail: (String) -> ModelFileError
  ) throws -> [String: Tensor] {
    let prefix = indexPath.hasSuffix(".index") ? String(indexPath.dropLast(6)) : indexPath
    func shardPath(_ shard: Int) -> String { prefix + String(format: ".data-%05d-of-%05d", shard, shards) }
    var shardData: [Int: [UInt8]] = [:]
    // The bytes the float tensors take in each shard: tensors lie side by
    // side, so together they fit the shard once (no tensor re-read many times).
    var used: [Int: Int] = [:]
    var result: [String: Tensor] = [:]
    for (name, entry) in entries.sorted(by: { $0.key < $1.key }) where entry.dtype == float32 {
      guard entry.shard < shards else { throw fail("tensor \(name): shard_id \(entry.shard) is not below num_shards \(shards)") }
      let path = shardPath(entry.shard)
      if shardData[entry.shard] == nil {
        if let problem = FileErrors.notARegularFile(path) { throw ModelFileError(path: path, problem: problem) }
        guard let shard = FileManager.default.contents(atPath: path) else {
          throw ModelFileError(path: path, problem: "cannot read the checkpoint's data file")
        }
        shardData[entry.shard] = [UInt8](shard)
      }
      let shard = shardData[entry.shard] ?? []
      guard entry.size == entry.count * 4 else {
        throw fail("tensor \(name): size \(entry.size) is not the \(entry.count * 4) bytes of \(entry.count) float32 values of shape \(entry.shape)")
      }
      guard entry.offset <= shard.count, entry.size <= shard.count - entry.offset else {
        throw fail("tensor \(name): offset \(entry.offset) and size \(entry.size) lie outside the \(shard.count)-byte data file \(path)")
      }
      let total = used[entry.shard, default: 0] + entry.size
      guard total <= shard.count else {
        throw fail("tensor \(name): the float tensors of shard \(entry.shard) take more than the \(shard.count)-byte data file \(path): they overlap")
      }
      used[entry.shard] = total
      let raw = shard[entry.offset..<entry.offset + entry.size]
      if let crc = entry.crc, CRC32C.masked(raw) != crc {
        throw ModelFileError(path: path, problem: "tensor \(name): CRC-32C mismatch, the data file is corrupt")
      }
      let scalars = raw.withUnsafeBytes { p in
        (0..<entry.count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
      }
      if let bad = scalars.firstIndex(where: { !$0.isFinite }) { throw fail("tensor \(name) holds a non-finite value at index \(bad)") }
      result[name] = Tensor(shape: entry.shape, scalars: scalars)
    }
    return result
  }

  /// The key-value entries of one table block, its CRC checked. `what`
  /// names the handle in errors.
  private static func block(
    _ bytes: [UInt8], offset: UInt64, size: UInt64, what: String, fail: @escaping (String) -> ModelFileError
  ) throws -> [([UInt8], [UInt8])] {
    // Compared without sums, so no handle (up to 2^64 - 1) can overflow: the block and its 5-byte trailer lie in the file.
    let fileSize = UInt64(bytes.count)
    guard offset <= fileSize, size <= fileSize - offset, fileSize - offset - size >= 5 else {
      throw fail("\(what) (offset \(offset), size \(size)) lies outside the \(bytes.count)-byte index")
    }
    let start = Int(offset), end = start + Int(size)
    guard bytes[end] == 0 else { throw fail("a compressed table block (type \(bytes[end])) is not supported") }
    let stored = UInt32(bytes[end + 1]) | UInt32(bytes[end + 2]) << 8 | UInt32(bytes[end + 3]) << 16 | UInt32(bytes[end + 4]) << 24
    guard CRC32C.masked(bytes[start...end]) == stored else { throw fail("a table block fails its CRC-32C: the index is corrupt") }
    guard size >= 4 else { throw fail("\(what): the block is too short (\(size) bytes)") }
    let restarts = Int(UInt32(bytes[end - 4]) | UInt32(bytes[end - 3]) << 8 | UInt32(bytes[end - 2]) << 16 | UInt32(bytes[end - 1]) << 24)
    guard restarts <= (Int(size) - 4) / 4 else { throw fail("\(what): the block's restart count \(restarts) does not fit its \(size) bytes") }
    var reader = ProtoReader(bytes: Array(bytes[start..<(end - 4 - 4 * restarts)]), fail: fail)
    var key: [UInt8] = []
    var entries: [([UInt8], [UInt8])] = []
    while !reader.atEnd {
      let shared = try reader.varint()
      guard shared <= UInt64(key.count) else { throw fail("\(what): a table entry shares \(shared) bytes of a \(key.count)-byte previous key") }
      let unshared = try reader.length("\(what): a table entry's key length"), valueLength = try reader.length("\(what): a table entry's value length")
      key = Array(key[..<Int(shared)]) + (try reader.take(unshared))
      entries.append((key, try reader.take(valueLength)))
    }
    return entries
  }
}

/// Reads protobuf wire format and LevelDB varints.
struct ProtoReader {
  struct Field {
    var number: UInt64?
    var bytes: [UInt8]?
  }

  let bytes: [UInt8]
  let fail: (String) -> ModelFileError
  private var position = 0

  init(bytes: [UInt8], fail: @escaping (String) -> ModelFileError) {
    self.bytes = bytes
    self.fail = fail
  }

  var atEnd: Bool { position >= bytes.count }

  mutating func varint() throws -> UInt64 {
    var value: UInt64 = 0
    for shift in stride(from: 0, to: 64, by: 7) {
      guard position < bytes.count else { throw fail("truncated varint") }
      let byte = bytes[position]
      position += 1
      value |= UInt64(byte & 0x7F) << UInt64(shift)
      if byte < 0x80 { return value }
    }
    throw fail("a varint longer than 10 bytes")
  }

  /// A varint byte count, checked to fit the bytes left (so no count, up to
  /// 2^64 - 1, reaches `Int` conversion or an allocation unchecked); `what`
  /// names it in the error.
  mutating func length(_ what: @autoclosure () -> String) throws -> Int {
    let n = try varint()
    let left = bytes.count - position
    guard n <= UInt64(left) else { throw fail("\(what()) is \(n) bytes, but only \(left) are left") }
    return Int(n)
  }

  mutating func take(_ n: Int) throws -> [UInt8] {
    guard n >= 0, n <= bytes.count - position else { throw fail("truncated record (\(n) bytes wanted)") }
    defer { position += n }
    return Array(bytes[position..<position + n])
  }

  /// A message's fields by number (varint, fixed32, fixed64 and length-delimited).
  static func fields(_ bytes: [UInt8], fail: @escaping (String) -> ModelFileError) throws -> [Int: [Field]] {
    var reader = ProtoReader(bytes: bytes, fail: fail)
    var fields: [Int: [Field]] = [:]
    while !reader.atEnd {
      let tag = try reader.varint()
      let field: Field
      switch tag & 7 {
      case 0: field = Field(number: try reader.varint(), bytes: nil)
      case 1: field = Field(number: try reader.take(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, bytes: nil)
      case 5: field = Field(number: try reader.take(4).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, bytes: nil)
      case 2: field = Field(number: nil, bytes: try reader.take(try reader.length("protobuf field \(tag >> 3)'s length")))
      default: throw fail("unsupported protobuf wire type \(tag & 7)")
      }
      fields[Int(tag >> 3), default: []].append(field)
    }
    return fields
  }
}

/// CRC-32C (Castagnoli) with LevelDB's masking, as TF checkpoints and
/// TFRecord files (TensorBoard's event files) store it.
enum CRC32C {
  private static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }

  static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    let crc = checksum(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }
}
