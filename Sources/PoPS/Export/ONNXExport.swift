import Foundation
import PoPSCore
import ONNXProto

/// A model as one ONNX file (opset 13): the observation as the environment
/// gives it (float32, or uint8 frames with the Cast and scale inside the
/// graph), outputs `outputs` (float32 [batch, actions]) and `action` (int64
/// [batch], the argmax), a dynamic batch dimension, and pops' provenance in
/// the model's metadata. Built with the types generated from the official
/// onnx.proto (Sources/ONNXProto, scripts/generate_onnx_proto.sh).
public enum ONNXExport {
  /// The ONNX operator set the graph uses.
  public static let opsetVersion: Int64 = 13

  public static func data(_ model: Model, source: String) throws -> Data {
    let architecture = model.network.architecture
    if let problem = architecture.validationError() { throw ExportError("the model cannot be exported: \(problem)") }
    try ExportCheck.check(model, source: source)
    var graph = Onnx_GraphProto()
    graph.name = "pops_policy"
    var current = "observation"
    graph.input = [valueInfo(current, elementType: model.input.dtype == .uint8 ? .uint8 : .float, shape: architecture.inputShape)]
    var counter = 0
    func next(_ stem: String) -> String {
      counter += 1
      return "\(stem)_\(counter)"
    }
    func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto] = []) {
      var n = Onnx_NodeProto()
      n.opType = op
      n.name = output
      n.input = inputs
      n.output = [output]
      n.attribute = attributes
      graph.node.append(n)
    }
    if model.input.dtype == .uint8 {
      let cast = next("cast")
      node("Cast", [current], cast, [attribute("to", int: Int64(Onnx_TensorProto.DataType.float.rawValue))])
      current = cast
    }
    if model.input.scale != 1 {
      graph.initializer.append(tensor("observation_scale", shape: [], values: [model.input.scale]))
      let scaled = next("scaled")
      node("Mul", [current, "observation_scale"], scaled)
      current = scaled
    }
    var parameter = 0
    var shape = architecture.inputShape
    for (index, (layer, outShape)) in zip(architecture.layers, architecture.outputShapes).enumerated() {
      defer { shape = outShape }
      let isOutput = index == architecture.layers.count - 1
      let output = isOutput ? "outputs" : next("layers.\(index)")
      switch layer {
      case .relu: node("Relu", [current], output)
      case .tanh: node("Tanh", [current], output)
      case .flatten: node("Flatten", [current], output, [attribute("axis", int: 1)])
      case .linear, .conv2d:
        let weight = model.network.parameters[parameter], bias = model.network.parameters[parameter + 1]
        parameter += 2
        let (w, b) = ("layers.\(index).weight", "layers.\(index).bias")
        graph.initializer.append(tensor(w, shape: weight.shape, values: weight.scalars))
        graph.initializer.append(tensor(b, shape: bias.shape, values: bias.scalars))
        if case .conv2d(let c) = layer {
          let g = c.geometry(height: shape[1], width: shape[2])
          let padHeight = max((g.height - 1) * c.stride + c.kernelHeight - shape[1], 0)
          let padWidth = max((g.width - 1) * c.stride + c.kernelWidth - shape[2], 0)
          let pads = c.padding == .same ? [g.top, g.left, padHeight - g.top, padWidth - g.left] : [0, 0, 0, 0]
          node("Conv", [current, w, b], output, [
            attribute("kernel_shape", ints: [c.kernelHeight, c.kernelWidth]), attribute("strides", ints: [c.stride, c.stride]),
            attribute("pads", ints: pads),
          ])
        } else {
          node("Gemm", [current, w, b], output, [attribute("transB", int: 1)])
        }
      }
      current = output
    }
    node("ArgMax", ["outputs"], "action", [attribute("axis", int: 1), attribute("keepdims", int: 0)])
    graph.output = [
      valueInfo("outputs", elementType: .float, shape: [architecture.outputCount]),
      valueInfo("action", elementType: .int64, shape: []),
    ]
    var proto = Onnx_ModelProto()
    proto.irVersion = 7
    proto.producerName = "pops"
    proto.producerVersion = PoPSVersion.current
    var operatorSet = Onnx_OperatorSetIdProto()
    operatorSet.domain = ""
    operatorSet.version = opsetVersion
    proto.opsetImport = [operatorSet]
    proto.graph = graph
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var metadata = [
      "pops_version": PoPSVersion.current, "architecture": architecture.summary, "source": source,
      "role": model.provenance.role ?? "", "environment": model.provenance.environment ?? "",
      "input": String(decoding: (try? encoder.encode(model.input)) ?? Data(), as: UTF8.self),
    ]
    for (key, value) in model.provenance.summary where metadata[key] == nil { metadata[key] = value }
    proto.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
      var entry = Onnx_StringStringEntryProto()
      entry.key = key
      entry.value = value
      return entry
    }
    return try proto.serializedData()
  }

  /// Writes `model` to `url` atomically; a failed write is the
  /// `WriteError` "could not write PATH: REASON".
  public static func write(_ model: Model, source: String, to url: URL) throws {
    try AtomicFile.write(data(model, source: source), to: url)
  }

  static func tensor(_ name: String, shape: [Int], values: [Float]) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.dims = shape.map(Int64.init)
    var raw = Data(capacity: 4 * values.count)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
    t.rawData = raw
    return t
  }

  static func valueInfo(_ name: String, elementType: Onnx_TensorProto.DataType, shape: [Int]) -> Onnx_ValueInfoProto {
    var dims: [Onnx_TensorShapeProto.Dimension] = []
    var batch = Onnx_TensorShapeProto.Dimension()
    batch.dimParam = "batch"
    dims.append(batch)
    for n in shape {
      var d = Onnx_TensorShapeProto.Dimension()
      d.dimValue = Int64(n)
      dims.append(d)
    }
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = Int32(elementType.rawValue)
    var shapeProto = Onnx_TensorShapeProto()
    shapeProto.dim = dims
    tensorType.shape = shapeProto
    var type = Onnx_TypeProto()
    type.tensorType = tensorType
    var info = Onnx_ValueInfoProto()
    info.name = name
    info.type = type
    return info
  }

  static func attribute(_ name: String, int: Int64) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .int
    a.i = int
    return a
  }

  static func attribute(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .ints
    a.ints = ints.map(Int64.init)
    return a
  }
}
