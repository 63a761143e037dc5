import Foundation

/// ONNX models of the ops a policy network uses (Gemm, MatMul + Add, Conv,
/// Relu, Tanh, Flatten / Reshape, and at the input Cast with Mul or Div by
/// a constant), read from the protobuf by pops into a sequential network.
/// The graph must be a chain from its one non-initializer input to its
/// float output; an `ArgMax` output (the greedy action pops' ONNX export
/// adds) is ignored. Every dimension, stride and pad read from the file is
/// checked before use (`ImportLimits`, `Architecture.validationError`
/// layer by layer), so a forged model is an error, never a trap or a huge
/// allocation.
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
    let (inputName, inputShape, inputEncoding) = try observation(graph, constants: constants, fail: fail)
    var encoding = inputEncoding
    var layers: [LayerSpec] = []
    var parameters: [Tensor] = []
    var sources: [String] = []
    // The shape the layers so far output, each layer checked against it
    // (`Architecture.validationError`) before its geometry is computed: no
    // zero stride or wrong rank reaches the arithmetic.
    var shape = inputShape
    var current = inputName
    var index = 0
    // Each constant feeds one layer at most, so the parameters never outgrow the file.
    var used: Set<String> = []
    func constant(_ name: String) throws -> Tensor {
      guard let t = constants[name] else { throw fail("\(name) is not a constant of the graph") }
      return t
    }
    func parameter(_ name: String, of node: Node) throws -> Tensor {
      let t = try constant(name)
      guard used.insert(name).inserted else { throw fail("\(node.op) uses \(name), which an earlier layer uses: each layer needs its own weights") }
      return t
    }
    func append(_ layer: LayerSpec, for node: Node) throws {
      switch layer {
      case .relu, .tanh: break
      case .flatten: shape = [shape.reduce(1, *)]  // every shape so far is checked: no overflow
      case .linear, .conv2d:
        let step = Architecture(inputShape: shape, layers: [layer])
        if let problem = step.validationError() {
          throw fail("\(node.op) \(node.inputs.dropFirst().first ?? "") does not fit its input \(shape): \(problem)")
        }
        shape = step.outputShapes.last ?? shape
      }
      layers.append(layer)
    }
    while index < nodes.count {
      let node = nodes[index]
      index += 1
      guard node.inputs.first == current else {
        if node.op == "ArgMax" || node.op == "Shape" || node.op == "Gather" || node.op == "Unsqueeze" || node.op == "Concat" { continue }
        throw fail("node \(node.op) does not continue the chain from \(current): only sequential graphs are supported")
      }
      let out = node.outputs.first ?? ""
      if ["Mul", "Div", "Conv", "Gemm", "MatMul"].contains(node.op), node.inputs.count < 2 {
        throw fail("\(node.op) needs a second input (its constant) but has \(node.inputs.count)")
      }
      switch node.op {
      case "ArgMax":
        continue  // the greedy action output of pops' export: not part of the network
      case "Cast", "Identity":
        break
      case "Mul", "Div":
        let scalar = try constant(node.inputs[1])
        guard layers.isEmpty, node.inputs.count == 2, scalar.count == 1, let factor = scalar.scalars.first, factor != 0 else {
          throw fail("\(node.op) is supported only by a scalar constant at the input")
        }
        encoding.scale *= node.op == "Mul" ? factor : 1 / factor
        guard encoding.scale.isFinite, encoding.scale != 0 else {
          throw fail("\(node.op) \(node.inputs[1]) makes the input's scale \(encoding.scale)")
        }
      case "Relu":
        try append(.relu, for: node)
      case "Tanh":
        try append(.tanh, for: node)
      case "Flatten", "Reshape":
        if shape.count == 3 { try append(.flatten, for: node) }
      case "Conv":
        let (conv, weight, bias, biasName) = try convolution(node, shape: shape, parameter: parameter, fail: fail)
        try append(.conv2d(conv), for: node)
        parameters += [weight, bias]
        sources += [node.inputs[1], biasName]
      case "Gemm", "MatMul":
        var weight = try parameter(node.inputs[1], of: node)
        guard weight.shape.count == 2, weight.count > 0 else { throw fail("\(node.op) \(node.inputs[1]) has shape \(weight.shape)") }
        let transposedB = node.op == "Gemm" && node.attributes["transB"]?.int == 1
        guard (node.attributes["alpha"]?.float ?? 1) == 1, (node.attributes["beta"]?.float ?? 1) == 1,
          (node.attributes["transA"]?.int ?? 0) == 0
        else { throw fail("Gemm with alpha, beta or transA is not supported") }
        if !transposedB { weight = ReferenceCheckpoint.transposed(weight, order: [1, 0]) }
        var bias = Tensor(shape: [weight.shape[0]])
        var biasName = "(zero bias)"
        var addOutput: String?  // a MatMul's bias is the Add after it
        if node.op == "Gemm", node.inputs.count > 2 {
          bias = try parameter(node.inputs[2], of: node)
          biasName = node.inputs[2]
        } else if index < nodes.count, nodes[index].op == "Add", nodes[index].inputs.first == out, nodes[index].inputs.count == 2 {
          bias = try parameter(nodes[index].inputs[1], of: node)
          biasName = nodes[index].inputs[1]
          addOutput = nodes[index].outputs.first ?? ""
          index += 1
        }
        guard bias.count == weight.shape[0] else { throw fail("the bias \(biasName) has \(bias.count) values for \(weight.shape[0]) outputs") }
        if shape.count == 3 { try append(.flatten, for: node) }
        guard shape.count == 1, weight.shape[1] == shape[0] else {
          throw fail("\(node.inputs[1]) takes \(weight.shape[1]) inputs, the layer before gives shape \(shape)")
        }
        try append(.linear(inputs: weight.shape[1], outputs: weight.shape[0]), for: node)
        parameters += [weight, Tensor(shape: [weight.shape[0]], scalars: bias.scalars)]
        sources += [node.inputs[1], biasName]
        if let addOutput {
          current = addOutput
          continue
        }
      default:
        throw fail("op \(node.op) is not supported (Gemm, MatMul, Add, Conv, Relu, Tanh, Flatten, Reshape, Cast, Mul, Div)")
      }
      current = out
    }
    let architecture = Architecture(inputShape: inputShape, layers: layers)
    if let problem = architecture.validationError() { throw fail("the graph is not a network pops runs: \(problem)") }
    return (architecture, parameters, encoding, sources)
  }

  /// The observation: the graph input that is not an initializer, its shape
  /// without the batch (each size in 1...`Architecture.maximumDimension`)
  /// and its encoding (uint8 frames or float32).
  private static func observation(
    _ graph: [Int: [ProtoReader.Field]], constants: [String: Tensor], fail: @escaping (String) -> ModelFileError
  ) throws -> (String, [Int], ObservationEncoding) {
    var encoding = ObservationEncoding.float32
    for field in graph[11] ?? [] {
      // ValueInfoProto: name 1, type 2 { tensor_type 1 { elem_type 1, shape 2 { dim 1 { dim_value 1 } } } }.
      let info = try ProtoReader.fields(field.bytes ?? [], fail: fail)
      let name = string(info[1])
      guard constants[name] == nil else { continue }
      var shape: [Int] = []
      if let type = info[2]?.first?.bytes, let tensorType = try ProtoReader.fields(type, fail: fail)[1]?.first?.bytes {
        let tt = try ProtoReader.fields(tensorType, fail: fail)
        if tt[1]?.first?.number == 2 { encoding = ObservationEncoding(dtype: .uint8, scale: 1) }
        for dim in try ProtoReader.fields(tt[2]?.first?.bytes ?? [], fail: fail)[1] ?? [] {
          let d = try ProtoReader.fields(dim.bytes ?? [], fail: fail)
          shape.append(d[1]?.first?.number.map(ImportLimits.signed) ?? -1)
        }
      }
      guard !name.isEmpty, shape.count >= 2 else { throw fail("the graph has no observation input with a [batch, ...] shape") }
      shape.removeFirst()
      guard shape.allSatisfy({ $0 > 0 }) else { throw fail("the observation \(name)'s shape \(shape) is not fixed") }
      if let problem = ImportLimits.shapeProblem(shape) { throw fail("the observation \(name)'s shape \(shape): \(problem)") }
      return (name, shape, encoding)
    }
    throw fail("the graph has no observation input with a [batch, ...] shape")
  }

  /// A Conv node as a pops convolution on an input of `shape`: its weight,
  /// its bias (shaped [out]) and the bias's name.
  private static func convolution(
    _ node: Node, shape: [Int], parameter: (String, Node) throws -> Tensor, fail: (String) -> ModelFileError
  ) throws -> (LayerSpec.Conv2D, Tensor, Tensor, String) {
    let name = node.inputs[1]
    guard shape.count == 3 else { throw fail("Conv \(name) needs a [channels, height, width] input, the layer before gives \(shape)") }
    let weight = try parameter(name, node)
    guard weight.shape.count == 4, weight.count > 0, weight.shape[1] == shape[0] else {
      throw fail("Conv \(name) has shape \(weight.shape) for an input of \(shape[0]) channels")
    }
    let strides = node.attributes["strides"]?.ints ?? [1, 1]
    guard strides.count == 2, strides.allSatisfy({ (1...Architecture.maximumDimension).contains($0) }) else {
      throw fail("Conv \(name): strides \(strides) must be two sizes in 1...\(Architecture.maximumDimension)")
    }
    guard (node.attributes["group"]?.int ?? 1) == 1, (node.attributes["dilations"]?.ints ?? [1, 1]).allSatisfy({ $0 == 1 }),
      strides[0] == strides[1], weight.shape[2] == weight.shape[3]
    else { throw fail("Conv \(name): only square kernels, equal strides, no groups or dilation are supported") }
    var conv = LayerSpec.Conv2D(inChannels: shape[0], outChannels: weight.shape[0], kernel: weight.shape[2], stride: strides[0])
    let pads = node.attributes["pads"]?.ints ?? [0, 0, 0, 0]
    if pads.contains(where: { $0 != 0 }) {
      // Padding is read as TensorFlow's `same` when it is exactly that for this input.
      conv.padding = .same
      let g = conv.geometry(height: shape[1], width: shape[2])
      let padHeight = max((g.height - 1) * conv.stride + conv.kernelHeight - shape[1], 0)
      let padWidth = max((g.width - 1) * conv.stride + conv.kernelWidth - shape[2], 0)
      guard pads == [g.top, g.left, padHeight - g.top, padWidth - g.left] else {
        throw fail("Conv \(name): pads \(pads) are neither none nor TensorFlow's same")
      }
    }
    guard node.inputs.count > 2 else { return (conv, weight, Tensor(shape: [weight.shape[0]]), "(zero bias)") }
    let bias = try parameter(node.inputs[2], node)
    guard bias.count == weight.shape[0] else { throw fail("the bias \(node.inputs[2]) has \(bias.count) values for \(weight.shape[0]) channels") }
    return (conv, weight, Tensor(shape: [weight.shape[0]], scalars: bias.scalars), node.inputs[2])
  }

  /// A TensorProto's name and float32 values (raw_data or float_data).
  static func tensor(_ bytes: [UInt8], fail: @escaping (String) -> ModelFileError) throws -> (String, Tensor) {
    let fields = try ProtoReader.fields(bytes, fail: fail)
    let name = string(fields[8])
    let dims = try integers(fields[1] ?? [], fail: fail)
    let type = fields[2]?.first?.number ?? 1
    // Checked before any allocation: the values then come from the file (raw_data's length is compared with the count).
    if let problem = ImportLimits.shapeProblem(dims) { throw fail("tensor \(name): dims \(dims): \(problem)") }
    let count = ImportLimits.elementCount(dims) ?? 0
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
