import Foundation
import PoPS
import Testing

/// The int8 check `pops export --quantize int8` runs before it writes: the
/// int8 policy must see what the float network sees in `pops evaluate`.
/// pops' environments give observations already scaled (the bridge divides
/// frames by 255), so scaling them again by a uint8 model's 1/255 measured
/// the int8 policy on frames 255 times too dark.
struct QuantizationCheckTests {
  /// A uint8 model (input scale 1/255) that plays Catch-v0's 10x10 frames
  /// perfectly: hidden unit 0 is relu(ball column - paddle column), unit 1
  /// its opposite; "right" is unit 0 - 0.5, "left" unit 1 - 0.5, "stay" 0.
  /// Its biases matter, so frames 255 times too dark change its actions.
  static func catchModel() -> Model {
    let architecture = Architecture.mlp(inputs: 100, hidden: [2], outputs: 3)
    let offset = (0..<100).map { i in Float(i % 10) * (i / 10 == 9 ? -1 : 1) }
    let parameters = [
      Tensor(shape: [2, 100], scalars: offset + offset.map { -$0 }), Tensor(shape: [2], scalars: [0, 0]),
      Tensor(shape: [3, 2], scalars: [0, 1, 0, 0, 1, 0]), Tensor(shape: [3], scalars: [-0.5, 0, -0.5]),
    ]
    return Model(network: Network(architecture, parameters: parameters), provenance: Provenance(environment: "Catch-v0"), input: .bytes)
  }

  @Test func anImageModelIsCheckedOnTheInputsTheFloatNetworkGets() throws {
    let model = Self.catchModel()
    let check = try QuantizationCheck.measure(model, environment: "Catch-v0", episodes: 20, seed: 1)
    #expect(check.floatScore.mean == 1, "the float model catches every ball")
    #expect(check.observations == 90)
    #expect(check.agreeing * 10 >= check.observations * 9, "\(check.agreeing) of \(check.observations) actions agree")
    #expect(check.int8Score.mean == 1, "\(check.int8Score.summary)")
    // The int8 policy on network inputs is the C's policy on the raw frame (bytes 0-255).
    let policy = try Int8Policy(model)
    var environment = try Environments.make("Catch-v0", seed: 4)
    let frame = try environment.reset(seed: 4)
    #expect(policy.forward(networkInput: frame) == policy.forward(frame.map { $0 * 255 }))
  }
}
