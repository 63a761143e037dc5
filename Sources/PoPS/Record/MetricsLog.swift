import Foundation

/// One measurement of a run as it happened: what produced it (`kind`), a
/// step that only grows within a run (`index`, for plotting), and its values.
public struct MetricsRow: Sendable {
  /// What produced a row; the raw value is its `kind` in metrics.jsonl.
  public enum Kind: String, CaseIterable, Sendable {
    case teacherProgress = "teacher_progress"
    case teacherEvaluation = "teacher_evaluation"
    case ippStart = "ipp_start"
    case ippEvaluation = "ipp_evaluation"
    case distillationStart = "distillation_start"
    case distillationEvaluation = "distillation_evaluation"
    case studentAccepted = "student_accepted"
    case finished
  }

  public var kind: Kind
  public var index: Int
  public var values: [String: Double]
  public var labels: [String: String]

  /// The row for `event`, or nil for events that carry no measurement.
  /// `index` is the number of rows before it in the run.
  public init?(_ event: PoPSEvent, index: Int) {
    self.index = index
    labels = [:]
    switch event {
    case .teacherTraining(let p):
      kind = .teacherProgress
      values = [
        "teacher_step": Double(p.step), "episodes": Double(p.episodes), "mean_return_100": p.meanReturn,
        "loss": Double(p.loss), "updates": Double(p.updates), "steps_per_second": p.stepsPerSecond,
      ]
      if let e = p.epsilon { values["epsilon"] = e }
      if let rate = p.learningRate { values["learning_rate"] = Double(rate) }
      if let evaluation = p.evaluation { values["evaluation_mean"] = evaluation.mean }
    case .teacherEvaluated(let architecture, let score):
      kind = .teacherEvaluation
      values = Self.score(score)
      labels["architecture"] = architecture
    case .pruningStarted(let step, let architecture, let size, _):
      kind = .ippStart
      values = ["step": Double(step), "size_percent": size]
      labels["architecture"] = architecture
    case .pruning(let step, let e):
      kind = .ippEvaluation
      values = [
        "step": Double(step), "iteration": Double(e.iteration + 1), "minibatch": Double(e.minibatch),
        "sparsity": e.sparsity, "score_mean": e.mean, "score_std": e.std, "paused": e.paused ? 1 : 0,
        "saved": e.saved ? 1 : 0,
      ]
    case .distillationStarted(let step, let architecture, let redundancy):
      kind = .distillationStart
      values = ["step": Double(step)]
      for (layer, r) in redundancy.enumerated() { values["redundancy_\(layer + 1)"] = r }
      labels["architecture"] = architecture
    case .student(let step, let e):
      kind = .distillationEvaluation
      values = [
        "step": Double(step), "epoch": Double(e.epoch + 1), "minibatch": Double(e.minibatch),
        "learning_rate": Double(e.learningRate), "score_mean": e.mean, "score_std": e.std,
      ]
      if let loss = e.loss { values["loss"] = loss }
      if let units = e.recycledUnits { values["recycled_units"] = Double(units) }
      if let a = e.acceptance {
        values["acceptance_mean"] = a.mean
        values["acceptance_std"] = a.std
        values["acceptance_episodes"] = Double(a.episodes)
        values["acceptance_passed"] = a.passed ? 1 : 0
      }
    case .studentAccepted(let step, let architecture, let size, let score):
      kind = .studentAccepted
      values = Self.score(score).merging(["step": Double(step), "size_percent": size]) { $1 }
      labels["architecture"] = architecture
    case .finished(let architecture, let size, let score):
      kind = .finished
      values = Self.score(score).merging(["size_percent": size]) { $1 }
      labels["architecture"] = architecture
    case .resuming, .alreadyComplete, .trainingTeacher, .resumingTeacher, .pruningAlreadyDone, .sizeSearch, .resumingStage:
      return nil
    }
  }

  static func score(_ s: EvaluationResult) -> [String: Double] {
    ["score_mean": s.mean, "score_std": s.std, "score_min": s.min, "score_max": s.max, "episodes": Double(s.episodes)]
  }

  /// One line of metrics.jsonl (keys sorted; non-finite values as strings).
  public func jsonLine(time: Date, elapsed: Double) -> String {
    var object: [String: Any] = ["kind": kind.rawValue, "index": index, "elapsed_s": elapsed]
    object["time"] = ISO8601DateFormatter().string(from: time)
    for (key, value) in values { object[key] = value.isFinite ? value : "\(value)" as Any }
    for (key, value) in labels { object[key] = value }
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }
}

/// metrics.jsonl in a run's folder: one JSON object per line for every
/// evaluation and stage, appended as it happens (a resumed run appends
/// after the rows of the first; `index` continues), and the same rows to
/// TensorBoard when a folder is given. Rows before `start()` (a run that
/// may still be refused) wait in memory, so a refused start writes nothing.
final class MetricsLog: @unchecked Sendable {
  private let url: URL
  private var handle: FileHandle?
  private let lock = NSLock()
  private var index = 0
  private let started = Date()
  private var previousSeconds: Double
  private let tensorBoardFolder: URL?
  private var tensorBoard: TensorBoardWriter?
  private var pending: [MetricsRow] = []
  private var isStarted = false

  init(folder: URL, previousSeconds: Double, tensorBoard: URL?) {
    url = folder.appendingPathComponent("metrics.jsonl")
    self.previousSeconds = previousSeconds
    tensorBoardFolder = tensorBoard
    // The index continues after the rows already there.
    index = (try? String(contentsOf: url, encoding: .utf8))?.split(separator: "\n").count ?? 0
  }

  deinit { try? handle?.close() }

  /// Opens the files and writes the rows recorded so far.
  func start() throws {
    lock.lock()
    defer { lock.unlock() }
    if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
    handle = try? FileHandle(forWritingTo: url)
    _ = try? handle?.seekToEnd()
    tensorBoard = try tensorBoardFolder.map { try TensorBoardWriter(folder: $0) }
    isStarted = true
    for row in pending { write(row) }
    pending = []
  }

  /// The file's length and row count now (what a stage checkpoint records).
  var position: (bytes: Int, rows: Int) {
    lock.lock()
    defer { lock.unlock() }
    let bytes = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0
    return (bytes, index)
  }

  /// Drops the rows written after `position` (a stage resumed from its
  /// checkpoint writes them again). Does nothing if the file is shorter.
  func rewind(toBytes bytes: Int, rows: Int) {
    lock.lock()
    defer { lock.unlock() }
    guard let handle, let size = try? handle.seekToEnd(), bytes >= 0, UInt64(bytes) <= size else { return }
    try? handle.truncate(atOffset: UInt64(bytes))
    index = rows
  }

  /// Makes the elapsed time now read `seconds` (a stage resumed from its checkpoint).
  func setElapsed(_ seconds: Double) {
    lock.lock()
    defer { lock.unlock() }
    previousSeconds = seconds - Date().timeIntervalSince(started)
  }

  func record(_ event: PoPSEvent) {
    lock.lock()
    defer { lock.unlock() }
    guard let row = MetricsRow(event, index: index) else { return }
    index += 1
    if isStarted { write(row) } else { pending.append(row) }
  }

  private func write(_ row: MetricsRow) {
    let elapsed = previousSeconds + Date().timeIntervalSince(started)
    try? handle?.write(contentsOf: Data((row.jsonLine(time: Date(), elapsed: elapsed) + "\n").utf8))
    tensorBoard?.write(row, wallTime: Date().timeIntervalSince1970)
  }
}
