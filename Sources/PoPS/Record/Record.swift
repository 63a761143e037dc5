import Foundation

/// A network's size and score as recorded in results.json.
public struct NetworkRecord: Codable, Sendable, Equatable {
  /// e.g. `4-256-256-128-2`
  public var architecture: String
  public var hidden: [Int]
  /// Output channels or units of every weight layer but the last (conv
  /// layers included; absent in records before session 6).
  public var widths: [Int]?
  /// Weights (biases excluded).
  public var weights: Int
  public var nonZeroPerLayer: [Int]
  public var parametersPerLayer: [Int]
  /// Non-zero weights as a percentage of the teacher's weights.
  public var sizePercent: Double
  public var scoreMean: Double?
  public var scoreStd: Double?
  public var scoreEpisodes: Int?
  /// Each episode's return in that evaluation (absent in records before session 6).
  public var scoreReturns: [Double]?
  /// File name of the model inside the output folder.
  public var model: String?

  public init(_ network: Network, teacherWeights: Int, score: EvaluationResult?, model: String?) {
    architecture = network.architecture.summary
    hidden = network.architecture.hiddenWidths
    widths = network.architecture.layers.compactMap { layer -> Int? in
      switch layer {
      case .linear(_, let outputs): return outputs
      case .conv2d(let c): return c.outChannels
      case .relu, .tanh, .flatten: return nil
      }
    }.dropLast()
    weights = network.weightCount
    nonZeroPerLayer = network.nonZeroWeightsPerLayer
    parametersPerLayer = network.weightIndices.map { network.parameters[$0].count }
    sizePercent = 100 * Double(network.nonZeroWeightCount) / Double(teacherWeights)
    scoreMean = score?.mean
    scoreStd = score?.std
    scoreEpisodes = score?.episodes
    scoreReturns = score?.returns
    self.model = model
  }

  /// The lowest and highest episode return, when the returns were kept.
  public var scoreRange: (min: Double, max: Double)? {
    guard let r = scoreReturns, let lo = r.min(), let hi = r.max() else { return nil }
    return (lo, hi)
  }

  /// The fraction of episodes whose return reached `threshold`.
  public func successRate(_ threshold: Double) -> Double? {
    guard let r = scoreReturns, !r.isEmpty else { return nil }
    return Double(r.filter { $0 >= threshold }.count) / Double(r.count)
  }
}

/// One PoPS step: IPP on the current network, then a shrunk dense student.
public struct StepRecord: Codable, Sendable, Equatable {
  public var index: Int
  /// The dense network that entered this step.
  public var input: NetworkRecord
  /// The sparsest pruned model that met the objective (nil if none).
  public var pruned: NetworkRecord?
  /// Per weight tensor, the redundancy the method measured on `pruned`
  /// (`Redundancy.perLayer(of:)`; empty when IPP kept no model).
  public var redundancy: [Double]
  public var pruningEvaluations: [PruningEvaluation]
  public var pruningIterations: Int
  public var pruningMinibatches: Int
  /// Stored typed (`pruning_stop`) and as its sentence (`pruning_stop_reason`): RecordCoding.swift.
  public var pruningStopReason: IPPStopReason
  public var pruningSeconds: Double
  /// The shrunk dense student (nil until distilled or if it failed).
  public var student: NetworkRecord?
  public var studentArchitecture: String?
  public var studentEvaluations: [StudentEvaluation]
  public var studentEpochs: Int
  public var studentSeconds: Double
  public var studentAccepted: Bool
  /// Set for a step of the size search that backs off after a failed
  /// student (1 for its first attempt); nil for the method's own steps.
  public var searchAttempt: Int?

  /// A step that ran IPP on `input` (`pruning`), or none (nil: the
  /// distill-only baseline). Its pruned model and student are recorded next.
  public init(index: Int, input: NetworkRecord, pruning: PruningResult?, seconds: Double) {
    self.index = index
    self.input = input
    pruned = nil
    redundancy = []
    pruningEvaluations = pruning?.evaluations ?? []
    pruningIterations = pruning?.iterations ?? 0
    pruningMinibatches = pruning?.minibatches ?? 0
    pruningStopReason = pruning?.stopReason ?? .notRun
    pruningSeconds = seconds
    student = nil
    studentArchitecture = nil
    studentEvaluations = []
    studentEpochs = 0
    studentSeconds = 0
    studentAccepted = false
  }

  /// Records IPP's result and the per-layer redundancy the method measured
  /// on it (`Redundancy.perLayer(of:)`, docs/algorithm.md section 5).
  public mutating func record(pruned: NetworkRecord, redundancy: [Double]) {
    self.pruned = pruned
    self.redundancy = redundancy
  }

