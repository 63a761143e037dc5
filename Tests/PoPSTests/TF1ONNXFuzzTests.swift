import Foundation
import ONNXProto
import PoPS
import Testing

/// A seeded fuzzer for the TF1 checkpoint and ONNX readers, on the seed and
/// iteration count of `FuzzTests` (`make fuzz` runs it longer). Raw byte
/// mutations (`FuzzTests.mutate`) mostly die at a TF1 index's CRC-32C, so
/// most iterations mutate decoded fields instead (dims, offsets, sizes,
/// shard counts, block handles, restart counts; ONNX dims, raw_data
/// lengths, strides, pads, inputs, ops) and re-encode the file, CRCs right,
/// so the logic behind the checksums is reached. Any outcome but a load or a
/// `ModelFileError` (a trap, a crash) fails the suite.
struct TF1ONNXFuzzTests {
  /// 64-bit field values at the edges: -1, 2^63, sizes around the data file's 232 bytes, the import bounds.
  static let extremes: [UInt64] = [
    0, 1, 2, 4, 8, 32, 128, 231, 232, 233, 1 << 24, (1 << 24) + 1, 1 << 31, 1 << 32, 1 << 62, 1 << 63, .max, .max - 3,
  ]

  static func value(_ rng: inout SeededGenerator) -> UInt64 {
    rng.index(below: 3) == 0 ? UInt64(rng.index(below: 300)) : extremes[rng.index(below: extremes.count)]
  }

  static func signedValue(_ rng: inout SeededGenerator) -> Int64 { Int64(bitPattern: value(&rng)) }

  /// Imports `url`: true when it loaded (and ran), false when refused with
  /// a ModelFileError; an issue for any other error. `pastCRC` counts the
  /// refusals that were not checksum failures.
  static func load(_ url: URL, iteration: Int, pastCRC: inout Int) -> Bool {
    do {
      let model = try TeacherImport.load(url).model
      _ = model.network.predict([Float](repeating: 0.5, count: model.network.architecture.inputCount))
      return true
    } catch let error as ModelFileError {
      if !error.problem.contains("CRC-32C") { pastCRC += 1 }
      return false
    } catch {
      Issue.record("iteration \(iteration): an error that is not a ModelFileError: \(error)")
      return false
    }
  }

