import Foundation
import PoPS
import Testing

/// A teacher under the objective: refused by default before anything is
/// written, or compressed against its own score when asked.
struct ObjectiveSourceTests {
  @Test func aWeakTeacherIsRefusedOrJudgedAgainstItsOwnScore() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 4)
    let weak = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)  // untrained: far under 195
    let teacherURL = folder.appendingPathComponent("weak.safetensors")
    try ModelFile.save(Model(network: weak, provenance: Provenance(environment: "CartPole-v0")), to: teacherURL)
    var config = try tinyConfig()
    config.shrinking.maxSteps = 1
    var options = PoPSOptions(config: config, output: folder.appendingPathComponent("run"), seed: 1, teacher: teacherURL)
    let refusal = #expect(throws: ConfigError.self) { try runPoPS(options) }
    #expect(refusal?.description.contains("under CartPole-v0's acceptance") == true, "\(String(describing: refusal))")
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("run").path), "a refused run writes nothing")
    options.objective = .teacher
    let record = try runPoPS(options)
    #expect(record.objectiveSource == .teacher)
    let teacherScore = try #require(record.teacher?.scoreMean)
    #expect(teacherScore < 195)
    #expect(record.config == config, "the record keeps the configuration as given")
    let json = try String(contentsOf: folder.appendingPathComponent("run/results.json"), encoding: .utf8)
    #expect(json.contains("\"objective_source\" : \"teacher\""))
  }

  @Test func judgingAgainstATeacherMovesTheBarToItsScore() throws {
    let config = try PoPSConfig.preset(for: "CartPole-v0")
    let judged = config.judgedAgainst(teacherMean: 150, std: 20, episodes: 100)
    #expect(judged.acceptanceScore == 148)  // 150 - 1 standard error (20 / 10)
    #expect(judged.objective == 148 && judged.lowerBound == 80)
    #expect(judged.accepts(mean: 150, std: 20, episodes: 100) && !judged.accepts(mean: 147, std: 0, episodes: 100))
  }
}
