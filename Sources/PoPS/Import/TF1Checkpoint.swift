import Foundation

/// TensorFlow 1 "V2" checkpoints (`model.ckpt.index` + `model.ckpt.data-*`),
/// as the reference implementation saves its teachers, read without
/// TensorFlow: the index is a LevelDB-style table of BundleEntryProto
/// records, the data file holds the raw tensors. Every block's and tensor's
/// CRC-32C is checked.
enum TF1Checkpoint {
  /// One tensor's record in the index.
  struct Entry {
    var dtype: Int
    var shape: [Int]
    var shard: Int
    var offset: Int
    var size: Int
    var crc: UInt32?
  }

  static let tableMagic: UInt64 = 0xdb47_7524_8b80_fb57

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
    var reader = ProtoReader(bytes: Array(bytes.suffix(48)), fail: fail)
    _ = try reader.varint()  // the metaindex handle: offset ...
    _ = try reader.varint()  // ... and size
    let indexOffset = try reader.varint(), indexSize = try reader.varint()
    var entries: [String: Entry] = [:]
    var shards = 1
    for (_, handle) in try block(bytes, offset: indexOffset, size: indexSize, fail: fail) {
      var h = ProtoReader(bytes: handle, fail: fail)
      let offset = try h.varint(), size = try h.varint()
      for (key, value) in try block(bytes, offset: offset, size: size, fail: fail) {
        let name = String(decoding: key, as: UTF8.self)
        let fields = try ProtoReader.fields(value, fail: fail)
        if name.isEmpty {  // BundleHeaderProto
          shards = Int(fields[1]?.first?.number ?? 1)
          if (fields[2]?.first?.number ?? 0) != 0 { throw fail("a big-endian checkpoint is not supported") }
          continue
        }
        if fields[7] != nil { throw fail("tensor \(name) is stored in slices, which is not supported") }
        var shape: [Int] = []
        if let shapeBytes = fields[2]?.first?.bytes {
          for dim in try ProtoReader.fields(shapeBytes, fail: fail)[2] ?? [] {
            shape.append(Int(try ProtoReader.fields(dim.bytes ?? [], fail: fail)[1]?.first?.number ?? 0))
          }
        }
        entries[name] = Entry(
          dtype: Int(fields[1]?.first?.number ?? 0), shape: shape, shard: Int(fields[3]?.first?.number ?? 0),
          offset: Int(fields[4]?.first?.number ?? 0), size: Int(fields[5]?.first?.number ?? 0),
          crc: fields[6]?.first?.number.map { UInt32(truncatingIfNeeded: $0) })
      }
    }
    // The data shards beside the index.
    let prefix = indexPath.hasSuffix(".index") ? String(indexPath.dropLast(6)) : indexPath
    var shardData: [Int: [UInt8]] = [:]
    func shardPath(_ shard: Int) -> String { prefix + String(format: ".data-%05d-of-%05d", shard, shards) }
    var result: [String: Tensor] = [:]
    for (name, entry) in entries where entry.dtype == 1 {  // DT_FLOAT; other dtypes (step counters) are skipped
      guard entry.shard >= 0, entry.shard < shards else { throw fail("tensor \(name) names shard \(entry.shard) of \(shards)") }
      if shardData[entry.shard] == nil {
        guard let shard = FileManager.default.contents(atPath: shardPath(entry.shard)) else {
          throw ModelFileError(path: shardPath(entry.shard), problem: "cannot read the checkpoint's data file")
        }
        shardData[entry.shard] = [UInt8](shard)
      }
      let shard = shardData[entry.shard]!
      let count = entry.shape.reduce(1) { $0.multipliedReportingOverflow(by: max($1, 0)).overflow ? -1 : $0 * max($1, 0) }
      guard count >= 0, entry.size == count * 4, entry.offset >= 0, entry.offset <= shard.count - entry.size else {
        throw fail("tensor \(name) (\(entry.shape)) does not fit the data file (offset \(entry.offset), \(entry.size) bytes)")
      }
      let raw = shard[entry.offset..<entry.offset + entry.size]
      if let crc = entry.crc, CRC32C.masked(raw) != crc {
        throw ModelFileError(path: shardPath(entry.shard), problem: "tensor \(name): CRC-32C mismatch, the data file is corrupt")
      }
      let scalars = raw.withUnsafeBytes { p in
        (0..<count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
      }
      if let bad = scalars.firstIndex(where: { !$0.isFinite }) { throw fail("tensor \(name) holds a non-finite value at index \(bad)") }
      result[name] = Tensor(shape: entry.shape, scalars: scalars)
    }
    return result
  }

  /// The key-value entries of one table block, its CRC checked.
  private static func block(
    _ bytes: [UInt8], offset: UInt64, size: UInt64, fail: @escaping (String) -> ModelFileError
  ) throws -> [([UInt8], [UInt8])] {
    guard offset <= UInt64(bytes.count), size + 5 <= UInt64(bytes.count) - offset else { throw fail("a table block lies outside the file") }
    let start = Int(offset), end = start + Int(size)
    guard bytes[end] == 0 else { throw fail("a compressed table block (type \(bytes[end])) is not supported") }
    let stored = UInt32(bytes[end + 1]) | UInt32(bytes[end + 2]) << 8 | UInt32(bytes[end + 3]) << 16 | UInt32(bytes[end + 4]) << 24
    guard CRC32C.masked(bytes[start...end]) == stored else { throw fail("a table block fails its CRC-32C: the index is corrupt") }
    guard size >= 4 else { throw fail("a table block is too short") }
    let restarts = Int(UInt32(bytes[end - 4]) | UInt32(bytes[end - 3]) << 8 | UInt32(bytes[end - 2]) << 16 | UInt32(bytes[end - 1]) << 24)
    guard restarts <= (Int(size) - 4) / 4 else { throw fail("a table block has a bad restart count") }
    var reader = ProtoReader(bytes: Array(bytes[start..<(end - 4 - 4 * restarts)]), fail: fail)
    var key: [UInt8] = []
    var entries: [([UInt8], [UInt8])] = []
    while !reader.atEnd {
      let shared = Int(try reader.varint()), unshared = Int(try reader.varint()), valueLength = Int(try reader.varint())
      guard shared <= key.count else { throw fail("a table entry shares more than its previous key") }
      key = Array(key[..<shared]) + (try reader.take(unshared))
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
      case 2: field = Field(number: nil, bytes: try reader.take(Int(try reader.varint())))
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
