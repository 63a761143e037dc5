import Foundation
import ONNXProto
import PoPS

/// Writes TensorFlow 1 checkpoints (index table + data file) and ONNX models
/// field by field, so tests can forge hostile ones: every CRC-32C of a
/// forged TF1 index is right, so the reader gets past its checksums to the
/// fields behind them.
enum TF1Forge {
  /// One BundleEntryProto, its numbers as the raw 64-bit varints (a
  /// negative int64 is its two's complement: -1 is `UInt64.max`).
  struct Entry {
    var name: String
    var dtype: UInt64 = 1
    var dims: [UInt64]
    var shard: UInt64 = 0
    var offset: UInt64
    var size: UInt64
    var crc: UInt32?

    /// The protobuf encoding (dtype 1, shape 2 { dim 2 { size 1 } }, shard_id 3, offset 4, size 5, crc32c 6).
    var proto: [UInt8] {
      var shape: [UInt8] = []
      for dim in dims { shape += Wire.bytes(2, Wire.varint(1, dim)) }
      var out = Wire.varint(1, dtype)
      out += Wire.bytes(2, shape)
      out += Wire.varint(3, shard)
      out += Wire.varint(4, offset)
      out += Wire.varint(5, size)
      if let crc { out += [0x35] + Wire.fixed32(crc) }
      return out
    }
  }

  /// A checkpoint: the header's num_shards, the tensor entries and the data file.
  struct Checkpoint {
    var shards: UInt64 = 1
    var entries: [Entry]
    var data: [UInt8]

    /// The entries as table records (the header first, under the empty key).
    var records: [(key: [UInt8], value: [UInt8])] {
      [([], Wire.varint(1, shards))] + entries.map { (Array($0.name.utf8), $0.proto) }
    }
  }

  /// A reference-style dense teacher (4-8-2, TF kernels [in, out]), its
  /// tensors side by side in one data file, each with its CRC-32C.
  static func denseTeacher() -> Checkpoint {
    let tensors: [(String, [Int])] = [("fc_1/weights", [4, 8]), ("fc_1/biases", [8]), ("logits/weights", [8, 2]), ("logits/biases", [2])]
    var data: [UInt8] = []
    var entries: [Entry] = []
    for (i, (name, shape)) in tensors.enumerated() {
      let count = shape.reduce(1, *)
      var raw: [UInt8] = []
      for j in 0..<count { withUnsafeBytes(of: Float(Double((i * 31 + j * 7) % 13) / 13 - 0.4).bitPattern.littleEndian) { raw += $0 } }
      entries.append(
        Entry(
          name: name, dims: shape.map { UInt64($0) }, offset: UInt64(data.count), size: UInt64(raw.count),
          crc: MaskedCRC32C.masked(raw)))
      data += raw
    }
    return Checkpoint(entries: entries, data: data)
  }

