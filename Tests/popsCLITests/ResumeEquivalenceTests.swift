import Foundation
import PoPS
import Testing

#if canImport(Glibc)
import Glibc
#endif

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