  @Test func theTF1ReaderOnlyReturnsOrThrows() throws {
    var rng = SeededGenerator(seed: FuzzTests.seed &+ 2)
    let folder = TF1ONNXHostileTests.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var refused = 0, pastCRC = 0
    for i in 0..<FuzzTests.iterations {
      var teacher = TF1Forge.denseTeacher()
      var records: [(key: [UInt8], value: [UInt8])]?
      var (restarts, split, duplicate, rawIndex) = (UInt32(1), false, false, false)
      var handle: (offset: UInt64?, size: UInt64?) = (nil, nil)
      var footer: (offset: UInt64?, size: UInt64?) = (nil, nil)
      var data = teacher.data
      for _ in 0..<(1 + rng.index(below: 2)) {
        let e = rng.index(below: teacher.entries.count)
        switch rng.index(below: 12) {
        case 0: teacher.entries[e].dtype = Self.value(&rng)
        case 1:
          if teacher.entries[e].dims.isEmpty || rng.index(below: 4) == 0 {
            teacher.entries[e].dims.append(Self.value(&rng))
          } else {
            teacher.entries[e].dims[rng.index(below: teacher.entries[e].dims.count)] = Self.value(&rng)
          }
        case 2: teacher.entries[e].shard = Self.value(&rng)
        case 3: teacher.entries[e].offset = Self.value(&rng)
        case 4: teacher.entries[e].size = Self.value(&rng)
        case 5: teacher.shards = Self.value(&rng)
        case 6:
          // A copy of an entry (the same bytes read twice), or one left out.
          if rng.index(below: 2) == 0 {
            var copy = teacher.entries[e]
            copy.name += "_\(rng.index(below: 3))"
            teacher.entries.append(copy)
          } else {
            teacher.entries.remove(at: e)
          }
        case 7:
          // An entry's protobuf or key mutated as bytes, before the block's CRC.
          var list = records ?? teacher.records
          let r = rng.index(below: list.count)
          if rng.index(below: 4) == 0 {
            list[r].key = FuzzTests.mutate(list[r].key, using: &rng)
          } else {
            list[r].value = FuzzTests.mutate(list[r].value, using: &rng)
          }
          records = list
        case 8:
          if rng.index(below: 2) == 0 { handle.offset = Self.value(&rng) } else { handle.size = Self.value(&rng) }
          duplicate = rng.index(below: 4) == 0
        case 9:
          if rng.index(below: 2) == 0 { footer.offset = Self.value(&rng) } else { footer.size = Self.value(&rng) }
        case 10:
          restarts = rng.index(below: 2) == 0 ? UInt32(truncatingIfNeeded: Self.value(&rng)) : UInt32(rng.index(below: 8))
          split = rng.index(below: 2) == 0
        default:
          if rng.index(below: 2) == 0 { data = FuzzTests.mutate(data, using: &rng) } else { rawIndex = true }
        }
      }
      let all = TF1Forge.encode(records ?? teacher.records)
      let cut = split ? rng.index(below: all.count + 1) : all.count
      let blocks = split ? [Array(all[..<cut]), Array(all[cut...])] : [all]
      var index = TF1Forge.index(
        blocks, restarts: restarts,
        handle: { _, offset, size in
          let h = (handle.offset ?? offset, handle.size ?? size)
          return duplicate ? [h, h] : [h]
        },
        footer: { offset, size in (footer.offset ?? offset, footer.size ?? size) })
      if rawIndex { index = FuzzTests.mutate(index, using: &rng) }
      let prefix = try TF1Forge.write(index: index, data: data, in: folder)
      if !Self.load(prefix, iteration: i, pastCRC: &pastCRC) { refused += 1 }
    }
    #expect(refused > FuzzTests.iterations / 2, "the mutations hardly change anything: \(refused) refused")
    #expect(pastCRC > FuzzTests.iterations / 3, "too few mutations get past the CRCs: \(pastCRC)")
  }

  /// Valid models: an MLP, a CNN (valid and TF-same padding) and pops'
  /// export of a uint8-frame CNN (Cast, Mul, Gemm with transB, ArgMax).
  static func validModels() throws -> [Onnx_ModelProto] {
    var rng = SeededGenerator(seed: 3)
    let network = Network(.convNet(inputShape: [2, 8, 8], convolutions: [[3, 3, 2]], hidden: [4], outputs: 3), using: &rng)
    let export = try ONNXExport.data(Model(network: network, provenance: Provenance(), input: .bytes), source: "fuzz")
    return [ONNXForge.mlp(), ONNXForge.cnn(), ONNXForge.cnn(pads: [1, 1, 1, 1]), try Onnx_ModelProto(serializedBytes: export)]
  }

  @Test func theONNXReaderOnlyReturnsOrThrows() throws {
    var rng = SeededGenerator(seed: FuzzTests.seed &+ 3)
    let bases = try Self.validModels()
    let folder = TF1ONNXHostileTests.folder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = try ONNXForge.write(Data(), in: folder)
    var loaded = 0, refused = 0, pastCRC = 0
    for i in 0..<FuzzTests.iterations {
      var model = bases[i % bases.count]
      var raw = false
      for _ in 0..<(1 + rng.index(below: 2)) {
        switch rng.index(below: 8) {
        case 0, 1: ONNXMutation.initializer(&model.graph, using: &rng)
        case 2, 3: ONNXMutation.attribute(&model.graph, using: &rng)
        case 4: ONNXMutation.node(&model.graph, using: &rng)
        case 5: ONNXMutation.input(&model.graph, using: &rng)
        default: raw = true
        }
      }
      var bytes = [UInt8](try model.serializedData())
      if raw { bytes = FuzzTests.mutate(bytes, using: &rng) }
      try Data(bytes).write(to: url)
      if Self.load(url, iteration: i, pastCRC: &pastCRC) { loaded += 1 } else { refused += 1 }
    }
    #expect(loaded > 0 && refused > FuzzTests.iterations / 2, "loaded \(loaded), refused \(refused)")
  }
}

