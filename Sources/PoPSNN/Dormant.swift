import Foundation
import PoPSCore

/// A hidden unit of a fully connected network: output `unit` of the linear
/// layer at `layer` (an index into `Architecture.layers`).
public struct HiddenUnit: Equatable, Hashable, Sendable {
  public var layer: Int
  public var unit: Int

  public init(layer: Int, unit: Int) {
    self.layer = layer
    self.unit = unit
  }
}

extension Network {
  /// The hidden ReLU units that output zero for every one of `states`
  /// ([batch, inputs]): dormant units, which pass no gradient and so can
  /// never recover. Tiny students (2-4 units in a layer) lose their whole
  /// output to them (docs/algorithm.md, "Dormant units"). Only networks of
  /// linear, ReLU and tanh layers are inspected; others give [].
  public func dormantUnits(on states: [Float], batch: Int) -> [HiddenUnit] {
    let layers = architecture.layers
    guard batch > 0, states.count == batch * architecture.inputCount,
      layers.allSatisfy({ if case .conv2d = $0 { return false }; if case .flatten = $0 { return false }; return true })
    else { return [] }
    var x = states
    var parameterIndex = 0
    var dormant: [HiddenUnit] = []
    for (index, layer) in layers.enumerated() {
      switch layer {
      case .linear(let inputs, let outputs):
        let w = parameters[parameterIndex].scalars, b = parameters[parameterIndex + 1].scalars
        parameterIndex += 2
        var y = [Float](repeating: 0, count: batch * outputs)
        for row in 0..<batch {
          for o in 0..<outputs {
            var sum = b[o]
            for i in 0..<inputs { sum += w[o * inputs + i] * x[row * inputs + i] }
            y[row * outputs + o] = sum
          }
        }
        let feedsReLU = index + 1 < layers.count && layers[index + 1] == .relu
        let isHidden = layers[(index + 1)...].contains { $0.hasParameters }
        if feedsReLU && isHidden {
          for o in 0..<outputs where !(0..<batch).contains(where: { y[$0 * outputs + o] > 0 }) {
            dormant.append(HiddenUnit(layer: index, unit: o))
          }
        }
        x = y
      case .relu: for i in x.indices { x[i] = max(x[i], 0) }
      case .tanh: for i in x.indices { x[i] = Foundation.tanh(x[i]) }
      case .conv2d, .flatten: return []
      }
    }
    return dormant
  }

  /// Re-initialises each of `units` as ReDo does (Sokar et al., "The Dormant
  /// Neuron Phenomenon in Deep RL", 2023): fresh Glorot-uniform incoming
  /// weights and a zero bias, and zero outgoing weights, so the network's
  /// output is unchanged at the moment of recycling and the unit learns
  /// its outgoing weights from the next gradient on. Masked entries stay
  /// zero. Units not of a hidden linear layer are ignored.
  public mutating func recycle(_ units: [HiddenUnit], using rng: inout SeededGenerator) {
    let layers = architecture.layers
    var parameterIndexOf: [Int: Int] = [:]
    var next = 0
    for (index, layer) in layers.enumerated() where layer.hasParameters {
      parameterIndexOf[index] = next
      next += 2
    }
    for hidden in units {
      guard case .linear(let inputs, let outputs) = layers[hidden.layer], hidden.unit < outputs,
        let w = parameterIndexOf[hidden.layer],
        let nextLayer = layers.indices.first(where: { $0 > hidden.layer && layers[$0].hasParameters }),
        case .linear(let nextInputs, let nextOutputs) = layers[nextLayer], nextInputs == outputs,
        let v = parameterIndexOf[nextLayer]
      else { continue }
      let limit = (6 / Float(inputs + outputs)).squareRoot()
      for i in 0..<inputs { parameters[w][hidden.unit * inputs + i] = rng.uniform(-limit, limit) }
      parameters[w + 1][hidden.unit] = 0
      for o in 0..<nextOutputs { parameters[v][o * nextInputs + hidden.unit] = 0 }
    }
    applyMasks()
  }
}
