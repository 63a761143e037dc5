import Foundation

/// What every export checks before it writes anything: values the generated
/// C, the ONNX graph and the int8 quantizer can hold. A model loaded from a
/// pops file already passes (loading refuses both problems); a model
/// imported in memory (an ONNX graph whose input scaling overflows, say) or
/// built in code may not, and would otherwise give C that does not compile
/// (`inf` is no C literal) or an ONNX file whose metadata cannot say its input.
public enum ExportCheck {
  /// The first problem of `model` for an export, or nil: a non-finite weight
  /// or bias (named `layers.N.weight` with its index and value), or an input
  /// scale (`input.scale`) that is not a finite positive number.
  public static func problem(_ model: Model) -> String? {
    let scale = model.input.scale
    if !(scale.isFinite && scale > 0) {
      return "the observation scale (input.scale) is \(scale); it must be a finite positive number "
        + "(the network's input is the observation times this scale)"
    }
    let names = model.network.architecture.parameterNames
    for (name, tensor) in zip(names, model.network.parameters) {
      if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
        return "\(name) holds a non-finite value (\(tensor.scalars[bad])) at index \(bad)"
      }
    }
    return nil
  }

  /// Throws `ExportError` naming `source` and the problem, if there is one.
  public static func check(_ model: Model, source: String) throws {
    if let problem = problem(model) { throw ExportError("\(source): \(problem); nothing written") }
  }
}
