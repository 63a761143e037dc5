import Foundation
import PoPS
import PoPSNN
import Testing

/// metrics.jsonl, TensorBoard event files (read back by TensorBoard's own
/// reader in the bridge's venv) and the report's account of a run.
struct MetricsTests {

  /// {"files", "records", "tags": {tag: [[step, value]]}} from scripts/read_tensorboard.py.
  func readTensorBoard(_ folder: String) throws -> [String: [[Double]]] {
    let output = try runTestPython([repositoryRoot.appendingPathComponent("scripts/read_tensorboard.py").path, folder])
    let object = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    return try #require(object["tags"] as? [String: [[Double]]])
  }

  @Test func aRunLogsEveryEvaluationToMetricsAndTensorBoardAndReportsEachStep() throws {
    // a.safetensors (and b.safetensors, another teacher) and tiny.yaml.
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let r = try pops([
      "compress", "--teacher", "\(folder)/a.safetensors", "--env", "CartPole-v0", "--out", "\(folder)/out",
      "--config", "\(folder)/tiny.yaml", "--tensorboard", "\(folder)/tb",
    ])
    #expect(r.status == 0, "\(r.output)")
    let record = try PoPSRecord.read(from: URL(fileURLWithPath: "\(folder)/out/results.json"))

    // metrics.jsonl: one row per evaluation, in order.
    let text = try String(contentsOfFile: "\(folder)/out/metrics.jsonl", encoding: .utf8)
    let rows = try text.split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(rows.map { $0["index"] as? Int } == rows.indices.map { $0 }, "indices 0, 1, 2, ...")
    let ipp = rows.filter { $0["kind"] as? String == "ipp_evaluation" }
    let expected = record.steps.flatMap(\.pruningEvaluations)
    #expect(ipp.count == expected.count && !expected.isEmpty, "\(ipp.count) IPP rows for \(expected.count) evaluations")
    #expect(zip(ipp, expected).allSatisfy { ($0["score_mean"] as? Double) == $1.mean && ($0["sparsity"] as? Double) == $1.sparsity })
    let students = rows.filter { $0["kind"] as? String == "distillation_evaluation" }
    #expect(students.count == record.steps.flatMap(\.studentEvaluations).count)
    #expect(rows.contains { $0["kind"] as? String == "teacher_evaluation" } && rows.last?["kind"] as? String == "finished")

    // The same numbers through TensorBoard's reader.
    let tags = try readTensorBoard("\(folder)/tb")
    let scores = try #require(tags["pops/ipp_score"], "tags: \(tags.keys.sorted())")
    #expect(scores.map { $0[1] } == expected.map { Double(Float($0.mean)) })
    #expect(scores.map { $0[0] } == ipp.map { Double($0["index"] as! Int) })
    #expect(tags["pops/sparsity"]?.count == expected.count && tags["pops/final_score"]?.count == 1)
    #expect(!students.isEmpty, "the tiny run distils students")
    #expect(tags["pops/student_score"]?.count == students.count)

    // The report tells each step and every evaluation.
    let report = try String(contentsOfFile: "\(folder)/out/report.html", encoding: .utf8)
    for section in ["What each step did", "Every evaluation", "success rate", "lower bound = 5.00", "Stopped because"] {
      #expect(report.contains(section), "report lacks '\(section)'")
    }
    for chart in ["sizes.svg", "pruning.svg", "weights-teacher.svg", "weights-final.svg"] {
      #expect(FileManager.default.fileExists(atPath: "\(folder)/out/\(chart)"), "missing \(chart)")
    }
    let returns = try #require(record.teacher?.scoreReturns)
    #expect(returns.count == record.teacher?.scoreEpisodes)
  }

  @Test func trainWritesItsCurvesToTensorBoard() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let r = try pops([
      "train", "--env", "CartPole-v0", "--out", "\(folder)/teacher", "--steps", "3000", "--tensorboard", "\(folder)/tb",
    ])
    #expect(r.status == 0, "\(r.output)")
    let tags = try readTensorBoard("\(folder)/tb")
    let returns = try #require(tags["charts/episodic_return"], "tags: \(tags.keys.sorted())")
    #expect(!returns.isEmpty && returns.map { $0[0] } == returns.map { $0[0] }.sorted(), "steps ascending")
    #expect(tags["charts/epsilon"] != nil && tags["losses/td_loss"] != nil)
  }
}
