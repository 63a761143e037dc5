import Foundation

/// What `runPoPS` does.
public enum PoPSMode: String, Codable, Sendable, CaseIterable {
  /// Prune, shrink and distil until the size stops falling (the method).
  case full
  /// IPP on the teacher alone: the result is a sparse model (a baseline).
  case pruneOnly = "prune-only"
  /// Distil one fixed dense student (a baseline).
  case distillOnly = "distill-only"
}

/// What a run's students must score.
public enum ObjectiveSource: String, Codable, Sendable, CaseIterable {
  /// The environment's objective and acceptance score (the config's).
  case environment
  /// The teacher's own measured score, for a teacher under the objective.
  case teacher
}

/// Settings of a PoPS run (`pops run` / `pops compress`).
public struct PoPSOptions: Sendable {
  public var config: PoPSConfig
  /// The output folder. Re-running with the same folder resumes the run.
  public var output: URL
  public var seed: UInt64
  /// A trained teacher; nil: train one with `config.teacher` first.
  public var teacher: URL?
  public var mode: PoPSMode = .full
  /// What students are judged against: the environment's objective (a
  /// teacher under it is refused) or the teacher's own measured score.
  public var objective: ObjectiveSource = .environment
  /// Hidden widths of the student in `distill-only` mode.
  public var studentHidden: [Int]?
  /// A folder for TensorBoard event files of the run's metrics (nil: none;
  /// metrics.jsonl in the output folder is always written).
  public var tensorBoard: URL?
  /// How often IPP and distillation save their state so a killed run
  /// continues inside its stage (`stage-checkpoint.safetensors`).
  public var checkpoints: StageCheckpointInterval = .standard
  /// Asked between minibatches: once it returns true, the stage writes its
  /// checkpoint and the run throws `RunStopped` (the CLI's Ctrl-C).
  public var stopRequested: @Sendable () -> Bool = { false }

  public init(config: PoPSConfig, output: URL, seed: UInt64, teacher: URL?) {
    self.config = config
    self.output = output
    self.seed = seed
    self.teacher = teacher
  }
}

/// Runs PoPS end to end and writes results.json, results.csv, plots,
/// report.html and final.safetensors into `options.output`. The record is
/// rewritten after every stage; an interrupted run restarted with the same
/// output folder continues after its last finished stage.
@discardableResult
public func runPoPS(_ options: PoPSOptions, events: (PoPSEvent) -> Void = { _ in }) throws -> PoPSRecord {
  if options.mode == .distillOnly && (options.studentHidden ?? []).isEmpty {
    throw ConfigError("distill-only needs the student's hidden widths (e.g. 16,16,8)")
  }
  return try withoutActuallyEscaping(events) { events in
    var run = try PoPSRun(options, events: events)
    var result: Network
    if run.record.status.isFinished {
      // A finished run keeps its result (for prune-only it is no student).
      result = try run.newestNetwork()
      let finalURL = run.file(PoPSRecord.finalFile)
      if FileManager.default.fileExists(atPath: finalURL.path) { result = try ModelFile.load(from: finalURL).network }
    } else {
      switch options.mode {
      case .full: result = try run.popsLoop()
      case .pruneOnly: result = try run.pruneOnly()
      case .distillOnly: result = try run.distillOnly(hidden: options.studentHidden ?? [])
      }
    }
    try run.finish(with: result)
    return run.record
  }
}

extension PoPSRun {
  /// The newest accepted network of the recorded steps (the teacher if
  /// none). An unfinished run first drops what a kill left unfinished at the
  /// end of its record, to be done again: the failed attempts of a size
  /// search that was cut short (it starts again from its step's student) and
  /// a step whose IPP kept no model. A step whose IPP finished but whose
  /// student did not is kept, to be completed; so are the attempts of a
  /// search that ended, which keeps every later step's number (and seeds).
  mutating func newestNetwork() throws -> Network {
    if !record.status.isFinished {
      while let last = record.steps.last, !last.studentAccepted, last.searchAttempt != nil || last.pruned == nil {
        record.steps.removeLast()
      }
    }
    guard let name = record.steps.last(where: \.studentAccepted)?.student?.model else { return teacher }
    return try ModelFile.load(from: file(name)).network
  }

