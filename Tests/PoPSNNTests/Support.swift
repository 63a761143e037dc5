import Foundation
import PoPSCore
import PoPSNN
import Testing

/// Central finite differences of `f` at `x`, in double precision.
func numericGradient(_ x: [Float], step: Float = 1e-3, _ f: ([Float]) -> Double) -> [Double] {
  x.indices.map { i in
    var plus = x, minus = x
    plus[i] += step
    minus[i] -= step
    return (f(plus) - f(minus)) / (Double(plus[i]) - Double(minus[i]))
  }
}

func expectClose(_ analytic: [Float], _ numeric: [Double], tolerance: Double = 2e-2, _ what: String) {
  #expect(analytic.count == numeric.count)
  for (a, n) in zip(analytic, numeric) {
    let scale = max(1, abs(n), Double(abs(a)))
    #expect(abs(Double(a) - n) / scale < tolerance, "\(what): analytic \(a) vs numeric \(n)")
  }
}

/// Checks every parameter gradient of `net` on a mean-squared-error loss
/// against central finite differences.
func expectBackwardMatchesFiniteDifferences(
  _ net: Network, x: [Float], target: [Float], batch: Int, tolerance: Double = 2e-2, _ what: String
) {
  let cache = Network.Cache()
  let out = net.forward(x, batch: batch, cache: cache)
  let l = Loss.meanSquaredError(predictions: out, targets: target)
  var grads: [Tensor] = []
  net.backward(l.gradient, cache: cache, into: &grads)
  for p in net.parameters.indices {
    let numeric = numericGradient(net.parameters[p].scalars) { values in
      var copy = net
      copy.parameters[p].scalars = values
      return Double(Loss.meanSquaredError(predictions: copy.forward(x, batch: batch, cache: Network.Cache()), targets: target).value)
    }
    expectClose(grads[p].scalars, numeric, tolerance: tolerance, "\(what) \(net.architecture.parameterNames[p]) batch \(batch)")
  }
}

/// The length of a safetensors header (the first 8 bytes, little-endian).
func safetensorsHeaderSize(_ data: Data) -> Int {
  Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
}

/// The JSON header of a safetensors file.
func safetensorsHeader(_ data: Data) throws -> [String: Any] {
  let size = safetensorsHeaderSize(data)
  return try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + size))) as! [String: Any]
}

struct OptimizerFixture: Decodable {
  struct Settings: Decodable {
    var lr: Float
    var rho: Float?
    var momentum: Float?
    var result: [Double]
  }
  var params: [Float]
  var grads: [[Float]]
  var adam: Settings
  var rmsprop: Settings
  var sgd: Settings

  static func load() throws -> OptimizerFixture {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/optimizers.json")
    return try JSONDecoder().decode(OptimizerFixture.self, from: Data(contentsOf: url))
  }
}

/// A one-layer network whose 10 weights and 1 bias are the fixture's 11 values.
func fixtureNetwork(_ values: [Float]) -> Network {
  Network(
    .mlp(inputs: 10, hidden: [], outputs: 1),
    parameters: [Tensor(shape: [1, 10], scalars: Array(values[0..<10])), Tensor(shape: [1], scalars: [values[10]])])
}
