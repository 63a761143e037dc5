import PoPSCore
import PoPSNN
import Testing

struct DormantUnitTests {
  /// A 2-3-2 network whose hidden unit 1 has a bias so negative that no
  /// state in [-1, 1]^2 turns it on.
  func networkWithADeadUnit() -> (Network, [Float]) {
    var rng = SeededGenerator(seed: 8)
    var network = Network(.mlp(inputs: 2, hidden: [3], outputs: 2), using: &rng)
    network.parameters[1][1] = -100
    let states = (0..<(64 * 2)).map { _ in rng.uniform(-1, 1) }
    return (network, states)
  }

  @Test func aUnitDeadOnEveryStateIsFoundAndRecycledWithoutChangingTheOutput() {
    var (network, states) = networkWithADeadUnit()
    #expect(network.dormantUnits(on: states, batch: 64) == [HiddenUnit(layer: 0, unit: 1)])
    let before = network.forward(states, batch: 64, cache: Network.Cache())
    var rng = SeededGenerator(seed: 9)
    network.recycle(network.dormantUnits(on: states, batch: 64), using: &rng)
    #expect(network.dormantUnits(on: states, batch: 64).isEmpty, "the recycled unit is live again")
    #expect(network.parameters[1][1] == 0, "its bias starts at zero")
    #expect(network.parameters[2][0 * 3 + 1] == 0 && network.parameters[2][1 * 3 + 1] == 0, "its outgoing weights are zero")
    let after = network.forward(states, batch: 64, cache: Network.Cache())
    #expect(zip(before, after).allSatisfy { abs($0 - $1) < 1e-6 }, "recycling leaves the output as it was")
  }

  @Test func outputUnitsAndLiveNetworksHaveNoDormantUnits() {
    var rng = SeededGenerator(seed: 10)
    var network = Network(.mlp(inputs: 2, hidden: [], outputs: 2), using: &rng)
    network.parameters[1][0] = -100  // an output unit is never "dormant": it feeds no ReLU
    let states = (0..<(16 * 2)).map { _ in rng.uniform(-1, 1) }
    #expect(network.dormantUnits(on: states, batch: 16).isEmpty)
    #expect(network.dormantUnits(on: [1, 2, 3], batch: 16).isEmpty, "a mis-sized batch gives no answer")
  }
}
