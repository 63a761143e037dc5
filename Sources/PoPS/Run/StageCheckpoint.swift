import Foundation

/// How often IPP and student distillation save their state to
/// `stage-checkpoint.safetensors` in the output folder, so a killed run
/// continues inside the stage it was in (issue 12: one IPP stage on the
/// Nature CNN takes tens of minutes). Where the checkpoints fall does not
/// change the run's result: a resumed stage continues exactly as the
/// uninterrupted one would have.
public enum StageCheckpointInterval: Sendable, Equatable {
  /// No stage checkpoints: a killed run restarts its stage.
  case never
  /// After every `n` minibatches of the stage.
  case minibatches(Int)
  /// At the first minibatch boundary `seconds` after the previous checkpoint.
  case seconds(Double)

  /// Every five minutes.
  public static let standard = StageCheckpointInterval.seconds(300)
}

/// Thrown when `PoPSOptions.stopRequested` asked a run to stop: the stage it
/// was in saved its checkpoint first; running again with the same output
/// folder continues from there.
public struct RunStopped: Error, CustomStringConvertible {
  public var checkpoint: URL
  public var description: String {
    "stopped at a stage checkpoint (\(checkpoint.path)); run the same command again to continue"
  }
}

/// One refill of the experience buffer as a stage checkpoint records it:
/// where it started writing and the random state before and after, so it
/// can be played again into the same slots. The teacher resets its
/// environment from `before` at the start of every refill, so a refill
/// depends on nothing else.
struct ExperienceRefill: Codable, Equatable, Sendable {
  var before: SeededGenerator
  var after: SeededGenerator
  var position: Int
  var count: Int
  var steps: Int
}

/// A stage of a PoPS step that checkpoints and resumes inside itself; the
/// raw value is its `kind` in a stage checkpoint.
public enum StageKind: String, Codable, Sendable {
  case pruning, distillation

  /// Its name in messages.
  public var name: String {
    switch self {
    case .pruning: return "IPP"
    case .distillation: return "distillation"
    }
  }
}

/// Which stage a checkpoint belongs to; only the same stage of the same step
/// on the same network resumes from it.
struct StageKey: Codable, Equatable, Sendable {
  var kind: StageKind
  var step: Int
  var architecture: Architecture
}

/// What a stage saves besides its own loop state: its networks and the
/// distiller's optimiser.
struct StageSnapshot<State: Codable> {
  var state: State
  var networks: [String: Network]
  var optimizer: RMSProp
}

/// Decides when the next checkpoint is due.
struct CheckpointClock {
  let interval: StageCheckpointInterval
  private var last = Date()

  init(_ interval: StageCheckpointInterval) { self.interval = interval }

  mutating func due(minibatches: Int) -> Bool {
    switch interval {
    case .never: return false
    case .minibatches(let n): return n > 0 && minibatches % n == 0
    case .seconds(let seconds):
      guard Date().timeIntervalSince(last) >= seconds else { return false }
      last = Date()
      return true
    }
  }
}

extension PoPSRun {
  /// The file a stage's checkpoint is written to, in the output folder.
  public static let stageCheckpointFile = "stage-checkpoint.safetensors"
  static let stageCheckpointFormat = "pops-stage-checkpoint"
  static let stageCheckpointVersion = 1

  /// The identity of the run a checkpoint belongs to besides its config:
  /// compared field by field on resume.
  private var runIdentity: [String: String] {
    [
      "mode": options.mode.rawValue, "environment": config.environment, "seed": String(seeds.run),
      "teacher_fingerprint": teacher.fingerprint,
    ]
  }