  /// The outer PoPS loop (docs/algorithm.md sections 4-7): prune the
  /// current network, shrink it by its redundancy, distil the shrunk
  /// student, until the size stops falling. Returns the smallest accepted
  /// network (the teacher if none was).
  mutating func popsLoop() throws -> Network {
    var current = try newestNetwork()
    var index = record.steps.count
    // A step whose IPP finished but whose student did not is completed first.
    if let last = record.steps.last, !last.studentAccepted { index -= 1 }
    // max_steps counts the method's steps (IPP, shrink, distil), not the size search's.
    func methodSteps() -> Int { record.steps.filter { $0.searchAttempt == nil }.count - (index < record.steps.count ? 1 : 0) }
    // After the size search rescued a step: continue from its student unless
    // the size converged (then the record says so and the loop ends).
    func goOn(from rescued: Network) throws -> Bool {
      let converged = convergence(from: current, to: rescued)
      current = rescued
      index = record.steps.count
      guard let converged else { return true }
      record.stopReason = converged
      try save()
      return false
    }
    while methodSteps() < config.shrinking.maxSteps {
      let stepNumber = index + 1
      var step: StepRecord
      if index < record.steps.count {
        step = record.steps[index]
        events(.pruningAlreadyDone(step: stepNumber))
      } else {
        events(.pruningStarted(
          step: stepNumber, architecture: current.architecture.summary, sizePercent: sizePercent(current), baseline: false))
        let started = Date()
        var start = current
        start.removeMasks()
        let result = try prune(start, step: stepNumber)
        let input = NetworkRecord(current, teacherWeights: teacherWeights, score: nil, model: nil)
        step = StepRecord(index: stepNumber, input: input, pruning: result, seconds: Date().timeIntervalSince(started))
        guard let best = result.best else {
          record.stopReason = .noPrunedModel(step: stepNumber, ipp: result.stopReason)
          try save(step: step)
          // No redundancy measured: back off from the smallest allowed size.
          let floor = Redundancy.smallest(current.architecture, minimumWidth: config.shrinking.minimumWidth)
          guard let rescued = try backOff(from: current, failed: floor, step: stepNumber), try goOn(from: rescued)
          else { return current }
          continue
        }
        let name = "step-\(stepNumber)-pruned.safetensors"
        try save(best, as: name, role: .pruned, score: result.bestScore)
        step.record(
          pruned: NetworkRecord(best, teacherWeights: teacherWeights, score: result.bestScore, model: name),
          redundancy: Redundancy.perLayer(of: best))
        try save(step: step)
      }
      let shrunk = shrink(current.architecture, redundancy: step.redundancy)
      step.studentArchitecture = shrunk.summary
      if shrunk.weightCount >= current.weightCount {
        record.stopReason = .noSmallerNetwork(architecture: current.architecture.summary)
        try save(step: step)
        return current
      }
      events(.distillationStarted(step: stepNumber, architecture: shrunk.summary, redundancy: step.redundancy))
      let started = Date()
      let result = try distil(shrunk, step: stepNumber)
      guard let accepted = try recordStudent(result, of: shrunk, startedAt: started, in: &step), let acceptance = result.acceptance
      else {
        record.stopReason = .studentNeverPassed(
          step: stepNumber, architecture: shrunk.summary, epochs: config.distillation.maxEpochs)
        try save(step: step)
        guard let rescued = try backOff(from: current, failed: shrunk, step: stepNumber), try goOn(from: rescued)
        else { return current }
        continue
      }
      let converged = convergence(from: current, to: accepted)
      current = accepted
      events(.studentAccepted(
        step: stepNumber, architecture: accepted.architecture.summary, sizePercent: sizePercent(accepted),
        score: acceptance))
      try save(step: step)
      if let converged {
        record.stopReason = converged
        try save()
        return current
      }
      index += 1
    }
    record.stopReason = .maxSteps(config.shrinking.maxSteps)
    return current
  }

