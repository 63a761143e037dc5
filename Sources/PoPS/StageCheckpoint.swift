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

/// Which stage a checkpoint belongs to; only the same stage of the same step
/// on the same network resumes from it.
struct StageKey: Codable, Equatable, Sendable {
  enum Kind: String, Codable, Sendable {
    case pruning, distillation
  }
  var kind: Kind
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

  /// The identity of the run a checkpoint belongs to: the settings, the seed
  /// and the teacher's weights, compared field by field on resume.
  private var runIdentity: [String: String] {
    [
      "mode": options.mode.rawValue, "environment": config.environment, "seed": String(seeds.run),
      "teacher_fingerprint": teacher.fingerprint, "config": Self.sortedJSON(options.config),
    ]
  }

  static func sortedJSON<Value: Encodable>(_ value: Value) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
  }

  /// Writes the stage's checkpoint atomically (replacing the previous one).
  func writeStageCheckpoint<State: Codable>(_ key: StageKey, _ snapshot: StageSnapshot<State>) throws {
    var archive = TensorArchive()
    archive.metadata = runIdentity
    archive.metadata["format"] = Self.stageCheckpointFormat
    archive.metadata["pops_checkpoint_version"] = String(Self.stageCheckpointVersion)
    archive.metadata["stage"] = Self.sortedJSON(key)
    archive.metadata["state"] = Self.sortedJSON(snapshot.state)
    archive.metadata["refills"] = Self.sortedJSON(refills)
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
  /// replaces it); one of another run is refused, naming what differs.
  mutating func resumeStage<State: Codable>(
    _ key: StageKey, as: State.Type, networks names: [String], optimizer: RMSProp
  ) throws -> StageSnapshot<State>? {
    let url = file(Self.stageCheckpointFile)
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    let archive = try TensorArchive.read(from: url)
    func refuse(_ problem: String) -> ConfigError {
      ConfigError("\(url.path): \(problem); delete it to restart the stage, or choose another output folder")
    }
    guard archive.metadata["format"] == Self.stageCheckpointFormat else {
      throw refuse("not a pops stage checkpoint (format \(archive.metadata["format"] ?? "missing"))")
    }
    guard archive.metadata["pops_checkpoint_version"] == String(Self.stageCheckpointVersion) else {
      throw refuse(
        "pops_checkpoint_version \(archive.metadata["pops_checkpoint_version"] ?? "missing") is not supported (this pops reads \(Self.stageCheckpointVersion))")
    }
    for (field, value) in runIdentity.sorted(by: { $0.key < $1.key }) where archive.metadata[field] != value {
      guard field == "config", let saved = archive.metadata[field].flatMap({ try? JSONDecoder().decode(PoPSConfig.self, from: Data($0.utf8)) })
      else { throw refuse("it belongs to another run: its \(field) is \(archive.metadata[field] ?? "missing"), this run's is \(value)") }
      let difference = Self.firstDifference(saved, options.config) ?? "the config differs"
      throw refuse("it belongs to another run: config \(difference)")
    }
    func decode<T: Decodable>(_ type: T.Type, _ field: String) throws -> T {
      guard let text = archive.metadata[field], let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
        throw refuse("its \(field) is missing or unreadable")
      }
      return value
    }
    guard try decode(StageKey.self, "stage") == key else { return nil }
    let state = try decode(State.self, "state")
    let saved = try decode([ExperienceRefill].self, "refills")
    var restored: [String: Network] = [:]
    for name in names where archive.arrays["\(name).parameters.0"] != nil {
      let shapes = key.architecture.parameterShapes
      var network = Network(key.architecture, parameters: try archive.tensors("\(name).parameters", shapes: shapes))
      for i in shapes.indices where archive.arrays["\(name).masks.\(i)"] != nil {
        network.masks[i] = Tensor(shape: shapes[i], scalars: try archive.floats("\(name).masks.\(i)", count: shapes[i].reduce(1, *)))
      }
      restored[name] = network
    }
    var optimizer = optimizer
    try optimizer.restore(from: archive, as: "rmsprop", shapes: key.architecture.parameterShapes)
    try replay(saved, checkpoint: url)
    let position = (archive.metadata["metrics"] ?? "").split(separator: " ").compactMap { Int($0) }
    if position.count == 2 { metrics.rewind(toBytes: position[0], rows: position[1]) }
    if let seconds = archive.metadata["wall_seconds"].flatMap(Double.init), seconds.isFinite, seconds >= 0 {
      setWallSeconds(seconds)
    }
    return StageSnapshot(state: state, networks: restored, optimizer: optimizer)
  }

  /// Plays the recorded refills again into the same slots of the buffer.
  private mutating func replay(_ saved: [ExperienceRefill], checkpoint url: URL) throws {
    guard let first = saved.first, buffer.rewind(position: first.position, count: first.count) else {
      throw ConfigError("\(url.path): its experience refills are missing or do not fit this buffer; delete it to restart the stage")
    }
    for refill in saved {
      var rng = refill.before
      try buffer.refill(
        from: teacher, in: &environment, steps: refill.steps, exploration: config.experience.exploration, using: &rng)
      guard rng.state == refill.after.state else {
        throw ConfigError(
          "\(url.path): the teacher's play does not replay as it was recorded (the environment or its version changed?); delete it to restart the stage")
      }
    }
    refills = saved
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
