import Foundation

/// A per-layer summary of a model: shapes, parameters, non-zeros, sparsity.
public struct ModelReport: Codable, Sendable {
  public struct Layer: Codable, Sendable {
    public var name: String
    public var shape: [Int]
    public var parameters: Int
    public var nonZero: Int
    public var sparsity: Double
  }

  public var architecture: String
  public var provenance: Provenance
  public var layers: [Layer]
  /// Weights only (biases excluded), the size PoPS reports.
  public var weights: Int
  public var nonZeroWeights: Int
  public var parameters: Int

  public init(_ model: Model) {
    let network = model.network
    architecture = network.architecture.summary
    provenance = model.provenance
    layers = zip(network.architecture.parameterNames, network.parameters).map { name, tensor in
      let nonZero = tensor.nonZeroCount
      return Layer(
        name: name, shape: tensor.shape, parameters: tensor.count, nonZero: nonZero,
        sparsity: tensor.count == 0 ? 0 : 1 - Double(nonZero) / Double(tensor.count))
    }
    weights = network.weightCount
    nonZeroWeights = network.nonZeroWeightCount
    parameters = network.parameterCount
  }

  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  public var text: String {
    // Provenance comes from the file: control characters (terminal escapes) are shown, not sent.
    func safe(_ text: String) -> String {
      String(text.unicodeScalars.map { scalar -> String in
        scalar.properties.generalCategory == .control ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
      }.joined())
    }
    var lines = ["architecture \(architecture)"]
    if let env = provenance.environment { lines.append("environment  \(safe(env))") }
    if let role = provenance.role { lines.append("role         \(safe(role))") }
    lines.append("written by   pops \(safe(provenance.popsVersion))")
    for (key, value) in provenance.summary.sorted(by: { $0.key < $1.key }) {
      lines.append("  \(safe(key)): \(safe(value))")
    }
    lines.append("")
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    // Columns as wide as their longest entry plus two spaces (a conv weight's shape is long).
    let rows = layers.map { [$0.name, "\($0.shape)", "\($0.parameters)", "\($0.nonZero)"] }
    let header = ["tensor", "shape", "params", "non-zero"]
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! + 2 }
    func line(_ cells: [String], _ last: String) -> String {
      zip(cells, widths).map { pad($0, $1) }.joined() + last
    }
    lines.append(line(header, "sparsity"))
    for (layer, cells) in zip(layers, rows) {
      lines.append(line(cells, String(format: "%.2f%%", 100 * layer.sparsity)))
    }
    let sparsity = weights == 0 ? 0 : 100 * (1 - Double(nonZeroWeights) / Double(weights))
    lines.append("")
    lines.append("weights \(weights), non-zero \(nonZeroWeights) (sparsity \(String(format: "%.2f", sparsity))%), parameters incl. biases \(parameters)")
    return lines.joined(separator: "\n")
  }
}
