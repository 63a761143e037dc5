import Foundation
import PoPS
import Testing

/// docs/model-format.md's numpy loader, run as the document prints it (the
/// block is read from the markdown), gives the actions `pops predict` gives:
/// on a Tanh model, an imported Stable-Baselines3 PPO policy (Tanh) and a
/// ReLU model with an input scale. Runs in the bridge's venv (`make
/// deps-gym`), which has numpy.
struct ModelFormatDocTests {

  /// The first python block under "## Loading without pops".
  static func numpyLoader() throws -> String {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/model-format.md"), encoding: .utf8)
    let section = try #require(text.range(of: "## Loading without pops"), "the section is gone")
    let rest = text[section.upperBound...]
    let open = try #require(rest.range(of: "```python\n"), "no python block")
    let close = try #require(rest[open.upperBound...].range(of: "```"), "the block does not end")
    return String(rest[open.upperBound..<close.lowerBound])
  }

  /// The loader's (action, outputs) for each observation, run in `folder` (which holds final.safetensors).
  static func runLoader(in folder: String, observations: [[Float]]) throws -> [(action: Int, outputs: [Float])] {
    let driver = """
      import sys
      rows = json.load(open(sys.argv[1]))
      print(json.dumps([[int(np.argmax(policy(np.array(r, np.float32)))), [float(v) for v in policy(np.array(r, np.float32))]] for r in rows]))
      """
    let script = "\(folder)/loader.py"
    try (try numpyLoader() + "\n" + driver + "\n").write(toFile: script, atomically: true, encoding: .utf8)
    try JSONSerialization.data(withJSONObject: observations.map { $0.map(Double.init) })
      .write(to: URL(fileURLWithPath: "\(folder)/obs.json"))
    let output = try runTestPython([script, "\(folder)/obs.json"], in: URL(fileURLWithPath: folder))
    let rows = try #require(try JSONSerialization.jsonObject(with: output) as? [[Any]])
    return try rows.map { row in
      (try #require(row[0] as? Int), try #require(row[1] as? [Double]).map(Float.init))
    }
  }

  @Test(arguments: ["tanh", "sb3-ppo", "relu-scaled"])
  func theDocumentedNumpyLoaderActsAsPopsPredicts(_ kind: String) throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = "\(folder)/final.safetensors"
    switch kind {
    case "tanh":
      _ = try PredictTests.save(.mlp(inputs: 4, hidden: [32, 32], outputs: 3, activation: .tanh), seed: 11, in: folder, name: "final")
    case "sb3-ppo":
      let fixture = repositoryRoot.appendingPathComponent("Tests/PoPSTests/Fixtures/import/sb3_ppo_mlp.zip").path
      let r = try pops(["import", fixture, "--out", path])
      try #require(r.status == 0, "\(r.output)")
    default:
      _ = try PredictTests.save(
        .mlp(inputs: 6, hidden: [24], outputs: 5), input: ObservationEncoding(dtype: .float32, scale: 0.5), seed: 12,
        in: folder, name: "final")
    }
    let model = try ModelFile.load(from: URL(fileURLWithPath: path))
    let inputs = model.network.architecture.inputCount
    #expect(model.network.architecture.layers.contains(kind == "relu-scaled" ? .relu : .tanh))
    let observations = PredictTests.observations(100, inputs: inputs, range: 3, seed: 13)
    try observations.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n")
      .write(toFile: "\(folder)/obs.txt", atomically: true, encoding: .utf8)
    let popsResults = try PredictTests.predict([path, "--obs-file", "\(folder)/obs.txt"])
    let numpyResults = try Self.runLoader(in: folder, observations: observations)
    #expect(numpyResults.count == 100 && popsResults.count == 100)
    let agreeing = zip(numpyResults, popsResults).filter { $0.action == $1.action }.count
    #expect(agreeing == 100, "\(kind): \(agreeing) of 100 actions agree")
    for (i, (n, p)) in zip(numpyResults, popsResults).enumerated() {
      for (a, b) in zip(n.outputs, p.outputs) {
        #expect(abs(a - b) <= 1e-4 * max(1, abs(b)), "\(kind), observation \(i + 1): numpy \(a) vs pops \(b)")
      }
    }
  }
}
