import Foundation

// results.json's keys for the run and step records. Written out by hand
// (not synthesised) for one reason: each stop reason is stored twice, typed
// (`stop`, `pruning_stop`: tagged objects at full precision, what this
// version reads) and as its English sentence (`stop_reason`,
// `pruning_stop_reason`: for people, and all that records of earlier
// versions hold). A record without the typed key reads its sentence. A
// field added to either record must be added to its keys here.

/// Decodes the typed value under `typed`; a record without it (an earlier
/// version's), or with one this version cannot read while its sentence is
/// there (a later version's), reads the sentence under `sentence`.
private func decodeStopReason<Key: CodingKey, Reason: Decodable>(
  _ c: KeyedDecodingContainer<Key>, typed: Key, sentence: Key
) throws -> Reason? {
  do {
    if let reason = try c.decodeIfPresent(Reason.self, forKey: typed) { return reason }
  } catch {
    guard c.contains(sentence) else { throw error }
  }
  return try c.decodeIfPresent(Reason.self, forKey: sentence)
}

extension StepRecord {
  private enum Key: String, CodingKey {
    case index, input, pruned, redundancy, pruningEvaluations, pruningIterations, pruningMinibatches
    case pruningStop, pruningStopReason, pruningSeconds, student, studentArchitecture, studentEvaluations
    case studentEpochs, studentSeconds, studentAccepted, searchAttempt
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    index = try c.decode(Int.self, forKey: .index)
    input = try c.decode(NetworkRecord.self, forKey: .input)
    pruned = try c.decodeIfPresent(NetworkRecord.self, forKey: .pruned)
    redundancy = try c.decode([Double].self, forKey: .redundancy)
    pruningEvaluations = try c.decode([PruningEvaluation].self, forKey: .pruningEvaluations)
    pruningIterations = try c.decode(Int.self, forKey: .pruningIterations)
    pruningMinibatches = try c.decode(Int.self, forKey: .pruningMinibatches)
    pruningStopReason = try decodeStopReason(c, typed: .pruningStop, sentence: .pruningStopReason)
      ?? c.decode(IPPStopReason.self, forKey: .pruningStopReason)
    pruningSeconds = try c.decode(Double.self, forKey: .pruningSeconds)
    student = try c.decodeIfPresent(NetworkRecord.self, forKey: .student)
    studentArchitecture = try c.decodeIfPresent(String.self, forKey: .studentArchitecture)
    studentEvaluations = try c.decode([StudentEvaluation].self, forKey: .studentEvaluations)
    studentEpochs = try c.decode(Int.self, forKey: .studentEpochs)
    studentSeconds = try c.decode(Double.self, forKey: .studentSeconds)
    studentAccepted = try c.decode(Bool.self, forKey: .studentAccepted)
    searchAttempt = try c.decodeIfPresent(Int.self, forKey: .searchAttempt)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(index, forKey: .index)
    try c.encode(input, forKey: .input)
    try c.encodeIfPresent(pruned, forKey: .pruned)
    try c.encode(redundancy, forKey: .redundancy)
    try c.encode(pruningEvaluations, forKey: .pruningEvaluations)
    try c.encode(pruningIterations, forKey: .pruningIterations)
    try c.encode(pruningMinibatches, forKey: .pruningMinibatches)
    try c.encode(pruningStopReason, forKey: .pruningStop)
    try c.encode(pruningStopReason.description, forKey: .pruningStopReason)
    try c.encode(pruningSeconds, forKey: .pruningSeconds)
    try c.encodeIfPresent(student, forKey: .student)
    try c.encodeIfPresent(studentArchitecture, forKey: .studentArchitecture)
    try c.encode(studentEvaluations, forKey: .studentEvaluations)
    try c.encode(studentEpochs, forKey: .studentEpochs)
    try c.encode(studentSeconds, forKey: .studentSeconds)
    try c.encode(studentAccepted, forKey: .studentAccepted)
    try c.encodeIfPresent(searchAttempt, forKey: .searchAttempt)
  }
}

extension PoPSRecord {
  private enum Key: String, CodingKey {
    case formatVersion, popsVersion, mode, environment, seed, config, teacher, teacherTrainingSeconds
    case teacherSource, objectiveSource, steps, final, status, stop, stopReason, wallSeconds, reproducibility
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    formatVersion = try c.decode(Int.self, forKey: .formatVersion)
    popsVersion = try c.decode(String.self, forKey: .popsVersion)
    mode = try c.decode(PoPSMode.self, forKey: .mode)
    environment = try c.decode(String.self, forKey: .environment)
    seed = try c.decode(UInt64.self, forKey: .seed)
    config = try c.decode(PoPSConfig.self, forKey: .config)
    teacher = try c.decodeIfPresent(NetworkRecord.self, forKey: .teacher)
    teacherTrainingSeconds = try c.decodeIfPresent(Double.self, forKey: .teacherTrainingSeconds)
    teacherSource = try c.decodeIfPresent(ImportSource.self, forKey: .teacherSource)
    objectiveSource = try c.decodeIfPresent(ObjectiveSource.self, forKey: .objectiveSource)
    steps = try c.decode([StepRecord].self, forKey: .steps)
    final = try c.decodeIfPresent(NetworkRecord.self, forKey: .final)
    status = try c.decode(RunStatus.self, forKey: .status)
    stopReason = try decodeStopReason(c, typed: .stop, sentence: .stopReason)
    wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
    reproducibility = try c.decodeIfPresent(Reproducibility.self, forKey: .reproducibility)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(formatVersion, forKey: .formatVersion)
    try c.encode(popsVersion, forKey: .popsVersion)
    try c.encode(mode, forKey: .mode)
    try c.encode(environment, forKey: .environment)
    try c.encode(seed, forKey: .seed)
    try c.encode(config, forKey: .config)
    try c.encodeIfPresent(teacher, forKey: .teacher)
    try c.encodeIfPresent(teacherTrainingSeconds, forKey: .teacherTrainingSeconds)
    try c.encodeIfPresent(teacherSource, forKey: .teacherSource)
    try c.encodeIfPresent(objectiveSource, forKey: .objectiveSource)
    try c.encode(steps, forKey: .steps)
    try c.encodeIfPresent(final, forKey: .final)
    try c.encode(status, forKey: .status)
    try c.encodeIfPresent(stopReason, forKey: .stop)
    try c.encodeIfPresent(stopReason?.description, forKey: .stopReason)
    try c.encode(wallSeconds, forKey: .wallSeconds)
    try c.encodeIfPresent(reproducibility, forKey: .reproducibility)
  }
}