  /// Records the distillation of the dense student `architecture`: `model`
  /// is the accepted student's record, nil when it never passed.
  public mutating func record(
    student result: StudentResult, architecture: Architecture, seconds: Double, model: NetworkRecord?
  ) {
    studentArchitecture = architecture.summary
    studentEvaluations = result.evaluations
    studentEpochs = result.epochs
    studentSeconds = seconds
    student = model
    studentAccepted = model != nil
  }
}

/// Where a run stands.
public enum RunStatus: String, Codable, Sendable {
  case running
  /// Finished with its result (an accepted student; prune-only: a sparse model).
  case done
  /// Finished without accepting any student: the result is the teacher itself.
  case noStudent = "no-student"
  case failed

  /// Finished: a rerun only rewrites the report.
  public var isFinished: Bool { self == .done || self == .noStudent }
}

/// The record of a whole run: results.json.
public struct PoPSRecord: Codable, Sendable {
  public static let currentFormatVersion = 1
  public var formatVersion = PoPSRecord.currentFormatVersion
  public var popsVersion = PoPSVersion.current
  public var mode: PoPSMode
  public var environment: String
  public var seed: UInt64
  public var config: PoPSConfig
  public var teacher: NetworkRecord?
  public var teacherTrainingSeconds: Double?
  /// Where a given teacher came from when it was imported from another
  /// format (file, format, sha256, layout, key mapping); nil for pops models.
  public var teacherSource: ImportSource?
  /// `teacher` when students were judged against the teacher's own score
  /// (its acceptance score then stands in for the config's); nil: the environment's.
  public var objectiveSource: ObjectiveSource?
  public var steps: [StepRecord] = []
  public var final: NetworkRecord?
  public var status = RunStatus.running
  /// Stored typed (`stop`) and as its sentence (`stop_reason`): RecordCoding.swift.
  public var stopReason: StopReason?
  public var wallSeconds: Double = 0
  /// How to rerun it: the command, versions, CPU, kernels, threads, config
  /// hash, as of the latest start or resume (nil in records before session 5).
  public var reproducibility: Reproducibility?

  /// The final model's file name inside the output folder.
  public static let finalFile = "final.safetensors"

  public init(mode: PoPSMode, environment: String, seed: UInt64, config: PoPSConfig) {
    self.mode = mode
    self.environment = environment
    self.seed = seed
    self.config = config
  }

  public func write(to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    try AtomicFile.write(encoder.encode(self), to: url)
  }

  public static func read(from url: URL) throws -> PoPSRecord {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let record: PoPSRecord
    do {
      record = try decoder.decode(PoPSRecord.self, from: Data(contentsOf: url))
    } catch {
      throw ConfigError("\(url.path): cannot read the run record (\(error))")
    }
    guard record.formatVersion == currentFormatVersion else {
      throw ConfigError("\(url.path): format_version \(record.formatVersion) is not supported (expected \(currentFormatVersion))")
    }
    return record
  }

  /// results.csv: one row per network, the teacher, then each step's pruned
  /// model and student, then the final network (RFC 4180, see `CSV`).
  public var csv: String {
    let header = [
      "step", "stage", "architecture", "weights", "non_zero", "size_percent", "non_zero_per_layer", "redundancy_per_layer",
      "score_mean", "score_std", "score_episodes", "seconds",
    ]
    func row(_ step: Int, _ stage: String, _ n: NetworkRecord, _ redundancy: [Double], _ seconds: Double?) -> [String] {
      let nonZero = n.nonZeroPerLayer.map(String.init).joined(separator: ";")
      let redundancyText = redundancy.map { String(format: "%.4f", $0) }.joined(separator: ";")
      let mean = n.scoreMean.map { String(format: "%.2f", $0) } ?? ""
      let std = n.scoreStd.map { String(format: "%.2f", $0) } ?? ""
      let episodes = n.scoreEpisodes.map(String.init) ?? ""
      let time = seconds.map { String(format: "%.1f", $0) } ?? ""
      return [
        String(step), stage, n.architecture, String(n.weights), String(n.nonZeroPerLayer.reduce(0, +)),
        String(format: "%.4f", n.sizePercent), nonZero, redundancyText, mean, std, episodes, time,
      ]
    }
    var rows: [[String]] = []
    if let teacher { rows.append(row(0, "teacher", teacher, [], teacherTrainingSeconds)) }
    for step in steps {
      if let pruned = step.pruned { rows.append(row(step.index, "pruned", pruned, step.redundancy, step.pruningSeconds)) }
      if let student = step.student { rows.append(row(step.index, "student", student, [], step.studentSeconds)) }
    }
    if let final { rows.append(row(steps.count, "final", final, [], nil)) }
    return CSV.text(header: header, rows: rows)
  }
}
