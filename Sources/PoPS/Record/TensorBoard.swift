import Foundation

/// TensorBoard event files written by pops itself: the TFRecord framing
/// (length, masked CRC-32C of the length, the record, masked CRC-32C of the
/// record) around `Event` protocol buffers, encoded here field by field
/// (wall_time = 1, step = 2, file_version = 3, summary = 5; Summary.value =
/// 1; Value.tag = 1, Value.simple_value = 2). `tensorboard --logdir DIR`
/// reads the folder; key names follow CleanRL's (`charts/...`, `losses/...`)
/// with PoPS' own under `pops/`.
public final class TensorBoardWriter: @unchecked Sendable {
  public let file: URL
  private let handle: FileHandle
  private let lock = NSLock()

  /// Creates `folder` and a new event file in it.
  public init(folder: URL) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let now = Date().timeIntervalSince1970
    let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
    file = folder.appendingPathComponent("events.out.tfevents.\(Int(now)).\(host).\(getpid()).pops")
    guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
      throw ConfigError("--tensorboard: cannot create \(file.path)")
    }
    handle = try FileHandle(forWritingTo: file)
    var event = Protobuf()
    event.double(1, now)
    event.varint(2, 0)
    event.bytes(3, Data("brain.Event:2".utf8))
    append(event.data)
  }

  deinit { try? handle.close() }

  /// One scalar at `step`.
  public func scalar(_ tag: String, _ value: Double, step: Int, wallTime: Double = Date().timeIntervalSince1970) {
    scalars([(tag, value)], step: step, wallTime: wallTime)
  }

  /// Several scalars at one step, in one event.
  public func scalars(_ values: [(String, Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) {
    guard !values.isEmpty else { return }
    var summary = Protobuf()
    for (tag, value) in values {
      var v = Protobuf()
      v.bytes(1, Data(tag.utf8))
      v.float(2, Float(value))
      summary.bytes(1, v.data)
    }
    var event = Protobuf()
    event.double(1, wallTime)
    event.varint(2, UInt64(bitPattern: Int64(step)))
    event.bytes(5, summary.data)
    append(event.data)
  }

  /// The scalars of one metrics row, under CleanRL-style names.
  func write(_ row: MetricsRow, wallTime: Double) {
    let v = row.values
    var out: [(String, Double)] = []
    func add(_ tag: String, _ key: String) { if let x = v[key] { out.append((tag, x)) } }
    var step = row.index
    switch row.kind {
    case .teacherProgress:
      step = Int(v["teacher_step"] ?? 0)
      add("charts/episodic_return", "mean_return_100")
      add("charts/epsilon", "epsilon")
      add("losses/td_loss", "loss")
      add("charts/SPS", "steps_per_second")
      add("charts/evaluation_return", "evaluation_mean")
      add("charts/learning_rate", "learning_rate")
    case .teacherEvaluation: add("pops/teacher_score", "score_mean")
    case .ippStart: add("pops/ipp_input_size_percent", "size_percent")
    case .ippEvaluation:
      add("pops/sparsity", "sparsity")
      add("pops/ipp_score", "score_mean")
      add("pops/ipp_paused", "paused")
    case .distillationStart:
      for key in v.keys.sorted() where key.hasPrefix("redundancy_") { add("pops/\(key)", key) }
    case .distillationEvaluation:
      add("pops/student_score", "score_mean")
      add("losses/distillation_kl", "loss")
      add("charts/learning_rate", "learning_rate")
    case .studentAccepted:
      add("pops/accepted_size_percent", "size_percent")
      add("pops/accepted_score", "score_mean")
    case .finished:
      add("pops/final_size_percent", "size_percent")
      add("pops/final_score", "score_mean")
    }
    scalars(out, step: step, wallTime: wallTime)
  }

  /// A teacher's training progress (`pops train --tensorboard`).
  public func write(teacher progress: TrainingProgress) {
    guard let row = MetricsRow(.teacherTraining(progress), index: 0) else { return }
    write(row, wallTime: Date().timeIntervalSince1970)
  }

  /// Appends one TFRecord and flushes it to the file.
  private func append(_ record: Data) {
    var header = Data()
    withUnsafeBytes(of: UInt64(record.count).littleEndian) { header.append(contentsOf: $0) }
    var frame = header
    withUnsafeBytes(of: CRC32C.masked(header).littleEndian) { frame.append(contentsOf: $0) }
    frame.append(record)
    withUnsafeBytes(of: CRC32C.masked(record).littleEndian) { frame.append(contentsOf: $0) }
    lock.lock()
    defer { lock.unlock() }
    try? handle.write(contentsOf: frame)
  }
}

/// A protocol buffer message built field by field (wire types 0, 1, 2, 5).
struct Protobuf {
  private(set) var data = Data()

  private mutating func raw(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      data.append(UInt8(v & 0x7f) | 0x80)
      v >>= 7
    }
    data.append(UInt8(v))
  }

  mutating func varint(_ field: Int, _ value: UInt64) {
    raw(UInt64(field << 3))
    raw(value)
  }

  mutating func double(_ field: Int, _ value: Double) {
    raw(UInt64(field << 3 | 1))
    withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
  }

  mutating func float(_ field: Int, _ value: Float) {
    raw(UInt64(field << 3 | 5))
    withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
  }

  mutating func bytes(_ field: Int, _ value: Data) {
    raw(UInt64(field << 3 | 2))
    raw(UInt64(value.count))
    data.append(value)
  }
}
