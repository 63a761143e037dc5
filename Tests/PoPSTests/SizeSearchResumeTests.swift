import Foundation
import PoPS
import Testing

/// A run resumed after a size search keeps the search's attempts: the steps
/// after it keep their numbers (and so their seeds), and no record is
/// overwritten. A kill inside a search drops its failed attempts and starts
/// it again; a finished run keeps every step.
struct SizeSearchResumeTests {
  /// A finished tiny run whose record is rewritten as if step 2's student had
  /// come from a size search: attempt 1 failed (step 2), attempt 2 passed (step 3).
  func searchedRecord(_ folder: URL) throws -> (PoPSOptions, PoPSRecord) {
    let teacherURL = try handMadeTeacherFile(in: folder)
    var config = try tinyConfig()
    config.shrinking.maxSteps = 3
    let options = PoPSOptions(config: config, output: folder.appendingPathComponent("run"), seed: 4, teacher: teacherURL)
    var record = try runPoPS(options)
    try #require(record.steps.count >= 2 && record.steps[0].studentAccepted && record.steps[1].studentAccepted)
    var failed = StepRecord(index: 2, input: record.steps[1].input, pruning: nil, seconds: 0)
    failed.searchAttempt = 1
    failed.studentArchitecture = "4-1-1-2"
    var passed = record.steps[1]
    passed.index = 3
    passed.searchAttempt = 2
    record.steps = [record.steps[0], failed, passed]
    return (options, record)
  }

  @Test func stepsAfterASearchKeepTheirNumbers() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (options, searchedRun) = try searchedRecord(folder)
    var record = searchedRun
    let searched = record.steps
    record.status = .running
    record.final = nil
    record.stopReason = nil
    try record.write(to: options.output.appendingPathComponent("results.json"))
    try FileManager.default.removeItem(at: options.output.appendingPathComponent("final.safetensors"))
    let resumed = try runPoPS(options)
    #expect(Array(resumed.steps.prefix(3)) == searched, "the search's attempts are kept as they were")
    let indices = resumed.steps.map(\.index)
    #expect(indices == Array(1...indices.count), "\(indices)")
    // maxSteps 3 counts shrinking steps, not attempts: step 4 runs.
    try #require(resumed.steps.count > 3, "no step after the search: \(indices)")
    #expect(resumed.steps[3].input.weights == searched[2].student?.weights, "step 4 starts from the accepted attempt")
  }

  @Test func aFinishedRunKeepsAFailedAttempt() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (options, record) = try searchedRecord(folder)
    try record.write(to: options.output.appendingPathComponent("results.json"))
    let rerun = try runPoPS(options)
    #expect(rerun.steps == record.steps, "rewriting a finished run's report keeps every step")
  }
}
