import Foundation
import ONNXProto
import PoPS
import Testing

/// Forged TF1 checkpoints and ONNX models, one per way a file's numbers
/// used to trap the readers (`Int(UInt64)` of a -1, `size + 5` overflowing,
/// element counts overflowing, a zero stride dividing, pads indexing a 1-D
/// shape, a huge dimension allocating terabytes): each is now an error that
/// names the file and the field.
struct TF1ONNXHostileTests {
  /// A fresh folder under the temporary directory.
  static func folder() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("pops-tf1onnx-\(UUID().uuidString)")
  }

  /// The error importing a forged checkpoint gives ("" and an issue if none).
  static func tf1Error(index: [UInt8], data: [UInt8]) throws -> String {
    let folder = folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let prefix = try TF1Forge.write(index: index, data: data, in: folder)
    return ImportFixtures.error { _ = try TeacherImport.load(prefix) }
  }

  /// The error importing a forged ONNX model gives.
  static func onnxError(_ bytes: Data, format: ImportFormat = .auto) throws -> String {
    let folder = folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = try ONNXForge.write(bytes, in: folder)
    return ImportFixtures.error { _ = try TeacherImport.load(url, options: ImportOptions(format: format)) }
  }

  @Test func theForgedCheckpointAndModelsImport() throws {
    let teacher = TF1Forge.denseTeacher()
    let folder = Self.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let prefix = try TF1Forge.write(index: TF1Forge.index(teacher), data: teacher.data, in: folder)
    #expect(try TeacherImport.load(prefix).model.network.architecture.summary == "4-8-2")
    let mlp = try ONNXForge.write(try ONNXForge.mlp().serializedData(), in: folder, name: "mlp.onnx")
    #expect(try TeacherImport.load(mlp).model.network.architecture.summary == "4-8-2")
    let cnn = try ONNXForge.write(try ONNXForge.cnn().serializedData(), in: folder, name: "cnn.onnx")
    #expect(try TeacherImport.load(cnn).model.network.architecture.summary == "2x6x6-c3k3s1-2")
    // A MatMul without an Add after it: a layer with a zero bias, and the chain goes on from it.
    let matMul = ONNXForge.model(
      input: [1, 4], nodes: [ONNXForge.node("MatMul", ["obs", "W"], "m"), ONNXForge.node("Relu", ["m"], "out")],
      initializers: [ONNXForge.tensor("W", dims: [4, 2], values: ONNXForge.values(8))])
    let noBias = try TeacherImport.load(try ONNXForge.write(try matMul.serializedData(), in: folder, name: "matmul.onnx"))
    #expect(noBias.model.network.architecture.summary == "4-2" && noBias.source.mapping == ["W", "(zero bias)"])
  }

  // MARK: TF1

  /// -1 and 2^63 in an int64 field (once `Int(UInt64)`, a trap).
  @Test(arguments: ["shape", "shard_id", "offset", "size", "num_shards"])
  func anInt64FieldOfMinusOneOrTwoToThe63IsAnError(_ field: String) throws {
    for (value, text) in [(UInt64.max, "-1"), (UInt64(1) << 63, "-9223372036854775808")] {
      var teacher = TF1Forge.denseTeacher()
      let expected: String
      switch field {
      case "shape":
        teacher.entries[0].dims[0] = value
        expected = "tensor fc_1/weights: shape [\(text), 8]: dimension 0 is \(text)"
      case "shard_id":
        teacher.entries[0].shard = value
        expected = "tensor fc_1/weights: shard_id is \(text)"
      case "offset":
        teacher.entries[0].offset = value
        expected = "tensor fc_1/weights: offset is \(text)"
      case "size":
        teacher.entries[0].size = value
        expected = "tensor fc_1/weights: size is \(text)"
      default:
        teacher.shards = value
        expected = "the header's num_shards is \(text)"
      }
      let error = try Self.tf1Error(index: TF1Forge.index(teacher), data: teacher.data)
      #expect(error.contains("model.ckpt.index: \(expected)"), "\(error)")
    }
  }

  /// A shape whose element count overflows (once `count * 4`, a trap).
  @Test func aShapeTooLargeToCountIsAnError() throws {
    var teacher = TF1Forge.denseTeacher()
    teacher.entries[0].dims = [1 << 31, 1 << 31]
    let error = try Self.tf1Error(index: TF1Forge.index(teacher), data: teacher.data)
    #expect(error.contains("model.ckpt.index: tensor fc_1/weights: shape [2147483648, 2147483648]: dimension 0 is 2147483648"), "\(error)")
    teacher.entries[0].dims = [1 << 24, 1 << 24, 16]
    let product = try Self.tf1Error(index: TF1Forge.index(teacher), data: teacher.data)
    #expect(product.contains("model.ckpt.index: tensor fc_1/weights: shape [16777216, 16777216, 16]: more than 2147483648 values"), "\(product)")
  }

  /// A block handle of size 2^64 - 1 (once `size + 5`, an overflow trap),
  /// in the footer and in the (CRC-checked) index block.
  @Test func aBlockHandleOfSizeTwoToThe64IsAnError() throws {
    let teacher = TF1Forge.denseTeacher()
    let records = [TF1Forge.encode(teacher.records)]
    let footer = try Self.tf1Error(index: TF1Forge.index(records, footer: { offset, _ in (offset, .max) }), data: teacher.data)
    #expect(footer.contains("model.ckpt.index: the footer's index block handle (offset"), "\(footer)")
    #expect(footer.contains("size 18446744073709551615) lies outside the"), "\(footer)")
    let data = try Self.tf1Error(index: TF1Forge.index(records, handle: { _, offset, _ in [(offset, .max)] }), data: teacher.data)
    #expect(data.contains("model.ckpt.index: the data block handle of index key 'block0' (offset 0, size 18446744073709551615) lies outside"), "\(data)")
  }

  /// A table entry whose value length is 2^64 - 1 (once `Int(UInt64)`).
  @Test func aTableEntryLengthOfTwoToThe64IsAnError() throws {
    let entry = Wire.raw(0) + Wire.raw(1) + Wire.raw(.max) + [0x41]
    let error = try Self.tf1Error(index: TF1Forge.index([entry]), data: [])
    #expect(error.contains("model.ckpt.index: the data block handle of index key 'block0': a table entry's value length is 18446744073709551615 bytes"), "\(error)")
  }

  /// A protobuf field length of 2^63 in an entry (once `Int(UInt64)`).
  @Test func aProtobufLengthOfTwoToThe63IsAnError() throws {
    let record = TF1Forge.encode([(Array("fc_1/weights".utf8), [0x12] + Wire.raw(1 << 63))])
    let error = try Self.tf1Error(index: TF1Forge.index([record]), data: [])
    #expect(error.contains("model.ckpt.index: protobuf field 2's length is 9223372036854775808 bytes, but only 0 are left"), "\(error)")
  }

  /// One data block listed over and over (each re-read in full: quadratic work).
  @Test func aDataBlockListedTwiceIsAnError() throws {
    let teacher = TF1Forge.denseTeacher()
    let index = TF1Forge.index([TF1Forge.encode(teacher.records)], handle: { _, offset, size in [(offset, size), (offset, size)] })
    let error = try Self.tf1Error(index: index, data: teacher.data)
    #expect(error.contains("model.ckpt.index: the data block handle of index key 'block0' (offset 0) overlaps the data block before it"), "\(error)")
  }

  /// Many tensors over the same bytes (each copied: an allocation many times the data file).
  @Test func tensorsOverlappingInTheDataFileAreAnError() throws {
    var teacher = TF1Forge.denseTeacher()
    for i in 0..<3 {
      var copy = teacher.entries[0]
      copy.name = "copy_\(i)"
      teacher.entries.append(copy)
    }
    let error = try Self.tf1Error(index: TF1Forge.index(teacher), data: teacher.data)
    #expect(error.contains("model.ckpt.index: tensor "), "\(error)")
    #expect(error.contains("the float tensors of shard 0 take more than the 232-byte data file"), "\(error)")
  }

  // MARK: ONNX

  /// A negative initializer dimension (once a `Tensor` precondition trap).
  @Test func aNegativeInitializerDimensionIsAnError() throws {
    var model = ONNXForge.mlp()
    model.graph.initializer[0] = ONNXForge.tensor("W1", dims: [-1, 4], values: [])
    let error = try Self.onnxError(try model.serializedData())
    #expect(error.contains("model.onnx: tensor W1: dims [-1, 4]: dimension 0 is -1"), "\(error)")
  }

  /// A MatMul weight of [0, 2^40] (once a zero bias of 2^40 floats: "failed to allocate").
  @Test func aHugeMatMulWeightIsRefusedBeforeAllocating() throws {
    var model = ONNXForge.cnn()
    model.graph.initializer[2] = ONNXForge.tensor("W2", dims: [0, 1 << 40], values: [])
    let error = try Self.onnxError(try model.serializedData())
    #expect(error.contains("model.onnx: tensor W2: dims [0, 1099511627776]: dimension 1 is 1099511627776"), "\(error)")
    // Within the bounds but empty: no zero bias is made for it.
    model.graph.initializer[2] = ONNXForge.tensor("W2", dims: [0, 1 << 24], values: [])
    let empty = try Self.onnxError(try model.serializedData())
    #expect(empty.contains("model.onnx: MatMul W2 has shape [0, 16777216]"), "\(empty)")
  }

  /// An observation dimension of -1 (once `Int(UInt64)`) or 2^40 (once an overflowing product).
  @Test func aNegativeOrHugeInputDimensionIsAnError() throws {
    var model = ONNXForge.mlp()
    model.graph.input[0].type.tensorType.shape.dim[1].dimValue = -1
    let negative = try Self.onnxError(try model.serializedData())
    #expect(negative.contains("model.onnx: the observation obs's shape [-1] is not fixed"), "\(negative)")
    let huge = ONNXForge.cnn(input: [1, 1 << 40, 1 << 40, 1 << 40])
    let error = try Self.onnxError(try huge.serializedData())
    #expect(error.contains("model.onnx: the observation obs's shape [1099511627776, 1099511627776, 1099511627776]: dimension 0 is"), "\(error)")
  }

  /// A zero Conv stride (once a division by zero computing the output shape).
  @Test func aZeroConvStrideIsAnError() throws {
    let error = try Self.onnxError(try ONNXForge.cnn(strides: [0, 0]).serializedData())
    #expect(error.contains("model.onnx: Conv W: strides [0, 0] must be two sizes in 1...16777216"), "\(error)")
  }

  /// Conv pads on a 1-D input (once an index out of range).
  @Test func convPadsOnAFlatInputAreAnError() throws {
    var model = ONNXForge.cnn(pads: [1, 1, 1, 1], input: [1, 2])
    model.graph.initializer[0] = ONNXForge.tensor("W", dims: [3, 2, 1, 1], values: ONNXForge.values(6))
    let error = try Self.onnxError(try model.serializedData())
    #expect(error.contains("model.onnx: Conv W needs a [channels, height, width] input, the layer before gives [2]"), "\(error)")
  }

  /// A Conv with no weight input (once an index out of range).
  @Test func aConvWithoutItsWeightIsAnError() throws {
    var model = ONNXForge.cnn()
    model.graph.node[0].input = ["obs"]
    let error = try Self.onnxError(try model.serializedData())
    #expect(error.contains("model.onnx: Conv needs a second input (its constant) but has 1"), "\(error)")
  }

  /// A Conv bias of the wrong size (once a `Network` precondition trap).
  @Test func aConvBiasOfTheWrongSizeIsAnError() throws {
    var model = ONNXForge.cnn()
    model.graph.initializer[1] = ONNXForge.tensor("B", dims: [4], values: ONNXForge.values(4))
    let error = try Self.onnxError(try model.serializedData())
    #expect(error.contains("model.onnx: the bias B has 4 values for 3 channels"), "\(error)")
  }

  /// One weight used by many layers (each a copy: parameters many times the file).
  @Test func aWeightSharedByTwoLayersIsAnError() throws {
    var nodes = [ONNXForge.node("Gemm", ["obs", "W", "B"], "h0")]
    for i in 1..<50 { nodes += [ONNXForge.node("Relu", ["h\(i - 1)"], "r\(i)"), ONNXForge.node("Gemm", ["r\(i)", "W", "B"], "h\(i)")] }
    let model = ONNXForge.model(
      input: [1, 4], nodes: nodes,
      initializers: [ONNXForge.tensor("W", dims: [4, 4], values: ONNXForge.values(16)), ONNXForge.tensor("B", dims: [4], values: ONNXForge.values(4))])
    let error = try Self.onnxError(try model.serializedData())
    #expect(error.contains("model.onnx: Gemm uses W, which an earlier layer uses"), "\(error)")
  }

  /// A protobuf length of 2^63 (once `Int(UInt64)`, even while detecting the format).
  @Test func aProtobufLengthOfTwoToThe63InAModelIsAnError() throws {
    let bytes = Data([0x08, 0x07, 0x3A] + Wire.raw(1 << 63))
    let detected = try Self.onnxError(bytes)
    #expect(detected.contains("model.onnx: not a format pops can import"), "\(detected)")
    let error = try Self.onnxError(bytes, format: .onnx)
    #expect(error.contains("model.onnx: protobuf field 7's length is 9223372036854775808 bytes, but only 0 are left"), "\(error)")
  }
}
