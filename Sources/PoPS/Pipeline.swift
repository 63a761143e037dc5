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

/// Settings of a PoPS run (`pops run` / `pops compress`).
public struct PoPSOptions: Sendable {
  public var config: PoPSConfig
  /// The output folder. Re-running with the same folder resumes the run.
  public var output: URL
  public var seed: UInt64
  /// A trained teacher; nil: train one with `config.teacher` first.
  public var teacher: URL?
  public var mode: PoPSMode = .full
  /// Hidden widths of the student in `distill-only` mode.
  public var studentHidden: [Int]?

  public init(config: PoPSConfig, output: URL, seed: UInt64, teacher: URL?) {
    self.config = config
    self.output = output
    self.seed = seed
    self.teacher = teacher
  }
}

/// Progress of a PoPS run, for display.
public enum PoPSEvent: Sendable {
  case message(String)
  case teacherTraining(TrainingProgress)
  case pruning(step: Int, PruningEvaluation)
  case student(step: Int, StudentEvaluation)
}

/// Runs PoPS end to end and writes results.json, results.csv, plots,
/// report.html and final.safetensors into `options.output`. The record is
/// rewritten after every stage; an interrupted run restarted with the same
/// output folder continues after its last finished stage.
@discardableResult
public func runPoPS(_ options: PoPSOptions, events: (PoPSEvent) -> Void = { _ in }) throws -> PoPSRecord {
  let config = options.config
  if let problem = config.validationError() { throw ConfigError("config: \(problem)") }
  let out = options.output
  let fm = FileManager.default
  try fm.createDirectory(at: out, withIntermediateDirectories: true)
  let recordURL = out.appendingPathComponent("results.json")
  let start = Date()
  var record = PoPSRecord(mode: options.mode.rawValue, environment: config.environment, seed: options.seed, config: config)
  var previousSeconds = 0.0
  if fm.fileExists(atPath: recordURL.path) {
    let old = try PoPSRecord.read(from: recordURL)
    guard old.mode == record.mode, old.environment == record.environment, old.seed == record.seed, old.config == config else {
      throw ConfigError(
        "\(out.path) holds a run with other settings (mode \(old.mode), env \(old.environment), seed \(old.seed)); choose another --out or delete it")
    }
    if old.status == "done" {
      events(.message("run in \(out.path) is already complete; rewriting the report"))
    } else {
      events(.message("resuming the run in \(out.path) after \(old.steps.count) recorded step(s)"))
    }
    record = old
    previousSeconds = old.wallSeconds
  }
  func save(_ record: inout PoPSRecord) throws {
    record.wallSeconds = previousSeconds + Date().timeIntervalSince(start)
    try record.write(to: recordURL)
  }
  func stageRNG(_ step: Int, _ stage: UInt64) -> SeededGenerator {
    SeededGenerator(seed: options.seed &* 0x9E37_79B9 &+ UInt64(step) &* 1_000 &+ stage)
  }
  func model(_ name: String) -> URL { out.appendingPathComponent(name) }
  func provenance(_ role: String, _ score: EvaluationResult?) -> Provenance {
    var summary: [String: String] = [:]
    if let score {
      summary["eval_mean"] = String(format: "%.2f", score.mean)
      summary["eval_episodes"] = String(score.episodes)
    }
    return Provenance(environment: config.environment, seed: options.seed, role: role, summary: summary)
  }

  // Teacher.
  let teacherURL = model("teacher.safetensors")
  let teacher: Network
  if fm.fileExists(atPath: teacherURL.path) {
    teacher = try ModelFile.load(from: teacherURL).network
  } else if let given = options.teacher {
    let loaded = try ModelFile.load(from: given)
    teacher = loaded.network
    try ModelFile.save(loaded, to: teacherURL)
  } else {
    events(.message("training a \(config.teacher.algorithm) teacher (\(config.teacher.steps) steps at most)"))
    var teacherOptions = try TeacherTrainingOptions(
      environment: config.environment, output: out.appendingPathComponent("teacher"), seed: options.seed,
      steps: config.teacher.steps)
    teacherOptions.teacher = config.teacher
    // A run killed while its DQN teacher trained continues from the checkpoint.
    let checkpoint = out.appendingPathComponent("teacher/checkpoint.safetensors")
    teacherOptions.resume = config.teacher.algorithm == "dqn" && fm.fileExists(atPath: checkpoint.path)
    if teacherOptions.resume { events(.message("resuming the teacher from \(checkpoint.path)")) }
    let trained = try trainTeacher(teacherOptions) { events(.teacherTraining($0)) }
    guard trained.solved else {
      throw ConfigError(
        "the teacher did not reach \(config.environment)'s threshold in \(config.teacher.steps) steps (best \(trained.bestEvaluation?.mean ?? 0)); raise teacher.steps or pass --teacher")
    }
    record.teacherTrainingSeconds = trained.seconds
    let loaded = try ModelFile.load(from: URL(fileURLWithPath: trained.bestModel))
    teacher = loaded.network
    try ModelFile.save(loaded, to: teacherURL)
  }
  var env = try Environments.make(config.environment, seed: options.seed)
  var evalEnv = try Environments.make(config.environment, seed: options.seed &+ 1)
  guard teacher.architecture.inputCount == env.observationSpace.low.count,
    teacher.architecture.outputCount == env.actionSpace.count
  else {
    throw ConfigError("teacher \(teacher.architecture.summary) does not fit \(config.environment)")
  }
  let teacherWeights = teacher.weightCount
  if record.teacher == nil {
    let score = evaluate(teacher, in: &evalEnv, episodes: config.acceptanceEpisodes, seed: 123_456_789)
    events(.message("teacher \(teacher.architecture.summary): \(score.summary)"))
    record.teacher = NetworkRecord(teacher, teacherWeights: teacherWeights, score: score, model: "teacher.safetensors")
    try save(&record)
  }
  var buffer = ExperienceBuffer(
    capacity: config.experience.capacity, observationCount: teacher.architecture.inputCount,
    actionCount: teacher.architecture.outputCount)

  // Resume: keep the steps whose stages finished; the current network is the newest accepted student.
  var current = teacher
  var finished = false
  var kept: [StepRecord] = []
  for step in record.steps {
    if step.studentAccepted, let file = step.student?.model {
      current = try ModelFile.load(from: model(file)).network
      kept.append(step)
    } else if step.pruned != nil {
      kept.append(step)  // IPP finished, student to redo
    }
  }
  record.steps = kept
  if record.status == "done" {
    finished = true
    // A finished run keeps its result (for prune-only it is no student).
    let finalURL = model("final.safetensors")
    if FileManager.default.fileExists(atPath: finalURL.path) { current = try ModelFile.load(from: finalURL).network }
  }

  switch options.mode {
  case .distillOnly where !finished:
    guard let hidden = options.studentHidden, !hidden.isEmpty else {
      throw ConfigError("distill-only needs --hidden (e.g. 16,16,8)")
    }
    let architecture = Architecture.mlp(
      inputs: teacher.architecture.inputCount, hidden: hidden, outputs: teacher.architecture.outputCount)
    var rng = stageRNG(1, 2)
    let started = Date()
    events(.message("distilling a \(architecture.summary) student"))
    let result = distilStudent(
      architecture, teacher: teacher, config: config, environment: &env, evaluationEnvironment: &evalEnv,
      buffer: &buffer, rng: &rng) { events(.student(step: 1, $0)) }
    var step = StepRecord(
      index: 1, input: record.teacher!, pruned: nil, redundancy: [], pruningEvaluations: [], pruningIterations: 0,
      pruningMinibatches: 0, pruningStopReason: "", pruningSeconds: 0, student: nil,
      studentArchitecture: architecture.summary, studentEvaluations: result.evaluations, studentEpochs: result.epochs,
      studentSeconds: Date().timeIntervalSince(started), studentAccepted: result.accepted != nil)
    if let accepted = result.accepted {
      try ModelFile.save(Model(network: accepted, provenance: provenance("pops-student", result.acceptance)), to: model("step-1-student.safetensors"))
      step.student = NetworkRecord(accepted, teacherWeights: teacherWeights, score: result.acceptance, model: "step-1-student.safetensors")
      current = accepted
      record.stopReason = "distilled the fixed student"
    } else {
      record.stopReason = "the fixed student never reached the objective in \(config.distillation.maxEpochs) epochs"
    }
    record.steps = [step]
  case .pruneOnly where !finished:
    var rng = stageRNG(1, 1)
    let started = Date()
    events(.message("IPP on the teacher (prune-only baseline)"))
    let result = iterativePolicyPruning(
      teacher: teacher, start: teacher, config: config,
      learningRate: config.learningRate(sizeFraction: 1, epoch: 0), environment: &env,
      evaluationEnvironment: &evalEnv, buffer: &buffer, rng: &rng) { events(.pruning(step: 1, $0)) }
    var step = StepRecord(
      index: 1, input: record.teacher!, pruned: nil, redundancy: [], pruningEvaluations: result.evaluations,
      pruningIterations: result.iterations, pruningMinibatches: result.minibatches, pruningStopReason: result.stopReason,
      pruningSeconds: Date().timeIntervalSince(started), student: nil, studentArchitecture: nil, studentEvaluations: [],
      studentEpochs: 0, studentSeconds: 0, studentAccepted: false)
    if let best = result.best {
      let acceptance = evaluate(best, in: &evalEnv, episodes: config.acceptanceEpisodes, seed: 123_456_789)
      try ModelFile.save(Model(network: best, provenance: provenance("pops-pruned", acceptance)), to: model("step-1-pruned.safetensors"))
      step.pruned = NetworkRecord(best, teacherWeights: teacherWeights, score: acceptance, model: "step-1-pruned.safetensors")
      step.redundancy = Redundancy.perLayer(of: best)
      current = best
    }
    record.steps = [step]
    record.stopReason = "prune-only: \(result.stopReason)"
  case .full where !finished:
    try popsLoop(
      teacher: teacher, current: &current, record: &record, config: config,
      env: &env, evalEnv: &evalEnv, buffer: &buffer, stageRNG: stageRNG, save: save,
      saveModel: { network, name, role, score in
        try ModelFile.save(Model(network: network, provenance: provenance(role, score)), to: model(name))
      }, events: events)
  default:
    break
  }

  // Final model and report.
  let finalScore = evaluate(current, in: &evalEnv, episodes: config.acceptanceEpisodes, seed: 987_654_321)
  record.final = NetworkRecord(current, teacherWeights: teacherWeights, score: finalScore, model: "final.safetensors")
  try ModelFile.save(Model(network: current, provenance: provenance("pops-final", finalScore)), to: model("final.safetensors"))
  record.status = "done"
  try save(&record)
  try AtomicFile.write(Data(record.csv.utf8), to: model("results.csv"))
  try writeReport(record, teacher: teacher, final: current, to: out)
  events(.message("final \(current.architecture.summary): \(String(format: "%.2f", record.final!.sizePercent))% of the teacher's weights, \(finalScore.summary)"))
  return record
}

