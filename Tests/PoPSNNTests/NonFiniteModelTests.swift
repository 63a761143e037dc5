import Foundation
import PoPSCore
import PoPSNN
import Testing

/// A diverged network (issue 13, case 4) is never written: pops would refuse
/// to load the file.
struct NonFiniteModelTests {
  @Test func aNetworkWithANaNWeightIsNotSaved() throws {
    var rng = SeededGenerator(seed: 2)
    var network = Network(.mlp(inputs: 4, hidden: [3], outputs: 2), using: &rng)
    network.parameters[2][1] = .nan
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pops-nan-\(UUID().uuidString).safetensors")
    let error = #expect(throws: ModelFileError.self) {
      try ModelFile.save(Model(network: network, provenance: Provenance()), to: url)
    }
    #expect(error?.description.contains("layers.2.weight holds a non-finite value") == true, "\(String(describing: error))")
    #expect(!FileManager.default.fileExists(atPath: url.path), "nothing is written")
  }
}
