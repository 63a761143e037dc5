import Foundation

/// A run's output folder (`PoPSOptions.output`): one run at a time holds it
/// (`RunLock`), its record is results.json, a run recorded there is
/// continued only under the same settings, and every measurement also goes
/// to its metrics.jsonl. Opening the folder takes its lock; the record is
/// read and written when the run asks.
public struct RunFolder {
  /// The record's file name inside the folder.
  public static let recordFile = "results.json"
  public let url: URL
  /// The folder's lock, held as long as a copy of this value lives.
  let lock: RunLock

  /// Takes the folder's lock, creating the folder if needed. A folder
  /// another run holds is refused (a `ConfigError` naming its pid).
  public init(_ url: URL) throws {
    lock = try RunLock(folder: url)
    self.url = url
  }

  /// A file of the folder.
  public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

  /// The record a run of `fresh`'s mode, environment, seed and config
  /// continues: the folder's results.json, or nil when it has none. A record
  /// of other settings is refused with a `ConfigError` naming them (and the
  /// first config field that differs), never overwritten.
  public func recordToContinue(_ fresh: PoPSRecord) throws -> PoPSRecord? {
    let recordURL = file(Self.recordFile)
    guard FileManager.default.fileExists(atPath: recordURL.path) else { return nil }
    let old = try PoPSRecord.read(from: recordURL)
    let config = fresh.config
    guard old.mode == fresh.mode, old.environment == fresh.environment, old.seed == fresh.seed, old.config == config else {
      let differs = old.config == config ? "" : Self.firstDifference(old.config, config).map { "; \($0)" } ?? ""
      throw ConfigError(
        "\(url.path) holds a run with other settings (mode \(old.mode.rawValue), env \(old.environment), seed \(old.seed)\(differs)); choose another output folder or delete it")
    }
    return old
  }

  /// Writes `record` as the folder's results.json.
  public func write(_ record: PoPSRecord) throws {
    try record.write(to: file(Self.recordFile))
  }

  /// The folder's metrics.jsonl (and TensorBoard's files in `tensorBoard`),
  /// its clock continuing from `previousSeconds`. Rows wait in memory until
  /// `MetricsLog.start()`, so a start that is refused writes nothing.
  func metricsLog(previousSeconds: Double, tensorBoard: URL?) -> MetricsLog {
    MetricsLog(folder: url, previousSeconds: previousSeconds, tensorBoard: tensorBoard)
  }

  /// For a start that failed: removes the lock file, and the folder too if
  /// opening it created the folder and nothing else was written there.
  public func abandon() { lock.abandon() }

  /// The first field (snake_case path) whose value differs between two
  /// configurations, as "FIELD is OLD there, NEW here".
  static func firstDifference(_ old: PoPSConfig, _ new: PoPSConfig) -> String? {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    guard let a = try? JSONSerialization.jsonObject(with: encoder.encode(old)),
      let b = try? JSONSerialization.jsonObject(with: encoder.encode(new))
    else { return nil }
    func walk(_ a: Any, _ b: Any, _ path: String) -> String? {
      if let x = a as? [String: Any], let y = b as? [String: Any] {
        for key in Set(x.keys).union(y.keys).sorted() {
          let field = path.isEmpty ? key : "\(path).\(key)"
          guard let u = x[key], let v = y[key] else { return "\(field) is set in only one of them" }
          if let found = walk(u, v, field) { return found }
        }
        return nil
      }
      let left = (a as? NSObject)?.description ?? "\(a)", right = (b as? NSObject)?.description ?? "\(b)"
      return (a as? NSObject) == (b as? NSObject) ? nil : "\(path) is \(left) there, \(right) here"
    }
    return walk(a, b, "")
  }
}