  /// The table records (no shared key prefixes) as a block's entry bytes.
  static func encode(_ records: [(key: [UInt8], value: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    for (key, value) in records {
      out += Wire.raw(0)
      out += Wire.raw(UInt64(key.count))
      out += Wire.raw(UInt64(value.count))
      out += key
      out += value
    }
    return out
  }

  /// A block of `entries` (encoded records) with one restart point, or
  /// `restarts` as its restart count, its type byte and masked CRC-32C.
  static func block(_ entries: [UInt8], restarts: UInt32 = 1) -> [UInt8] {
    var out = entries
    out += Wire.fixed32(0)  // the restart point
    out += Wire.fixed32(restarts)
    out.append(0)  // no compression
    return out + Wire.fixed32(MaskedCRC32C.masked(out))
  }

  /// An index file: `blocks` (encoded records) as data blocks, an index
  /// block of their handles (each passed through `handle`, which may forge
  /// it), an empty metaindex block and the footer (its index handle passed
  /// through `footer`).
  static func index(
    _ blocks: [[UInt8]], restarts: UInt32 = 1,
    handle: (Int, UInt64, UInt64) -> [(UInt64, UInt64)] = { [($1, $2)] },
    footer: (UInt64, UInt64) -> (UInt64, UInt64) = { ($0, $1) }
  ) -> [UInt8] {
    var file: [UInt8] = []
    var handles: [(key: [UInt8], value: [UInt8])] = []
    for (i, entries) in blocks.enumerated() {
      let bytes = block(entries, restarts: restarts)
      for (offset, size) in handle(i, UInt64(file.count), UInt64(bytes.count - 5)) {
        handles.append((Array("block\(i)".utf8), Wire.raw(offset) + Wire.raw(size)))
      }
      file += bytes
    }
    let metaBlock = block([])
    let metaHandle = Wire.raw(UInt64(file.count)) + Wire.raw(UInt64(metaBlock.count - 5))
    file += metaBlock
    let indexBlock = block(encode(handles))
    let (indexOffset, indexSize) = footer(UInt64(file.count), UInt64(indexBlock.count - 5))
    file += indexBlock
    var tail = metaHandle + Wire.raw(indexOffset) + Wire.raw(indexSize)
    tail += [UInt8](repeating: 0, count: max(0, 40 - tail.count))
    return file + tail + withUnsafeBytes(of: UInt64(0xdb47_7524_8b80_fb57).littleEndian) { Array($0) }
  }

  /// The index of `checkpoint`, all its records in one data block.
  static func index(_ checkpoint: Checkpoint) -> [UInt8] { index([encode(checkpoint.records)]) }

  /// Writes `index` and `data` as `model.ckpt` in a new folder; returns the prefix.
  static func write(index: [UInt8], data: [UInt8], in folder: URL) throws -> URL {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let prefix = folder.appendingPathComponent("model.ckpt")
    try Data(index).write(to: URL(fileURLWithPath: prefix.path + ".index"))
    try Data(data).write(to: URL(fileURLWithPath: prefix.path + ".data-00000-of-00001"))
    return prefix
  }
}

/// Protobuf and LevelDB wire format, for the forges.
enum Wire {
  /// A bare varint.
  static func raw(_ value: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    var v = value
    while v >= 0x80 {
      out.append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    return out + [UInt8(v)]
  }

  /// A little-endian 32-bit word.
  static func fixed32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

  /// A varint field.
  static func varint(_ field: UInt64, _ value: UInt64) -> [UInt8] { raw(field << 3) + raw(value) }

  /// A length-delimited field.
  static func bytes(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] { raw(field << 3 | 2) + raw(UInt64(payload.count)) + payload }
}

/// CRC-32C (Castagnoli) with LevelDB's mask, as TF checkpoints store it.
enum MaskedCRC32C {
  static let table: [UInt32] = (0..<256).map { n in
    (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
  }

  static func masked(_ bytes: [UInt8]) -> UInt32 {
    let crc = ~bytes.reduce(~UInt32(0)) { table[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }
}

/// ONNX models built from the generated protobuf types.
enum ONNXForge {
  static func tensor(_ name: String, dims: [Int64], values: [Float]) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.dims = dims
    var raw = Data()
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
    t.rawData = raw
    return t
  }

  static func node(_ op: String, _ inputs: [String], _ output: String, ints: [String: [Int64]] = [:], int: [String: Int64] = [:]) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.opType = op
    n.input = inputs
    n.output = [output]
    for (name, values) in ints.sorted(by: { $0.key < $1.key }) {
      var a = Onnx_AttributeProto()
      a.name = name
      a.type = .ints
      a.ints = values
      n.attribute.append(a)
    }
    for (name, value) in int.sorted(by: { $0.key < $1.key }) {
      var a = Onnx_AttributeProto()
      a.name = name
      a.type = .int
      a.i = value
      n.attribute.append(a)
    }
    return n
  }

  /// A model whose graph input `obs` has `dims` (the batch first).
  static func model(input dims: [Int64], nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto]) -> Onnx_ModelProto {
    var shape = Onnx_TensorShapeProto()
    shape.dim = dims.map { value in
      var d = Onnx_TensorShapeProto.Dimension()
      d.dimValue = value
      return d
    }
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    tensorType.shape = shape
    var info = Onnx_ValueInfoProto()
    info.name = "obs"
    info.type.tensorType = tensorType
    var graph = Onnx_GraphProto()
    graph.input = [info]
    graph.node = nodes
    graph.initializer = initializers
    var model = Onnx_ModelProto()
    model.irVersion = 7
    model.graph = graph
    return model
  }

  /// `count` small float values.
  static func values(_ count: Int) -> [Float] { (0..<count).map { Float($0 % 7) / 7 - 0.3 } }

  /// obs [1, 4] -> Gemm(W1 [8, 4], transB) -> Relu -> Gemm(W2 [2, 8], transB).
  static func mlp() -> Onnx_ModelProto {
    model(
      input: [1, 4],
      nodes: [
        node("Gemm", ["obs", "W1", "B1"], "h", int: ["transB": 1]), node("Relu", ["h"], "r"),
        node("Gemm", ["r", "W2", "B2"], "out", int: ["transB": 1]),
      ],
      initializers: [
        tensor("W1", dims: [8, 4], values: values(32)), tensor("B1", dims: [8], values: values(8)),
        tensor("W2", dims: [2, 8], values: values(16)), tensor("B2", dims: [2], values: values(2)),
      ])
  }

  /// obs [1, 2, 6, 6] -> Conv(W [3, 2, 3, 3], B [3], `strides`, `pads`) -> Relu -> Flatten -> MatMul(W2) + Add(B2).
  static func cnn(strides: [Int64] = [1, 1], pads: [Int64] = [0, 0, 0, 0], input: [Int64] = [1, 2, 6, 6]) -> Onnx_ModelProto {
    let side: Int64 = pads == [1, 1, 1, 1] ? 6 : 4
    let features = 3 * side * side
    return model(
      input: input,
      nodes: [
        node("Conv", ["obs", "W", "B"], "c", ints: ["strides": strides, "pads": pads]), node("Relu", ["c"], "r"),
        node("Flatten", ["r"], "f"), node("MatMul", ["f", "W2"], "m"), node("Add", ["m", "B2"], "out"),
      ],
      initializers: [
        tensor("W", dims: [3, 2, 3, 3], values: values(54)), tensor("B", dims: [3], values: values(3)),
        tensor("W2", dims: [features, 2], values: values(Int(features) * 2)), tensor("B2", dims: [2], values: values(2)),
      ])
  }

  /// Writes `bytes` to a new `.onnx` file in `folder`.
  static func write(_ bytes: Data, in folder: URL, name: String = "model.onnx") throws -> URL {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name)
    try bytes.write(to: url)
    return url
  }
}