  /// Tries sizes between `current` (accepted) and `failed` (a student that
  /// never passed, or the smallest allowed size when IPP kept no model).
  /// Returns the first student accepted, or nil with the record saved and
  /// its stop reason saying how the search ended.
  mutating func backOff(from current: Network, failed: Architecture, step stepNumber: Int) throws -> Network? {
    let attemptsBefore = record.steps.count
    if let rescued = try searchBetween(current, failed: failed) { return rescued }
    let attempts = record.steps.count - attemptsBefore
    if attempts > 0 {
      record.stopReason = .sizeSearchFailed(step: stepNumber, attempts: attempts, accepted: current.architecture.summary)
    }
    try save()
    return nil
  }

  /// The stop reason when a step from `before` to `after` means the size
  /// converged (docs/algorithm.md section 7), else nil.
  func convergence(from before: Network, to after: Network) -> StopReason? {
    config.shrinking.convergence(
      fromPercent: sizePercent(before), toPercent: sizePercent(after),
      fromWeights: before.weightCount, toWeights: after.weightCount)
  }

  /// The prune-only baseline: one IPP on the teacher; the result is its
  /// sparsest model that met the objective (the teacher if none did).
  mutating func pruneOnly() throws -> Network {
    events(.pruningStarted(step: 1, architecture: teacher.architecture.summary, sizePercent: 100, baseline: true))
    let started = Date()
    let result = try prune(teacher, step: 1)
    var step = StepRecord(
      index: 1, input: record.teacher!, pruning: result, seconds: Date().timeIntervalSince(started))
    var current = teacher
    if let best = result.best {
      let acceptance = try acceptanceEvaluation(best)
      let name = "step-1-pruned.safetensors"
      try save(best, as: name, role: .pruned, score: acceptance)
      step.record(
        pruned: NetworkRecord(best, teacherWeights: teacherWeights, score: acceptance, model: name),
        redundancy: Redundancy.perLayer(of: best))
      current = best
    }
    record.steps = [step]
    record.stopReason = .pruneOnly(result.stopReason)
    return current
  }

  /// The distill-only baseline: one dense student of the given hidden
  /// widths distilled from the teacher.
  mutating func distillOnly(hidden: [Int]) throws -> Network {
    let architecture = Architecture.mlp(
      inputs: teacher.architecture.inputCount, hidden: hidden, outputs: teacher.architecture.outputCount)
    events(.distillationStarted(step: 1, architecture: architecture.summary, redundancy: []))
    let started = Date()
    let result = try distil(architecture, step: 1)
    var step = StepRecord(index: 1, input: record.teacher!, pruning: nil, seconds: 0)
    let current = try recordStudent(result, of: architecture, startedAt: started, in: &step) ?? teacher
    record.stopReason = result.accepted != nil
      ? .distilledFixedStudent : .fixedStudentNeverPassed(epochs: config.distillation.maxEpochs)
    record.steps = [step]
    return current
  }

  /// Evaluates the result on fresh episodes and writes final.safetensors,
  /// results.json (done), results.csv, the plots and report.html.
  mutating func finish(with result: Network) throws {
    let score = try evaluate(result, episodes: config.acceptanceEpisodes, seed: Seeds.finalEpisodes)
    record.final = NetworkRecord(result, teacherWeights: teacherWeights, score: score, model: PoPSRecord.finalFile)
    try save(result, as: PoPSRecord.finalFile, role: .final, score: score)
    // A run whose method should end with a dense student but accepted none says so.
    let needsStudent = options.mode != .pruneOnly
    record.status = needsStudent && !record.steps.contains(where: \.studentAccepted) ? .noStudent : .done
    try save()
    // Every stage is recorded: its checkpoint has nothing left to resume.
    try? FileManager.default.removeItem(at: file(Self.stageCheckpointFile))
    try AtomicFile.write(Data(record.csv.utf8), to: file("results.csv"))
    try writeReport(record, teacher: teacher, final: result, to: options.output)
    events(.finished(architecture: result.architecture.summary, sizePercent: record.final!.sizePercent, score: score))
  }
}