/// The outer PoPS loop (ALGORITHM.md sections 4-7).
private func popsLoop(
  teacher: Network, current: inout Network, record: inout PoPSRecord, config: PoPSConfig,
  env: inout any Environment, evalEnv: inout any Environment, buffer: inout ExperienceBuffer,
  stageRNG: (Int, UInt64) -> SeededGenerator, save: (inout PoPSRecord) throws -> Void,
  saveModel: (Network, String, String, EvaluationResult?) throws -> Void,
  events: (PoPSEvent) -> Void
) throws {
  let teacherWeights = teacher.weightCount
  var index = record.steps.count
  // A step whose IPP finished but whose student did not is completed first.
  if let last = record.steps.last, !last.studentAccepted { index -= 1 }
  while index < config.shrinking.maxSteps {
    let stepNumber = index + 1
    var step: StepRecord
    if index < record.steps.count {
      step = record.steps[index]
      events(.message("step \(stepNumber): IPP already done, distilling its student again"))
    } else {
      let fraction = Double(current.weightCount) / Double(teacherWeights)
      events(.message("step \(stepNumber): IPP on \(current.architecture.summary) (\(String(format: "%.2f", 100 * fraction))% of the teacher)"))
      var rng = stageRNG(stepNumber, 1)
      let started = Date()
      var start = current
      start.removeMasks()
      let result = iterativePolicyPruning(
        teacher: teacher, start: start, config: config,
        learningRate: config.learningRate(sizeFraction: fraction, epoch: 0), environment: &env,
        evaluationEnvironment: &evalEnv, buffer: &buffer, rng: &rng) { events(.pruning(step: stepNumber, $0)) }
      let input = NetworkRecord(current, teacherWeights: teacherWeights, score: nil, model: nil)
      step = StepRecord(
        index: stepNumber, input: input, pruned: nil, redundancy: [], pruningEvaluations: result.evaluations,
        pruningIterations: result.iterations, pruningMinibatches: result.minibatches,
        pruningStopReason: result.stopReason, pruningSeconds: Date().timeIntervalSince(started), student: nil,
        studentArchitecture: nil, studentEvaluations: [], studentEpochs: 0, studentSeconds: 0, studentAccepted: false)
      guard let best = result.best else {
        record.steps.append(step)
        record.stopReason = "step \(stepNumber): no pruned model met the objective (\(result.stopReason))"
        try save(&record)
        return
      }
      let name = "step-\(stepNumber)-pruned.safetensors"
      try saveModel(best, name, "pops-pruned", result.bestScore)
      step.pruned = NetworkRecord(best, teacherWeights: teacherWeights, score: result.bestScore, model: name)
      step.redundancy = Redundancy.perLayer(of: best)
      record.steps.append(step)
      try save(&record)
    }
    let shrunk = Redundancy.shrink(
      current.architecture, redundancy: step.redundancy, minimumWidth: config.shrinking.minimumWidth)
    let shrunkWeights = Network(shrunk, parameters: shrunk.parameterShapes.map { Tensor(shape: $0) }).weightCount
    step.studentArchitecture = shrunk.summary
    if shrunkWeights >= current.weightCount {
      record.steps[index] = step
      record.stopReason = "converged: shrinking \(current.architecture.summary) gives no smaller network"
      try save(&record)
      return
    }
    events(.message("step \(stepNumber): redundancy \(step.redundancy.map { String(format: "%.3f", $0) }.joined(separator: ", ")) -> distilling \(shrunk.summary)"))
    var rng = stageRNG(stepNumber, 2)
    let started = Date()
    let result = distilStudent(
      shrunk, teacher: teacher, config: config, environment: &env, evaluationEnvironment: &evalEnv,
      buffer: &buffer, rng: &rng) { events(.student(step: stepNumber, $0)) }
    step.studentEvaluations = result.evaluations
    step.studentEpochs = result.epochs
    step.studentSeconds = Date().timeIntervalSince(started)
    guard let accepted = result.accepted else {
      record.steps[index] = step
      record.stopReason = "step \(stepNumber): the \(shrunk.summary) student never passed in \(config.distillation.maxEpochs) epochs"
      try save(&record)
      return
    }
    let name = "step-\(stepNumber)-student.safetensors"
    try saveModel(accepted, name, "pops-student", result.acceptance)
    step.student = NetworkRecord(accepted, teacherWeights: teacherWeights, score: result.acceptance, model: name)
    step.studentAccepted = true
    record.steps[index] = step
    let before = 100 * Double(current.weightCount) / Double(teacherWeights)
    let after = 100 * Double(accepted.weightCount) / Double(teacherWeights)
    current = accepted
    events(.message("step \(stepNumber): accepted \(accepted.architecture.summary) at \(String(format: "%.2f", after))% of the teacher, \(result.acceptance!.summary)"))
    try save(&record)
    if before - after < config.shrinking.convergenceThreshold {
      record.stopReason = "converged: size fell by \(String(format: "%.3f", before - after)) percentage points (< \(config.shrinking.convergenceThreshold))"
      try save(&record)
      return
    }
    index += 1
  }
  record.stopReason = "reached max_steps (\(config.shrinking.maxSteps))"
}
