import Foundation
import PoPS
import Testing

struct SizeSearchTests {
  @Test func betweenHalvesTheGapInLogWidth() throws {
    let big = Architecture.mlp(inputs: 4, hidden: [8, 8], outputs: 2)
    #expect(Redundancy.between(big, .mlp(inputs: 4, hidden: [2, 2], outputs: 2), minimumWidth: 1)?.summary == "4-4-4-2")
    #expect(Redundancy.between(.mlp(inputs: 4, hidden: [4, 4], outputs: 2), .mlp(inputs: 4, hidden: [2, 2], outputs: 2), minimumWidth: 1)?.summary == "4-3-3-2")
    #expect(Redundancy.between(.mlp(inputs: 4, hidden: [3, 3], outputs: 2), .mlp(inputs: 4, hidden: [2, 2], outputs: 2), minimumWidth: 1) == nil,
      "no width strictly between")
    let conv = Architecture.natureCNN(actions: 3)
    let small = Redundancy.resized(conv, widths: [8, 16, 16, 64])
    let middle = try #require(Redundancy.between(conv, small, minimumWidth: 4))
    #expect(middle.summary == "4x84x84-c16k8s4-c32k4s2-c32k3s1-181-3")
  }

  func searchRun(_ configure: (inout PoPSConfig) -> Void, folder: URL) throws -> PoPSRun {
    let teacherURL = try handMadeTeacherFile(in: folder)
    var config = try tinyConfig()
    config.shrinking.backoffAttempts = 3
    config.shrinking.minimumWidth = 1
    configure(&config)
    return try PoPSRun(PoPSOptions(config: config, output: folder.appendingPathComponent("run"), seed: 2, teacher: teacherURL))
  }

  /// After a failed student the search tries sizes between the last accepted
  /// network and the failed one, each a recorded step: with every student
  /// failing, each attempt halves the gap again towards the accepted size.
  @Test func everyAttemptIsRecordedAndBacksOffTowardsTheAcceptedSize() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var run = try searchRun({ $0.distillation.evaluationInterval = 100_000 }, folder: folder)  // students are never evaluated: none passes
    let failed = Architecture.mlp(inputs: 4, hidden: [1, 1], outputs: 2)
    let rescued = try run.searchBetween(run.teacher, failed: failed)
    #expect(rescued == nil)
    let attempts = run.record.steps
    #expect(attempts.map(\.searchAttempt) == [1, 2, 3])
    #expect(attempts.map { $0.studentArchitecture ?? "" } == ["4-3-3-2", "4-5-5-2", "4-6-6-2"])
    #expect(attempts.allSatisfy { $0.pruned == nil && !$0.studentAccepted && $0.input.architecture == "4-8-8-2" })
  }

  /// The search stops at the first student that passes and returns it.
  @Test func theFirstStudentThatPassesEndsTheSearch() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var run = try searchRun({ _ in }, folder: folder)
    let rescued = try run.searchBetween(run.teacher, failed: .mlp(inputs: 4, hidden: [1, 1], outputs: 2))
    let attempts = run.record.steps
    #expect(attempts.count == 1 && attempts[0].studentAccepted && attempts[0].searchAttempt == 1)
    #expect(rescued?.architecture.summary == "4-3-3-2")
    #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/\(attempts[0].student!.model!)").path))
  }

  @Test func theReportMarksSizeSearchSteps() throws {
    var (record, teacher, student) = try handMadeRecord()
    record.steps[0].searchAttempt = 2
    let folder = temporaryRunFolder()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try writeReport(record, teacher: teacher, final: student, to: folder)
    let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("<tr><td>step 1 student (size search 2)</td>"))
    let json = String(decoding: try JSONEncoder().encode(record.steps[0]), as: UTF8.self)
    #expect(json.contains("\"searchAttempt\":2"))
  }

  /// A run that accepts no student ends with the status no-student.
  @Test func aRunWithoutAStudentSaysSo() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = try handMadeTeacherFile(in: folder)
    var config = try tinyConfig()
    config.distillation.maxEpochs = 1
    config.distillation.evaluationInterval = 1_000  // never evaluated: never accepted
    var options = PoPSOptions(config: config, output: folder.appendingPathComponent("run"), seed: 1, teacher: teacherURL)
    options.mode = .distillOnly
    options.studentHidden = [1]
    let record = try runPoPS(options)
    #expect(record.status == .noStudent)
    #expect(record.final?.architecture == "4-8-8-2", "the result is the teacher")
    let reread = try PoPSRecord.read(from: folder.appendingPathComponent("run/results.json"))
    #expect(reread.status == .noStudent)
  }
}
