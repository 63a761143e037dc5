import Foundation
import PoPS
import Testing

/// Stop reasons in results.json: typed (a tagged object, full precision)
/// beside their English sentence; records of earlier versions, which hold
/// only the sentence, still read.
struct StopReasonTests {
  static let reasons: [StopReason] = [
    .converged(sizeDrop: 0.0412, threshold: 0.05),
    .convergedRelative(sizeDrop: 0.031_25, threshold: 0.05, fraction: 0.123_456, fractionThreshold: 0.2),
    .sizeSearchFailed(step: 4, attempts: 3, accepted: "4-5-11-3-2"),
    .noSmallerNetwork(architecture: "4-3-3-2"),
    .noPrunedModel(step: 3, ipp: .failingIterations(5)),
    .noPrunedModel(step: 1, ipp: .unchangedNonZeros(iterations: 3, schedulePaused: true)),
    .studentNeverPassed(step: 2, architecture: "8-4-13-4-4", epochs: 40),
    .maxSteps(6),
    .distilledFixedStudent,
    .fixedStudentNeverPassed(epochs: 30),
    .pruneOnly(.maxIterations(30)),
    .pruneOnly(.unchangedNonZeros(iterations: 3, schedulePaused: false)),
    .recorded("gave up"),
  ]

  static let ippReasons: [IPPStopReason] = [
    .maxIterations(30), .failingIterations(2), .unchangedNonZeros(iterations: 3, schedulePaused: true),
    .unchangedNonZeros(iterations: 4, schedulePaused: false), .notRun, .recorded("ran out of patience"),
  ]

  /// `record` written to a fresh results.json: the file's JSON object and the record read back.
  func writtenAndRead(_ record: PoPSRecord) throws -> (json: [String: Any], read: PoPSRecord) {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent("results.json")
    try record.write(to: url)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    return (json, try PoPSRecord.read(from: url))
  }

  @Test(arguments: zip(reasons, reasons.indices.map { ippReasons[$0 % ippReasons.count] }))
  func aStopReasonRoundTripsThroughResultsJsonExactly(_ reason: StopReason, _ ipp: IPPStopReason) throws {
    var (record, _, _) = try handMadeRecord()
    record.stopReason = reason
    record.steps[0].pruningStopReason = ipp
    let (json, read) = try writtenAndRead(record)
    #expect(read.stopReason == reason)
    #expect(read.steps[0].pruningStopReason == ipp)
    // The sentence stays beside the typed value, for people reading the file.
    #expect(json["stop_reason"] as? String == reason.description)
    #expect((json["stop"] as? [String: Any])?["kind"] as? String == reason.kind.rawValue)
    let step = try #require((json["steps"] as? [[String: Any]])?.first)
    #expect(step["pruning_stop_reason"] as? String == ipp.description)
    #expect((step["pruning_stop"] as? [String: Any])?["kind"] as? String == ipp.kind.rawValue)
  }

  /// The sentence rounds (`%.3f`); the typed value keeps every digit.
  @Test func theTypedValueKeepsWhatTheSentenceRounds() throws {
    var (record, _, _) = try handMadeRecord()
    record.stopReason = .converged(sizeDrop: 0.0412, threshold: 0.05)
    let (json, read) = try writtenAndRead(record)
    #expect(json["stop_reason"] as? String == "converged: size fell by 0.041 percentage points (< 0.05)")
    let stop = try #require(json["stop"] as? [String: Any])
    #expect(stop.keys.sorted() == ["kind", "size_drop", "threshold"])
    #expect(stop["kind"] as? String == "converged" && stop["size_drop"] as? Double == 0.0412 && stop["threshold"] as? Double == 0.05)
    #expect(read.stopReason == .converged(sizeDrop: 0.0412, threshold: 0.05))
  }

