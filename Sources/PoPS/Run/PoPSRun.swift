import Foundation

/// One PoPS run: the teacher, the settings, the environments its stages play
/// in, the experience buffer they share, the output folder and the record
/// written there. `runPoPS` drives it; its methods are the method's stages
/// (docs/algorithm.md sections 4-6): `prune`, `shrink`, `distil`, and
/// `save(step:)` to record a step.
public struct PoPSRun {
  public let options: PoPSOptions
  /// The settings in force: `options.config`, with the objective taken from
  /// the teacher's own score under `--objective teacher`.
  public private(set) var config: PoPSConfig
  public let seeds: Seeds
  /// The policy every student is distilled from.
  public let teacher: Network
  /// How observations enter the teacher, and so every student saved.
  public let input: ObservationEncoding
  /// Where the teacher plays to refill the experience buffer.
  public var environment: any Environment
  /// Where every evaluation plays.
  public var evaluationEnvironment: any Environment
  /// Bridge workers that play an evaluation's episodes side by side (gym:
  /// environments on more than one thread; made at the first evaluation).
  var evaluationWorkers: VectorEnvironment? = nil
  /// The teacher's experience (docs/algorithm.md section 2).
  public var buffer: ExperienceBuffer
  /// The refills whose entries the buffer holds now, oldest first (what a
  /// stage checkpoint records instead of the buffer itself).
  var refills: [ExperienceRefill] = []
  /// OUT/metrics.jsonl (and TensorBoard's files when asked).
  let metrics: MetricsLog
  /// results.json as of now.
  public var record: PoPSRecord
  let events: (PoPSEvent) -> Void
  /// The output folder, its lock held as long as this run is open.
  let folder: RunFolder
  private let started = Date()
  private var previousSeconds: Double

  /// Opens `options.output`: continues the run recorded there (refusing one
  /// with other settings), takes or trains the teacher, and evaluates it once.
  public init(_ options: PoPSOptions, events: @escaping (PoPSEvent) -> Void = { _ in }) throws {
    let config = options.config
    if let problem = config.validationError() { throw ConfigError("config: \(problem)") }
    // One run per folder; a start that fails leaves no folder it made.
    let folder = try RunFolder(options.output)
    var started = false
    defer { if !started { folder.abandon() } }
    self.folder = folder
    self.options = options
    self.config = config
    seeds = Seeds(run: options.seed)
    var record = try Self.openRecord(in: folder, options, events: events)
    previousSeconds = record.wallSeconds
    // Every measurement also goes to OUT/metrics.jsonl (and TensorBoard when asked).
    let metrics = folder.metricsLog(previousSeconds: record.wallSeconds, tensorBoard: options.tensorBoard)
    let reported = events
    let events: (PoPSEvent) -> Void = { event in
      metrics.record(event)
      reported(event)
    }
    self.events = events
    self.metrics = metrics
    try Self.checkResources(config, seeds: seeds)
    let gate = TeacherGate(config: config, objective: options.objective)
    // A teacher to train is trained before the run's environments start (a
    // bridge's workers would idle for hours); a given one is checked against them.
    let held = FileManager.default.fileExists(atPath: folder.file(Self.teacherFile).path)
    let trained = held || options.teacher != nil
      ? nil : try Self.trainedTeacher(options, gate: gate, seeds: seeds, record: &record, events: events)
    environment = try Environments.make(config.environment, seed: seeds.trainingEnvironment)
    evaluationEnvironment = try Environments.make(config.environment, seed: seeds.evaluationEnvironment)
    let teacherModel = try trained ?? Self.givenTeacher(options, fitting: environment, record: &record)
    try teacherModel.network.checkFits(environment, id: config.environment)
    teacher = teacherModel.network
    input = teacherModel.input
    buffer = ExperienceBuffer(
      capacity: config.experience.capacity, observationCount: teacher.architecture.inputCount,
      actionCount: teacher.architecture.outputCount)
    self.record = record
    try admitTeacher(teacherModel, through: gate)
    if record.status.isFinished { events(.alreadyComplete(folder: folder.url)) }
    try metrics.start()
    started = true
  }