  /// JSON with sorted keys; non-finite numbers as "inf", "-inf", "nan" (a diverged loss).
  static func checkpointJSON<Value: Encodable>(_ value: Value) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  static var checkpointDecoder: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
  }

  /// At a minibatch boundary of a stage: when the run is asked to stop, writes
  /// the checkpoint and throws `RunStopped`; otherwise writes it when due.
  func stageBoundary(_ clock: inout CheckpointClock, minibatches: Int, checkpoint: () throws -> Void) throws {
    if options.stopRequested() {
      try checkpoint()
      throw RunStopped(checkpoint: file(Self.stageCheckpointFile))
    }
    if clock.due(minibatches: minibatches) { try checkpoint() }
  }

  /// Writes the stage's checkpoint atomically (replacing the previous one).
  func writeStageCheckpoint<State: Codable>(_ key: StageKey, _ snapshot: StageSnapshot<State>) throws {
    var archive = TensorArchive()
    archive.metadata = runIdentity
    archive.metadata["format"] = Self.stageCheckpointFormat
    archive.metadata["pops_checkpoint_version"] = String(Self.stageCheckpointVersion)
    archive.metadata["config"] = try Self.checkpointJSON(options.config)
    archive.metadata["stage"] = try Self.checkpointJSON(key)
    archive.metadata["state"] = try Self.checkpointJSON(snapshot.state)
    archive.metadata["refills"] = try Self.checkpointJSON(refills)
    let position = metrics.position
    archive.metadata["metrics"] = "\(position.bytes) \(position.rows)"
    archive.metadata["wall_seconds"] = String(wallSeconds)
    for (name, network) in snapshot.networks {
      archive.store(network.parameters, as: "\(name).parameters")
      for (i, mask) in network.masks.enumerated() {
        if let mask { archive.arrays["\(name).masks.\(i)"] = .float(mask.scalars) }
      }
    }
    snapshot.optimizer.store(in: &archive, as: "rmsprop")
    try archive.write(to: file(Self.stageCheckpointFile))
  }

  /// The checkpoint of stage `key` if the output folder holds one, with the
  /// experience buffer, refills and metrics.jsonl put back as they were when
  /// it was written. A checkpoint of another stage is ignored (a later one
  /// replaces it); one of another run, or one whose contents do not add up
  /// (`problem` judges the loop state), is refused naming the field.
  mutating func resumeStage<State: Codable>(
    _ key: StageKey, as: State.Type, networks names: [String], optional: [String] = [], optimizer: RMSProp,
    problem: (State) -> String?
  ) throws -> StageSnapshot<State>? {
    let url = file(Self.stageCheckpointFile)
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    func refuse(_ problem: String) -> ConfigError {
      ConfigError("\(url.path): \(problem); delete it to restart the stage, or choose another output folder")
    }
    let archive: TensorArchive
    do {
      archive = try TensorArchive.read(from: url)
    } catch {
      throw refuse("\(error)")
    }
    guard archive.metadata["format"] == Self.stageCheckpointFormat else {
      throw refuse("not a pops stage checkpoint (format \(archive.metadata["format"] ?? "missing"))")
    }
    guard archive.metadata["pops_checkpoint_version"] == String(Self.stageCheckpointVersion) else {
      throw refuse(
        "pops_checkpoint_version \(archive.metadata["pops_checkpoint_version"] ?? "missing") is not supported (this pops reads \(Self.stageCheckpointVersion))")
    }
    for (field, value) in runIdentity.sorted(by: { $0.key < $1.key }) where archive.metadata[field] != value {
      throw refuse("it belongs to another run: its \(field) is \(archive.metadata[field] ?? "missing"), this run's is \(value)")
    }
    func decode<T: Decodable>(_ type: T.Type, _ field: String) throws -> T {
      guard let text = archive.metadata[field], let value = try? Self.checkpointDecoder.decode(T.self, from: Data(text.utf8)) else {
        throw refuse("its \(field) is missing or unreadable")
      }
      return value
    }
    let saved = try decode(PoPSConfig.self, "config")
    if saved != options.config {
      throw refuse("it belongs to another run: config \(RunFolder.firstDifference(saved, options.config) ?? "differs")")
    }
    guard try decode(StageKey.self, "stage") == key else { return nil }
    let state = try decode(State.self, "state")
    if let problem = problem(state) { throw refuse("its state: \(problem)") }
    var restored: [String: Network] = [:]
    let shapes = key.architecture.parameterShapes
    var optimizer = optimizer
    do {
      for name in names + optional {
        guard archive.arrays["\(name).parameters.0"] != nil else {
          if names.contains(name) { throw refuse("its \(name) network is missing") }
          continue
        }
        var network = Network(key.architecture, parameters: try archive.tensors("\(name).parameters", shapes: shapes))
        for i in shapes.indices where archive.arrays["\(name).masks.\(i)"] != nil {
          network.masks[i] = Tensor(shape: shapes[i], scalars: try archive.floats("\(name).masks.\(i)", count: shapes[i].reduce(1, *)))
        }
        restored[name] = network
      }
      try optimizer.restore(from: archive, as: "rmsprop", shapes: shapes)
    } catch let error as ModelFileError {
      throw refuse(error.problem)
    }
    let recorded = try decode([ExperienceRefill].self, "refills")
    if let problem = refillProblem(recorded) { throw refuse("its refills: \(problem)") }
    try replay(recorded, refuse: refuse)
    let position = (archive.metadata["metrics"] ?? "").split(separator: " ").compactMap { Int($0) }
    if position.count == 2 { metrics.rewind(toBytes: position[0], rows: position[1]) }
    if let seconds = archive.metadata["wall_seconds"].flatMap(Double.init), seconds.isFinite, seconds >= 0 {
      setWallSeconds(seconds)
    }
    return StageSnapshot(state: state, networks: restored, optimizer: optimizer)
  }

  /// Why `recorded` cannot be the refills this run's buffer holds, or nil.
  private func refillProblem(_ recorded: [ExperienceRefill]) -> String? {
    let e = config.experience
    guard let first = recorded.first else { return "none recorded" }
    if recorded.count > e.capacity / e.refillSteps + 2 { return "\(recorded.count) is more than the buffer holds" }
    if let bad = recorded.first(where: { $0.steps != e.refillSteps }) {
      return "a refill of \(bad.steps) steps, experience.refill_steps is \(e.refillSteps)"
    }
    guard (0..<e.capacity).contains(first.position), (0...e.capacity).contains(first.count) else {
      return "the first starts at slot \(first.position) with \(first.count) entries, outside a buffer of \(e.capacity)"
    }
    // Every slot must be written again, unless the first refill started from an empty buffer.
    if !(first.position == 0 && first.count == 0) && recorded.count * e.refillSteps < e.capacity {
      return "they cover \(recorded.count * e.refillSteps) of the buffer's \(e.capacity) entries"
    }
    return nil
  }

  /// Plays the recorded refills again into the same slots of the buffer.
  private mutating func replay(_ recorded: [ExperienceRefill], refuse: (String) -> ConfigError) throws {
    guard let first = recorded.first, buffer.rewind(position: first.position, count: first.count) else {
      throw refuse("its experience refills do not fit this buffer")
    }
    for refill in recorded {
      var rng = refill.before
      try refillBuffer(using: &rng)
      guard rng == refill.after else {
        throw refuse("the teacher's play does not replay as it was recorded (the environment or its version changed?)")
      }
    }
    refills = recorded
  }
}

extension Network {
  /// A digest of the architecture and every parameter's bits (FNV-1a, 64 bits).
  var fingerprint: String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ value: UInt64) {
      hash ^= value
      hash = hash &* 0x100_0000_01b3
    }
    for value in architecture.parameterShapes.joined() { mix(UInt64(value)) }
    for parameter in parameters {
      parameter.scalars.withUnsafeBufferPointer { for x in $0 { mix(UInt64(x.bitPattern)) } }
    }
    return String(hash, radix: 16)
  }
}
