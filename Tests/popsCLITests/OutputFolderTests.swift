import Foundation
import PoPS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An output folder holds one run (issue 13 case 3): a second live run is
/// refused naming the owner, another teacher is refused rather than ignored,
/// and a start that fails leaves no folder behind.
struct OutputFolderTests {
  /// Budgets small enough for a random CartPole teacher (objective 9) to
  /// finish a run in a fraction of a second; shared by the CLI tests.
  static let tinyConfig = """
    objective: 9
    lower_bound: 5
    acceptance_score: 9
    acceptance_episodes: 5
    experience: {refill_steps: 300, capacity: 600}
    pruning: {end_step: 300, minibatches_per_iteration: 100, evaluation_interval: 50, evaluation_episodes: 3, max_iterations: 3}
    distillation: {minibatches_per_epoch: 100, evaluation_interval: 50, evaluation_episodes: 3, max_epochs: 2}
    shrinking: {max_steps: 1}
    """

  /// A folder with two random CartPole teachers (a.safetensors, b.safetensors),
  /// one with 5 inputs (wrong.safetensors) and the tiny config.
  func fixtures() throws -> String {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for (name, seed, inputs) in [("a", UInt64(3), 4), ("b", UInt64(4), 4), ("wrong", UInt64(5), 5)] {
      var rng = SeededGenerator(seed: seed)
      let network = Network(.mlp(inputs: inputs, hidden: [8], outputs: 2), using: &rng)
      try ModelFile.save(
        Model(network: network, provenance: Provenance(environment: "CartPole-v0")),
        to: URL(fileURLWithPath: "\(folder)/\(name).safetensors"))
    }
    try Self.tinyConfig.write(toFile: "\(folder)/tiny.yaml", atomically: true, encoding: .utf8)
    return folder
  }

  func compress(_ folder: String, teacher: String, out: String = "out") throws -> (status: Int32, output: String) {
    try pops([
      "compress", "--teacher", "\(folder)/\(teacher).safetensors", "--env", "CartPole-v0", "--out", "\(folder)/\(out)",
      "--config", "\(folder)/tiny.yaml",
    ])
  }

  @Test func aSecondRunIntoAFolderInUseIsRefused() throws {
    let folder = try fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var lock: RunLock? = try RunLock(folder: URL(fileURLWithPath: "\(folder)/out"))
    let refused = try compress(folder, teacher: "a")
    #expect(refused.status != 0 && refused.output.contains("is in use by another pops run (pid \(getpid()))"), "\(refused.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/out/results.json"))
    _ = lock
    lock = nil  // released: the run may start
    let run = try compress(folder, teacher: "a")
    #expect(run.status == 0, "\(run.output)")
  }

  /// results.json and the report say how to rerun the run; the console's
  /// lines are kept in run.log (issue 15).
  @Test func aRunRecordsHowToRerunItAndKeepsItsLog() throws {
    let folder = try fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let run = try compress(folder, teacher: "a")
    #expect(run.status == 0, "\(run.output)")
    let record = try PoPSRecord.read(from: URL(fileURLWithPath: "\(folder)/out/results.json"))
    let r = try #require(record.reproducibility)
    #expect(r.command.contains("compress --teacher") && r.command.contains("--config"), "\(r.command)")
    #expect(r.configSha256.count == 64 && r.threads >= 1 && r.seed == 0 && !r.cpu.isEmpty && !r.kernels.isEmpty)
    let report = try String(contentsOfFile: "\(folder)/out/report.html", encoding: .utf8)
    #expect(report.contains("<h2>Reproducibility</h2>") && report.contains(r.configSha256))
    let log = try String(contentsOfFile: "\(folder)/out/run.log", encoding: .utf8)
    #expect(log.hasPrefix("--- ") && log.contains("step 1: accepted") && log.contains("done: "), "\(log)")
  }

  @Test func anotherTeacherIsRefusedNotIgnored() throws {
    let folder = try fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let first = try compress(folder, teacher: "a")
    #expect(first.status == 0, "\(first.output)")
    let other = try compress(folder, teacher: "b")
    #expect(other.status != 0 && other.output.contains("holds a run of another teacher than"), "\(other.output)")
    let same = try compress(folder, teacher: "a")
    #expect(same.status == 0, "\(same.output)")
  }

  @Test func aFailedStartLeavesNoFolderAndNoTeacherBehind() throws {
    let folder = try fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let wrong = try compress(folder, teacher: "wrong")
    #expect(wrong.status != 0, "\(wrong.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/out"), "a failed start left \(folder)/out")
    // The right teacher is not refused because of the failed attempt.
    let right = try compress(folder, teacher: "a")
    #expect(right.status == 0, "\(right.output)")
  }
}
