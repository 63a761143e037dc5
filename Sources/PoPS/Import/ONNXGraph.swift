import Foundation

/// ONNX models of the ops a policy network uses (Gemm, MatMul + Add, Conv,
/// Relu, Tanh, Flatten / Reshape, and at the input Cast with Mul or Div by
/// a constant), read from the protobuf by pops into a sequential network.
/// The graph must be a chain from its one non-initializer input to its
/// float output; an `ArgMax` output (the greedy action pops' ONNX export
/// adds) is ignored.
enum ONNXGraph {
  struct Node {
    var op: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: Attribute]
  }

  struct Attribute {
    var int: Int?
    var float: Float?
    var ints: [Int] = []
    var tensor: Tensor?
  }

  /// The model's metadata_props (ModelProto field 14: key 1, value 2), e.g.
  /// the `environment` a pops export records.
  static func metadata(_ data: Data, path: String) throws -> [String: String] {
    let fail = { (problem: String) in ModelFileError(path: path, problem: problem) }
    let top = try ProtoReader.fields([UInt8](data), fail: fail)
    var result: [String: String] = [:]
    for entry in top[14] ?? [] {
      let fields = try ProtoReader.fields(entry.bytes ?? [], fail: fail)
      result[string(fields[1])] = string(fields[2])
    }
    return result
  }

  static func model(_ data: Data, path: String) throws -> (Architecture, [Tensor], ObservationEncoding, [String]) {
    let fail = { (problem: String) in ModelFileError(path: path, problem: problem) }
    let top = try ProtoReader.fields([UInt8](data), fail: fail)
    guard let graphBytes = top[7]?.first?.bytes else { throw fail("not an ONNX model (no graph)") }
    let graph = try ProtoReader.fields(graphBytes, fail: fail)
    var constants: [String: Tensor] = [:]
    for field in graph[5] ?? [] {
      let (name, tensor) = try self.tensor(field.bytes ?? [], fail: fail)
      constants[name] = tensor
    }
    var nodes: [Node] = []
    for field in graph[1] ?? [] {
      let fields = try ProtoReader.fields(field.bytes ?? [], fail: fail)
      var attributes: [String: Attribute] = [:]
      for a in fields[5] ?? [] {
        let af = try ProtoReader.fields(a.bytes ?? [], fail: fail)
        var attribute = Attribute()
        attribute.int = af[3]?.first?.number.map { Int(Int64(bitPattern: $0)) }
        attribute.float = af[2]?.first?.number.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        attribute.ints = try integers(af[8] ?? [], fail: fail)
        if let t = af[5]?.first?.bytes { attribute.tensor = try tensor(t, fail: fail).1 }
        attributes[string(af[1])] = attribute
      }
      let node = Node(
        op: string(fields[4]), inputs: (fields[1] ?? []).map { string([$0]) }, outputs: (fields[2] ?? []).map { string([$0]) },
        attributes: attributes)
      if node.op == "Constant", let value = node.attributes["value"]?.tensor, let out = node.outputs.first {
        constants[out] = value
      } else {
        nodes.append(node)
      }
    }
    // The observation: the graph input that is not an initializer, and its shape without the batch.
    var inputName = ""
    var inputShape: [Int] = []
    var encoding = ObservationEncoding.float32
    for field in graph[11] ?? [] {
      let info = try ProtoReader.fields(field.bytes ?? [], fail: fail)
      let name = string(info[1])
      guard constants[name] == nil else { continue }
      inputName = name
      if let type = info[2]?.first?.bytes, let tensorType = try ProtoReader.fields(type, fail: fail)[1]?.first?.bytes {
        let tt = try ProtoReader.fields(tensorType, fail: fail)
        if tt[1]?.first?.number == 2 { encoding = ObservationEncoding(dtype: .uint8, scale: 1) }
        for dim in try ProtoReader.fields(tt[2]?.first?.bytes ?? [], fail: fail)[1] ?? [] {
          let d = try ProtoReader.fields(dim.bytes ?? [], fail: fail)
          inputShape.append(d[1]?.first?.number.map { Int($0) } ?? -1)
        }
      }
      break
    }
    guard !inputName.isEmpty, inputShape.count >= 2 else { throw fail("the graph has no observation input with a [batch, ...] shape") }
    inputShape.removeFirst()
    guard inputShape.allSatisfy({ $0 > 0 }) else { throw fail("the observation's shape \(inputShape) is not fixed") }

    var layers: [LayerSpec] = []
    var parameters: [Tensor] = []
    var sources: [String] = []
    var current = inputName
    var features = inputShape.reduce(1, *)
    var channels = inputShape[0]
    var index = 0
    func constant(_ name: String) throws -> Tensor {
      guard let t = constants[name] else { throw fail("\(name) is not a constant of the graph") }
      return t
    }
    while index < nodes.count {
      let node = nodes[index]
      index += 1
      guard node.inputs.first == current else {
        if node.op == "ArgMax" || node.op == "Shape" || node.op == "Gather" || node.op == "Unsqueeze" || node.op == "Concat" { continue }
        throw fail("node \(node.op) does not continue the chain from \(current): only sequential graphs are supported")
      }
      let out = node.outputs.first ?? ""
      switch node.op {
      case "ArgMax":
        continue  // the greedy action output of pops' export: not part of the network
      case "Cast", "Identity":
        break
      case "Mul", "Div":
        guard layers.isEmpty, node.inputs.count == 2, let factor = try constant(node.inputs[1]).scalars.first,
          try constant(node.inputs[1]).count == 1, factor != 0
        else { throw fail("\(node.op) is supported only by a scalar constant at the input") }
        encoding.scale *= node.op == "Mul" ? factor : 1 / factor
      case "Relu":
        layers.append(.relu)
      case "Tanh":
        layers.append(.tanh)
      case "Flatten", "Reshape":
        if inputShape.count == 3 && !layers.contains(.flatten) { layers.append(.flatten) }
      case "Conv":
        let weight = try constant(node.inputs[1])
        guard weight.shape.count == 4, weight.shape[1] == channels else { throw fail("Conv \(node.inputs[1]) has shape \(weight.shape)") }
        let strides = node.attributes["strides"]?.ints ?? [1, 1]
        guard (node.attributes["group"]?.int ?? 1) == 1, (node.attributes["dilations"]?.ints ?? [1, 1]).allSatisfy({ $0 == 1 }),
          strides.count == 2, strides[0] == strides[1], weight.shape[2] == weight.shape[3]
        else { throw fail("Conv \(node.inputs[1]): only square kernels, equal strides, no groups or dilation are supported") }
        var conv = LayerSpec.Conv2D(inChannels: channels, outChannels: weight.shape[0], kernel: weight.shape[2], stride: strides[0])
        let pads = node.attributes["pads"]?.ints ?? [0, 0, 0, 0]
        if pads.contains(where: { $0 != 0 }) {
          // Padding is read as TensorFlow's `same` when it is exactly that for this input.
          let shape = Architecture(inputShape: inputShape, layers: layers).outputShapes.last ?? inputShape
          conv.padding = .same
          let g = conv.geometry(height: shape[1], width: shape[2])
          let padHeight = max((g.height - 1) * conv.stride + conv.kernelHeight - shape[1], 0)
          let padWidth = max((g.width - 1) * conv.stride + conv.kernelWidth - shape[2], 0)
          guard pads == [g.top, g.left, padHeight - g.top, padWidth - g.left] else {
            throw fail("Conv \(node.inputs[1]): pads \(pads) are neither none nor TensorFlow's same")
          }
        }
        let bias = node.inputs.count > 2 ? try constant(node.inputs[2]) : Tensor(shape: [weight.shape[0]])
        layers.append(.conv2d(conv))
        parameters += [weight, bias]
        sources += [node.inputs[1], node.inputs.count > 2 ? node.inputs[2] : "(zero bias)"]
        channels = weight.shape[0]
      case "Gemm", "MatMul":
        var weight = try constant(node.inputs[1])
        guard weight.shape.count == 2 else { throw fail("\(node.op) \(node.inputs[1]) has shape \(weight.shape)") }
        let transposedB = node.op == "Gemm" && node.attributes["transB"]?.int == 1
        guard (node.attributes["alpha"]?.float ?? 1) == 1, (node.attributes["beta"]?.float ?? 1) == 1,
          (node.attributes["transA"]?.int ?? 0) == 0
        else { throw fail("Gemm with alpha, beta or transA is not supported") }
        if !transposedB { weight = ReferenceCheckpoint.transposed(weight, order: [1, 0]) }
        var bias = Tensor(shape: [weight.shape[0]])
        var biasName = "(zero bias)"
        if node.op == "Gemm", node.inputs.count > 2 {
          bias = try constant(node.inputs[2])
          biasName = node.inputs[2]
        } else if index < nodes.count, nodes[index].op == "Add", nodes[index].inputs.first == out, nodes[index].inputs.count == 2 {
          bias = try constant(nodes[index].inputs[1])
          biasName = nodes[index].inputs[1]
          current = nodes[index].outputs.first ?? ""
          index += 1
        }
        guard bias.count == weight.shape[0] else { throw fail("the bias \(biasName) has \(bias.count) values for \(weight.shape[0]) outputs") }
        if inputShape.count == 3 && !layers.contains(.flatten) { layers.append(.flatten) }
        let shapes = Architecture(inputShape: inputShape, layers: layers).outputShapes
        features = (shapes.last ?? inputShape).reduce(1, *)
        guard weight.shape[1] == features else { throw fail("\(node.inputs[1]) takes \(weight.shape[1]) inputs, the layer before gives \(features)") }
        layers.append(.linear(inputs: features, outputs: weight.shape[0]))
        parameters += [weight, Tensor(shape: [weight.shape[0]], scalars: bias.scalars)]
        sources += [node.inputs[1], biasName]
        if node.op == "MatMul" && current != out { continue }
      default:
        throw fail("op \(node.op) is not supported (Gemm, MatMul, Add, Conv, Relu, Tanh, Flatten, Reshape, Cast, Mul, Div)")
      }
      current = out
    }
    let architecture = Architecture(inputShape: inputShape, layers: layers)
    if let problem = architecture.validationError() { throw fail("the graph is not a network pops runs: \(problem)") }
    return (architecture, parameters, encoding, sources)
  }

  /// A TensorProto's name and float32 values (raw_data or float_data).
  static func tensor(_ bytes: [UInt8], fail: @escaping (String) -> ModelFileError) throws -> (String, Tensor) {
    let fields = try ProtoReader.fields(bytes, fail: fail)
    let name = string(fields[8])
    let dims = try integers(fields[1] ?? [], fail: fail)
    let type = fields[2]?.first?.number ?? 1
    let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: max($1, 0)).overflow ? -1 : $0 * max($1, 0) }
    guard count >= 0, count < 1 << 28 else { throw fail("tensor \(name) has a bad shape \(dims)") }
    var values: [Float]
    if let raw = fields[9]?.first?.bytes {
      switch type {
      case 1:
        guard raw.count == count * 4 else { throw fail("tensor \(name) holds \(raw.count) bytes for \(count) floats") }
        values = raw.withUnsafeBytes { p in (0..<count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
      case 7:
        guard raw.count == count * 8 else { throw fail("tensor \(name) holds \(raw.count) bytes for \(count) int64s") }
        values = raw.withUnsafeBytes { p in (0..<count).map { Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) } }
      default:
        throw fail("tensor \(name) has data type \(type); float32 (and int64 shapes) only")
      }
    } else if let packed = fields[4] {
      values = try packed.flatMap { field -> [Float] in
        if let number = field.number { return [Float(bitPattern: UInt32(truncatingIfNeeded: number))] }
        let b = field.bytes ?? []
        guard b.count % 4 == 0 else { throw fail("tensor \(name) has a bad float_data field") }
        return b.withUnsafeBytes { p in (0..<(b.count / 4)).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
      }
    } else {
      values = try integers(fields[7] ?? [], fail: fail).map(Float.init)
    }
    guard values.count == count else { throw fail("tensor \(name) holds \(values.count) values for shape \(dims)") }
    guard values.allSatisfy(\.isFinite) else { throw fail("tensor \(name) holds a non-finite value") }
    return (name, Tensor(shape: dims.isEmpty ? [1] : dims, scalars: values))
  }

  /// Repeated int64 fields, packed or not.
  static func integers(_ fields: [ProtoReader.Field], fail: @escaping (String) -> ModelFileError) throws -> [Int] {
    var result: [Int] = []
    for field in fields {
      if let number = field.number {
        result.append(Int(Int64(bitPattern: number)))
      } else {
        var reader = ProtoReader(bytes: field.bytes ?? [], fail: fail)
        while !reader.atEnd { result.append(Int(Int64(bitPattern: try reader.varint()))) }
      }
    }
    return result
  }

  static func string(_ fields: [ProtoReader.Field]?) -> String {
    String(decoding: fields?.first?.bytes ?? [], as: UTF8.self)
  }
}
