import Foundation
import PoPS
import Testing

/// metrics.jsonl rows: each kind of event writes the line it always wrote
/// (kind names, keys, number formatting), so logs of older and newer runs
/// read alike.
struct MetricsRowTests {
  static let score = EvaluationResult(returns: [200, 190], lengths: [200, 190])

  static func decoded<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(T.self, from: Data(json.utf8))
  }

  /// One event of every kind that carries a measurement (the teacher's
  /// training progress has no public initialiser; its kind is checked by name).
  static func events() throws -> [PoPSEvent] {
    let pruning = try decoded(
      PruningEvaluation.self,
      #"{"iteration": 2, "minibatch": 750, "scheduleStep": 3, "sparsity": 0.25, "mean": 195.5, "std": "inf", "paused": false, "saved": true}"#)
    let student = try decoded(
      StudentEvaluation.self,
      #"{"epoch": 1, "minibatch": 500, "learningRate": 0.0005, "mean": 180, "std": 2, "recycledUnits": 3, "loss": 0.125, "acceptance": {"episodes": 10, "mean": 190, "std": 1.5, "passed": true}}"#)
    return [
      .teacherEvaluated(architecture: "4-8-8-2", score: score),
      .pruningStarted(step: 1, architecture: "4-8-8-2", sizePercent: 100, baseline: false),
      .pruning(step: 1, pruning),
      .distillationStarted(step: 1, architecture: "4-5-4-2", redundancy: [0.5, 0.375]),
      .student(step: 1, student),
      .studentAccepted(step: 1, architecture: "4-5-4-2", sizePercent: 22.5, score: score),
      .finished(architecture: "4-5-4-2", sizePercent: 22.5, score: score),
    ]
  }

  /// The lines these events wrote before the kinds were an enum.
  static let expectedLines: [String] = [
    #"{"architecture":"4-8-8-2","elapsed_s":12.5,"episodes":2,"index":0,"kind":"teacher_evaluation","score_max":200,"score_mean":195,"score_min":190,"score_std":5,"time":"2023-11-14T22:13:20Z"}"#,
    #"{"architecture":"4-8-8-2","elapsed_s":12.5,"index":1,"kind":"ipp_start","size_percent":100,"step":1,"time":"2023-11-14T22:13:20Z"}"#,
    #"{"elapsed_s":12.5,"index":2,"iteration":3,"kind":"ipp_evaluation","minibatch":750,"paused":0,"saved":1,"score_mean":195.5,"score_std":"inf","sparsity":0.25,"step":1,"time":"2023-11-14T22:13:20Z"}"#,
    #"{"architecture":"4-5-4-2","elapsed_s":12.5,"index":3,"kind":"distillation_start","redundancy_1":0.5,"redundancy_2":0.375,"step":1,"time":"2023-11-14T22:13:20Z"}"#,
    #"{"acceptance_episodes":10,"acceptance_mean":190,"acceptance_passed":1,"acceptance_std":1.5,"elapsed_s":12.5,"epoch":2,"index":4,"kind":"distillation_evaluation","learning_rate":0.0005000000237487257,"loss":0.125,"minibatch":500,"recycled_units":3,"score_mean":180,"score_std":2,"step":1,"time":"2023-11-14T22:13:20Z"}"#,
    #"{"architecture":"4-5-4-2","elapsed_s":12.5,"episodes":2,"index":5,"kind":"student_accepted","score_max":200,"score_mean":195,"score_min":190,"score_std":5,"size_percent":22.5,"step":1,"time":"2023-11-14T22:13:20Z"}"#,
    #"{"architecture":"4-5-4-2","elapsed_s":12.5,"episodes":2,"index":6,"kind":"finished","score_max":200,"score_mean":195,"score_min":190,"score_std":5,"size_percent":22.5,"time":"2023-11-14T22:13:20Z"}"#,
  ]

  @Test func everyKindWritesTheLineItAlwaysWrote() throws {
    let time = Date(timeIntervalSince1970: 1_700_000_000)
    let lines = try Self.events().enumerated().map { index, event in
      try #require(MetricsRow(event, index: index)).jsonLine(time: time, elapsed: 12.5)
    }
    #expect(lines == Self.expectedLines)
  }

  /// Every kind's name in metrics.jsonl, as TensorBoard's tags and
  /// scripts reading the file know them.
  @Test func theKindsAreNamedAsBefore() {
    #expect(MetricsRow.Kind.allCases.map(\.rawValue) == [
      "teacher_progress", "teacher_evaluation", "ipp_start", "ipp_evaluation", "distillation_start",
      "distillation_evaluation", "student_accepted", "finished",
    ])
  }

  /// Milestones without a measurement write no row.
  @Test func milestonesWriteNoRow() {
    let events: [PoPSEvent] = [
      .resumingStage(step: 2, stage: .pruning, minibatch: 150), .pruningAlreadyDone(step: 2),
      .alreadyComplete(folder: URL(fileURLWithPath: "/tmp/run")),
    ]
    #expect(events.allSatisfy { MetricsRow($0, index: 0) == nil })
  }
}