  /// The record this run writes: the folder's, when it holds this run (one
  /// of other settings is refused), else a new one; with this machine's
  /// reproducibility facts.
  private static func openRecord(
    in folder: RunFolder, _ options: PoPSOptions, events: (PoPSEvent) -> Void
  ) throws -> PoPSRecord {
    let fresh = PoPSRecord(mode: options.mode, environment: options.config.environment, seed: options.seed, config: options.config)
    var record = fresh
    if let old = try folder.recordToContinue(fresh) {
      // "Already complete" is said once the folder's teacher is known to be the given one (end of init).
      if !old.status.isFinished { events(.resuming(folder: folder.url, recordedSteps: old.steps.count)) }
      record = old
    }
    record.reproducibility = Reproducibility.current(config: options.config, seed: options.seed)
    return record
  }

  /// The stages' buffers must fit this machine: checked on the environment's
  /// spaces (the teacher's, which must fit them) before any teacher is trained.
  private static func checkResources(_ config: PoPSConfig, seeds: Seeds) throws {
    let probe = try Environments.make(config.environment, seed: seeds.evaluationEnvironment)
    if let problem = Resources.distillationProblem(
      config, observations: probe.observationSpace.low.count, actions: probe.actionSpace.count)
    {
      throw ConfigError("config: \(problem)")
    }
  }

