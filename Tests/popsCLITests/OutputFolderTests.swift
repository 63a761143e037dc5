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

/// A run killed at a stage boundary and restarted ends with the same files
/// as the uninterrupted run (issue 13 case 5: the experience buffer carried
/// between stages used to make them differ).
struct ResumeEquivalenceTests {
  @Test func aRunKilledAfterAnAcceptedStepResumesToTheSameModels() throws {
    let fixtures = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: fixtures) }
    let config = OutputFolderTests.tinyConfig.replacingOccurrences(of: "shrinking: {max_steps: 1}", with: "shrinking: {max_steps: 3}")
    try config.write(toFile: "\(fixtures)/tiny.yaml", atomically: true, encoding: .utf8)
    func arguments(_ out: String) -> [String] {
      ["compress", "--teacher", "\(fixtures)/a.safetensors", "--env", "CartPole-v0", "--out", "\(fixtures)/\(out)",
       "--config", "\(fixtures)/tiny.yaml"]
    }
    let whole = try pops(arguments("whole"))
    #expect(whole.status == 0, "\(whole.output)")

    // The same run, killed as soon as step 1's student is accepted, then run again.
    let log = URL(fileURLWithPath: "\(fixtures)/killed.log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let process = Process()
    process.executableURL = popsExecutable()
    process.arguments = arguments("killed")
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    var killed = false
    while process.isRunning {
      if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("step 1: accepted") {
        kill(process.processIdentifier, SIGKILL)
        killed = true
        break
      }
      usleep(2_000)
    }
    process.waitUntilExit()
    let first = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    #expect(killed && !first.contains("done:"), "the kill did not land before the end:\n\(first)")
    let resumed = try pops(arguments("killed"))
    #expect(resumed.status == 0, "\(resumed.output)")

    let names = try FileManager.default.contentsOfDirectory(atPath: "\(fixtures)/whole").filter { $0.hasSuffix(".safetensors") }
    #expect(names.count >= 3)
    for name in names {
      let a = FileManager.default.contents(atPath: "\(fixtures)/whole/\(name)")
      let b = FileManager.default.contents(atPath: "\(fixtures)/killed/\(name)")
      #expect(a != nil && a == b, "\(name) differs after the resume")
    }
  }

  /// Inside a stage (issue 12): a run killed with SIGKILL after its first
  /// stage checkpoint, and one stopped there with Ctrl-C (SIGINT), both end
  /// with the uninterrupted run's files, byte for byte.
  @Test func aRunKilledOrInterruptedInsideAStageResumesToTheSameModels() throws {
    let fixtures = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: fixtures) }
    // IPP long enough (two iterations of 3,000 minibatches) to be caught inside it.
    let config = OutputFolderTests.tinyConfig.replacingOccurrences(
      of: "pruning: {end_step: 300, minibatches_per_iteration: 100,",
      with: "pruning: {end_step: 4000, minibatches_per_iteration: 3000,")
    try config.write(toFile: "\(fixtures)/tiny.yaml", atomically: true, encoding: .utf8)
    func arguments(_ out: String) -> [String] {
      ["compress", "--teacher", "\(fixtures)/a.safetensors", "--env", "CartPole-v0", "--out", "\(fixtures)/\(out)",
       "--config", "\(fixtures)/tiny.yaml", "--checkpoint-every", "200"]
    }
    let whole = try pops(arguments("whole"))
    #expect(whole.status == 0, "\(whole.output)")
    for (out, signal) in [("killed", SIGKILL), ("interrupted", SIGINT)] {
      let log = URL(fileURLWithPath: "\(fixtures)/\(out).log")
      FileManager.default.createFile(atPath: log.path, contents: nil)
      let process = Process()
      process.executableURL = popsExecutable()
      process.arguments = arguments(out)
      let handle = try FileHandle(forWritingTo: log)
      process.standardOutput = handle
      process.standardError = handle
      try process.run()
      // The signal goes once the first checkpoint exists (IPP is then under way).
      var sent = false
      while process.isRunning {
        if FileManager.default.fileExists(atPath: "\(fixtures)/\(out)/\(PoPSRun.stageCheckpointFile)") {
          kill(process.processIdentifier, signal)
          sent = true
          break
        }
        usleep(1_000)
      }
      process.waitUntilExit()
      let first = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      #expect(sent && !first.contains("done:"), "the signal did not land before the end:\n\(first)")
      if signal == SIGINT {
        #expect(process.terminationStatus == 130, "\(first)")
        #expect(first.contains("run the same command again to continue"), "\(first)")
      }
      let resumed = try pops(arguments(out))
      #expect(resumed.status == 0, "\(resumed.output)")
      #expect(resumed.output.contains("continues from its checkpoint"), "\(resumed.output)")
      let names = try FileManager.default.contentsOfDirectory(atPath: "\(fixtures)/whole").filter { $0.hasSuffix(".safetensors") }
      #expect(names.count >= 3)
      for name in names {
        let a = FileManager.default.contents(atPath: "\(fixtures)/whole/\(name)")
        let b = FileManager.default.contents(atPath: "\(fixtures)/\(out)/\(name)")
        #expect(a != nil && a == b, "\(out): \(name) differs after the resume")
      }
      #expect(!FileManager.default.fileExists(atPath: "\(fixtures)/\(out)/\(PoPSRun.stageCheckpointFile)"))
    }
  }
}