/// Field mutations of an ONNX graph, for the fuzzer.
enum ONNXMutation {
  static func int(_ rng: inout SeededGenerator) -> Int64 {
    rng.index(below: 3) == 0 ? Int64(rng.index(below: 9)) - 1 : TF1ONNXFuzzTests.signedValue(&rng)
  }

  /// An initializer's dims, data (raw_data cut or grown, float_data, data type).
  static func initializer(_ graph: inout Onnx_GraphProto, using rng: inout SeededGenerator) {
    guard !graph.initializer.isEmpty else { return }
    let i = rng.index(below: graph.initializer.count)
    var t = graph.initializer[i]
    switch rng.index(below: 6) {
    case 0 where !t.dims.isEmpty: t.dims[rng.index(below: t.dims.count)] = int(&rng)
    case 1: if rng.index(below: 2) == 0 || t.dims.isEmpty { t.dims.append(int(&rng)) } else { t.dims.removeLast() }
    case 2: t.rawData = t.rawData.prefix(rng.index(below: t.rawData.count + 1))
    case 3: t.rawData.append(contentsOf: [UInt8](repeating: 0x7F, count: 1 + rng.index(below: 8)))
    case 4:
      t.floatData = t.rawData.count % 4 == 0 ? [Float](repeating: .nan, count: t.rawData.count / 4) : [1]
      t.rawData = Data()
    default: t.dataType = Int32(rng.index(below: 17))
    }
    graph.initializer[i] = t
  }

  /// A node's strides, pads, kernel_shape, transB or group, set to edge values or resized.
  static func attribute(_ graph: inout Onnx_GraphProto, using rng: inout SeededGenerator) {
    guard !graph.node.isEmpty else { return }
    let n = rng.index(below: graph.node.count)
    let name = ["strides", "pads", "kernel_shape", "dilations", "transB", "group", "alpha"][rng.index(below: 7)]
    var attribute = graph.node[n].attribute.first { $0.name == name } ?? Onnx_AttributeProto()
    attribute.name = name
    if rng.index(below: 3) == 0 {
      attribute.i = int(&rng)
    } else {
      if attribute.ints.isEmpty || rng.index(below: 3) == 0 {
        attribute.ints = (0..<rng.index(below: 6)).map { _ in int(&rng) }
      } else {
        attribute.ints[rng.index(below: attribute.ints.count)] = int(&rng)
      }
    }
    graph.node[n].attribute.removeAll { $0.name == name }
    graph.node[n].attribute.append(attribute)
  }

  /// A node's op, inputs or place in the graph.
  static func node(_ graph: inout Onnx_GraphProto, using rng: inout SeededGenerator) {
    guard !graph.node.isEmpty else { return }
    let n = rng.index(below: graph.node.count)
    let ops = ["Gemm", "MatMul", "Conv", "Relu", "Tanh", "Flatten", "Reshape", "Add", "Mul", "Div", "Cast", "ArgMax", "Constant", "Foo"]
    let names = graph.initializer.map(\.name) + graph.node.flatMap(\.output) + ["obs", ""]
    switch rng.index(below: 5) {
    case 0: graph.node[n].opType = ops[rng.index(below: ops.count)]
    case 1: if !graph.node[n].input.isEmpty { graph.node[n].input.remove(at: rng.index(below: graph.node[n].input.count)) }
    case 2: graph.node[n].input.append(names[rng.index(below: names.count)])
    case 3: graph.node.insert(graph.node[n], at: rng.index(below: graph.node.count + 1))
    default: graph.node.remove(at: n)
    }
  }

  /// The observation's dims or element type.
  static func input(_ graph: inout Onnx_GraphProto, using rng: inout SeededGenerator) {
    guard !graph.input.isEmpty else { return }
    var dims = graph.input[0].type.tensorType.shape.dim
    switch rng.index(below: 4) {
    case 0 where !dims.isEmpty: dims[rng.index(below: dims.count)].dimValue = int(&rng)
    case 1:
      var dim = Onnx_TensorShapeProto.Dimension()
      dim.dimValue = int(&rng)
      dims.append(dim)
    case 2 where !dims.isEmpty: dims.removeLast()
    default: graph.input[0].type.tensorType.elemType = Int32(rng.index(below: 17))
    }
    graph.input[0].type.tensorType.shape.dim = dims
  }
}