  /// A nested IPP reason is an object of its own.
  @Test func aNestedReasonIsATaggedObjectToo() throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = .sortedKeys
    let text = String(decoding: try encoder.encode(StopReason.noPrunedModel(step: 3, ipp: .unchangedNonZeros(iterations: 4, schedulePaused: true))), as: UTF8.self)
    #expect(text == #"{"ipp":{"iterations":4,"kind":"unchanged_non_zeros","schedule_paused":true},"kind":"no_pruned_model","step":3}"#)
  }

  /// A record written before the typed form (only sentences) reads: the
  /// sentence is parsed, at the precision it kept.
  @Test func aSentenceOnlyRecordStillReads() throws {
    var (record, _, _) = try handMadeRecord()
    record.stopReason = .converged(sizeDrop: 0.0412, threshold: 0.05)
    record.steps[0].pruningStopReason = .unchangedNonZeros(iterations: 3, schedulePaused: true)
    let read = try readWithout(["stop", "pruning_stop"], from: record)
    #expect(read.stopReason == .converged(sizeDrop: 0.041, threshold: 0.05))
    #expect(read.steps[0].pruningStopReason == .unchangedNonZeros(iterations: 3, schedulePaused: true))
    // A sentence this version does not know is kept as written.
    let unknown = try readWithout(["stop", "pruning_stop"], from: record) {
      $0["stop_reason"] = "gave up"
    }
    #expect(unknown.stopReason == .recorded("gave up"))
  }

  /// A typed value this version cannot read (another version's kind) falls
  /// back to its sentence; without a sentence the record is refused.
  @Test func anUnknownKindReadsTheSentence() throws {
    let (record, _, _) = try handMadeRecord()
    let read = try readWithout([], from: record) {
      $0["stop"] = ["kind": "gave_up_later"]
      $0["stop_reason"] = "reached max_steps (3)"
    }
    #expect(read.stopReason == .maxSteps(3))
    #expect(throws: ConfigError.self) {
      try readWithout(["stop_reason"], from: record) { $0["stop"] = ["kind": "gave_up_later"] }
    }
  }

  /// `record` written, with `keys` removed (from the run and every step) and
  /// `edit` applied to the run's object, then read.
  @discardableResult
  func readWithout(_ keys: [String], from record: PoPSRecord, edit: (inout [String: Any]) -> Void = { _ in }) throws -> PoPSRecord {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent("results.json")
    try record.write(to: url)
    var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    var steps = try #require(json["steps"] as? [[String: Any]])
    for key in keys {
      json[key] = nil
      for i in steps.indices { steps[i][key] = nil }
    }
    json["steps"] = steps
    edit(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: url)
    return try PoPSRecord.read(from: url)
  }

  @Test func theSentencesAreTheOnesResultsJsonAlwaysHad() {
    #expect(StopReason.converged(sizeDrop: 0.021, threshold: 0.05).description
      == "converged: size fell by 0.021 percentage points (< 0.05)")
    #expect(StopReason.convergedRelative(sizeDrop: 0.031, threshold: 0.05, fraction: 0.125, fractionThreshold: 0.2)
      .description == "converged: size fell by 0.031 percentage points (< 0.05) and by 12.5% of the network (< 20%)")
    #expect(StopReason.studentNeverPassed(step: 2, architecture: "8-4-13-4-4", epochs: 40).description
      == "step 2: the 8-4-13-4-4 student never passed in 40 epochs")
    #expect(IPPStopReason.unchangedNonZeros(iterations: 3, schedulePaused: true).description
      == "non-zero weights unchanged for 3 iterations with the schedule paused")
    #expect(IPPStopReason.notRun.description == "")
  }

  /// Every sentence reads back as its reason (what an older record holds),
  /// to the sentence's precision.
  @Test(arguments: reasons)
  func everySentenceReadsBackAsItsReason(_ reason: StopReason) {
    let rounded: StopReason
    switch reason {
    case .converged(_, let threshold): rounded = .converged(sizeDrop: 0.041, threshold: threshold)
    case .convergedRelative(_, let threshold, _, let fractionThreshold):
      // The sentence holds the fraction in percent, to one decimal.
      rounded = .convergedRelative(sizeDrop: 0.031, threshold: threshold, fraction: 12.3 / 100, fractionThreshold: fractionThreshold)
    case .recorded:
      #expect(StopReason(sentence: reason.description) == nil, "an unknown sentence parses to nothing")
      return
    default: rounded = reason
    }
    #expect(StopReason(sentence: reason.description) == rounded)
  }

  /// Every run committed under docs/results, written by earlier versions
  /// with only sentences, reads: each stop reason parses to a case (not
  /// `recorded`), and written again the file is the same but for the typed
  /// keys it gains.
  @Test(arguments: ["cartpole-v0", "lunarlander-v3", "reference-cartpole-v0", "pong/pops", "pong/session7/pops-step1-ipp"])
  func theCommittedRunsReadAndWriteBackTheSame(_ name: String) throws {
    let url = repositoryRoot.appendingPathComponent("docs/results/\(name)/results.json")
    let original = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    #expect(original["stop"] == nil, "the committed run predates the typed stop reason")
    let record = try PoPSRecord.read(from: url)
    if let reason = record.stopReason {
      #expect(reason.kind != .recorded && reason.description == original["stop_reason"] as? String)
    }
    #expect((record.stopReason == nil) == (original["stop_reason"] == nil))
    for step in record.steps {
      #expect(step.pruningStopReason.kind != .recorded, "step \(step.index): \(step.pruningStopReason)")
    }
    if name == "pong/pops" {
      #expect(record.stopReason == .sizeSearchFailed(step: 3, attempts: 3, accepted: "4x84x84-c4k8s4-c6k4s2-c6k3s1-47-3"))
      #expect(record.steps.map(\.pruningStopReason) == [
        .failingIterations(3), .unchangedNonZeros(iterations: 3, schedulePaused: true), .failingIterations(3),
        .notRun, .notRun, .notRun,
      ])
    }
    let (json, read) = try writtenAndRead(record)
    var written = json
    #expect(written.removeValue(forKey: "stop") != nil || record.stopReason == nil)
    written["steps"] = (written["steps"] as? [[String: Any]])?.map { step in
      var step = step
      step["pruning_stop"] = nil
      return step
    }
    #expect(NSDictionary(dictionary: written).isEqual(to: original), "\(name): written again, the file changed")
    #expect(read.stopReason == record.stopReason && read.steps.map(\.pruningStopReason) == record.steps.map(\.pruningStopReason))
  }
}