  /// The teacher gate (`TeacherGate`) on the run's teacher: a teacher new
  /// to the folder is evaluated once, a recorded one keeps its recorded
  /// score. A teacher under the objective cannot have accepted students: it
  /// is refused before anything is written, or students are judged against
  /// its own score. A new teacher is then saved and recorded.
  private mutating func admitTeacher(_ model: Model, through gate: TeacherGate) throws {
    let fresh = record.teacher == nil
    let score = fresh ? try acceptanceEvaluation(teacher) : nil
    let mean = score?.mean ?? record.teacher?.scoreMean ?? 0, std = score?.std ?? record.teacher?.scoreStd ?? 0
    let episodes = score?.episodes ?? record.teacher?.scoreEpisodes ?? 1
    if case .judgedAgainstTeacher(let judged) = try gate.verdict(mean: mean, std: std, episodes: episodes) {
      config = judged
      record.objectiveSource = .teacher
    }
    guard fresh, let score else { return }
    let teacherURL = file(Self.teacherFile)
    try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)
    if !FileManager.default.fileExists(atPath: teacherURL.path) { try ModelFile.save(model, to: teacherURL) }
    events(.teacherEvaluated(architecture: teacher.architecture.summary, score: score))
    record.teacher = NetworkRecord(teacher, teacherWeights: teacherWeights, score: score, model: Self.teacherFile)
    try save()
  }

  /// The teacher's file name inside the output folder.
  static let teacherFile = "teacher.safetensors"

  /// The teacher the output folder holds, else the given file (imported if
  /// it is not a pops model, and copied there once it fits the environment).
  private static func givenTeacher(
    _ options: PoPSOptions, fitting environment: any Environment, record: inout PoPSRecord
  ) throws -> Model {
    let config = options.config
    let teacherURL = options.output.appendingPathComponent(teacherFile)
    let held = FileManager.default.fileExists(atPath: teacherURL.path) ? try ModelFile.load(from: teacherURL) : nil
    guard let given = options.teacher else {
      guard let held else { throw ConfigError("no teacher: give one or let the run train it") }
      return held
    }
    // Any importable file (pops, Stable-Baselines3, torch.save, safetensors, TF1), imported in memory.
    let (loaded, source) = try TeacherImport.load(given, options: ImportOptions(environment: config.environment))
    if let held {
      // The folder's run belongs to its teacher: another one is refused, not ignored.
      guard held.network.architecture == loaded.network.architecture, held.network.parameters == loaded.network.parameters else {
        throw ConfigError(
          "\(options.output.path) holds a run of another teacher than \(given.path) (sha256 \(source.sha256.prefix(12))...): its \(teacherFile) differs; choose another output folder or delete it")
      }
      return held
    }
    try loaded.network.checkFits(environment, id: config.environment)
    if source.format != .pops { record.teacherSource = source }
    // Saved into the output folder once it fits and meets the objective: a refused run writes nothing.
    return loaded
  }

  /// A teacher trained with `config.teacher` (continuing from its
  /// checkpoint if a killed run left one).
  private static func trainedTeacher(
    _ options: PoPSOptions, gate: TeacherGate, seeds: Seeds, record: inout PoPSRecord, events: (PoPSEvent) -> Void
  ) throws -> Model {
    let config = options.config
    events(.trainingTeacher(config.teacher.algorithm, maxSteps: config.teacher.steps))
    var teacherOptions = try TeacherTrainingOptions(
      environment: config.environment, output: options.output.appendingPathComponent("teacher"), seed: seeds.run,
      steps: config.teacher.steps)
    teacherOptions.teacher = config.teacher
    // Evaluations at the run's acceptance score go to the gate: it must meet the objective the way students do.
    teacherOptions.threshold = gate.threshold
    teacherOptions.acceptance = gate.acceptance
    let checkpoint = teacherOptions.output.appendingPathComponent(TeacherTrainingOptions.checkpointFile)
    teacherOptions.resume = FileManager.default.fileExists(atPath: checkpoint.path)
    if teacherOptions.resume { events(.resumingTeacher(checkpoint: checkpoint)) }
    let trained = try trainTeacher(teacherOptions) { events(.teacherTraining($0)) }
    guard let acceptedModel = trained.acceptedModel else { throw gate.refusal(of: trained) }
    record.teacherTrainingSeconds = trained.seconds
    return try ModelFile.load(from: URL(fileURLWithPath: acceptedModel))
  }

  /// The teacher's weight count: sizes are percentages of it.
  public var teacherWeights: Int { teacher.weightCount }

  /// `network`'s weights (dense size) as a percentage of the teacher's.
  public func sizePercent(_ network: Network) -> Double {
    100 * Double(network.weightCount) / Double(teacherWeights)
  }

  /// Greedy episodes of `network` in the evaluation environment.
  public mutating func evaluate(_ network: Network, episodes: Int, seed: UInt64) throws -> EvaluationResult {
    // Bridge environments play the episodes on several workers at once: the
    // emulators run side by side (same seeds per episode, same result).
    if (try? EnvironmentID(parsing: config.environment))?.isGymnasium == true && Compute.maxThreads > 1 && episodes > 1 {
      if evaluationWorkers == nil {
        evaluationWorkers = try VectorEnvironment(
          config.environment, count: Compute.maxThreads, seed: seeds.evaluationEnvironment)
      }
      return try PoPSAgents.evaluate(network, in: &evaluationWorkers!, episodes: episodes, seed: seed)
    }
    return try PoPSAgents.evaluate(network, in: &evaluationEnvironment, episodes: episodes, seed: seed)
  }

  /// The acceptance evaluation every student and the teacher face.
  public mutating func acceptanceEvaluation(_ network: Network) throws -> EvaluationResult {
    try evaluate(network, episodes: config.acceptanceEpisodes, seed: Seeds.acceptanceEpisodes)
  }

  /// The dense architecture a pruned network's redundancy calls for
  /// (docs/algorithm.md section 5).
  public func shrink(_ architecture: Architecture, redundancy: [Double]) -> Architecture {
    Redundancy.shrink(architecture, redundancy: redundancy, minimumWidth: config.shrinking.minimumWidth)
  }

  /// Saves `network` as `name` in the output folder, with its provenance.
  public func save(_ network: Network, as name: String, role: ModelRole, score: EvaluationResult?) throws {
    var summary: [String: String] = [:]
    if let score {
      summary["eval_mean"] = String(format: "%.2f", score.mean)
      summary["eval_episodes"] = String(score.episodes)
    }
    let provenance = Provenance(environment: config.environment, seed: seeds.run, role: role.name, summary: summary)
    try ModelFile.save(Model(network: network, provenance: provenance, input: input), to: file(name))
  }

  /// A file of the output folder.
  public func file(_ name: String) -> URL { folder.file(name) }

  /// Records `step` (replacing the step with its index, if recorded) and
  /// writes results.json.
  public mutating func save(step: StepRecord) throws {
    if let i = record.steps.firstIndex(where: { $0.index == step.index }) {
      record.steps[i] = step
    } else {
      record.steps.append(step)
    }
    try save()
  }

  /// The run's wall time so far, across the runs that resumed it.
  var wallSeconds: Double { previousSeconds + Date().timeIntervalSince(started) }

  /// Makes the wall time now read `seconds` (a stage resumed from its
  /// checkpoint: the time since that checkpoint was lost with the kill).
  mutating func setWallSeconds(_ seconds: Double) {
    previousSeconds = seconds - Date().timeIntervalSince(started)
    metrics.setElapsed(seconds)
  }

  /// Writes results.json with the run's wall time so far.
  public mutating func save() throws {
    record.wallSeconds = wallSeconds
    try folder.write(record)
  }
}
