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

/// The student-training departures of docs/algorithm.md: restarts and the
/// relative convergence rule.
struct StudentTrainingTests {
  /// A student that is never accepted is drawn again every `restart_epochs`
  /// epochs within the same budget; each draw's evaluations say which it is.
  @Test func restartsDrawTheStudentAgainWithinTheBudget() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var run = try SizeSearchTests().searchRun({
      $0.distillation.maxEpochs = 3
      $0.distillation.restartEpochs = 1
      $0.objective = 999  // no evaluation reaches it: never accepted
    }, folder: folder)
    let result = try run.distil(.mlp(inputs: 4, hidden: [2], outputs: 2), step: 1)
    #expect(result.accepted == nil && result.epochs == 3)
    #expect(result.evaluations.map(\.start) == [1, 1, 2, 2, 3, 3])
    #expect(result.evaluations.allSatisfy { $0.loss != nil && $0.recycledUnits != nil })
    #expect(Set(result.evaluations.map(\.learningRate)).count == 1, "each draw starts the schedule again")
  }

  @Test func aStepThatCutsAFifthOfTheNetworkIsNotConvergence() throws {
    var shrinking = try PoPSConfig.preset(for: "CartPole-v0").shrinking
    shrinking.convergenceThreshold = 0.05
    shrinking.convergenceFraction = 0
    #expect(shrinking.convergence(fromPercent: 0.092, toPercent: 0.061, fromWeights: 92, toWeights: 61)
      == .converged(sizeDrop: 0.092 - 0.061, threshold: 0.05), "the reference's rule")
    shrinking.convergenceFraction = 0.2
    #expect(shrinking.convergence(fromPercent: 0.092, toPercent: 0.061, fromWeights: 92, toWeights: 61) == nil, "a third fewer weights")
    let stop = shrinking.convergence(fromPercent: 0.044, toPercent: 0.040, fromWeights: 44, toWeights: 40)
    guard case .convergedRelative(_, 0.05, let fraction, 0.2) = stop else { Issue.record("\(String(describing: stop))"); return }
    #expect(abs(fraction - 4.0 / 44) < 1e-12)
    #expect(shrinking.convergence(fromPercent: 10, toPercent: 5, fromWeights: 100, toWeights: 50) == nil, "over the threshold")
  }
}

struct PruningFailureSearchTests {
  @Test func theSmallestSizeKeepsTheLayerStack() {
    let mlp = Architecture.mlp(inputs: 4, hidden: [8, 13, 1], outputs: 2)
    #expect(Redundancy.smallest(mlp, minimumWidth: 2).summary == "4-2-2-1-2", "never wider than it was")
  }

  /// When IPP keeps no model (no redundancy measured), the run does not stop:
  /// the size search backs off from the smallest allowed size.
  @Test func aStepWhosePruningFailsSearchesDownFromTheCurrentSize() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let run = try SizeSearchTests().searchRun({
      $0.pruning.initialSparsity = 0.98  // every pruned model is far too sparse: IPP keeps none
      $0.pruning.finalSparsity = 0.99
      $0.shrinking.maxSteps = 1
    }, folder: folder)
    var options = run.options
    options.output = folder.appendingPathComponent("run2")
    let record = try runPoPS(options)
    #expect(record.steps.count == 2, "\(record.steps.map(\.studentArchitecture))")
    #expect(record.steps[0].pruned == nil && record.steps[0].searchAttempt == nil)
    #expect(record.steps[1].searchAttempt == 1 && record.steps[1].studentAccepted)
    #expect(record.steps[1].studentArchitecture == "4-3-3-2", "halfway in log width from 4-8-8-2 to 4-1-1-2")
    #expect(record.final?.architecture == "4-3-3-2")
    #expect(record.stopReason == .maxSteps(1))
  }
}

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
