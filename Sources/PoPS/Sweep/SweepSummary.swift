import Foundation

/// The study's table: one row per cell and one per environment x mode
/// (mean and std over seeds), written as summary.csv, summary.json and
/// summary.html (with a size-vs-score chart per environment).
public struct SweepSummary: Codable, Sendable {
  public struct Row: Codable, Sendable {
    public var environment: String
    public var mode: String
    public var seed: UInt64
    public var status: String
    public var teacherScore: Double?
    public var finalArchitecture: String?
    public var weights: Int?
    public var sizePercent: Double?
    public var scoreMean: Double?
    public var scoreStd: Double?
    public var episodes: Int?
    public var wallSeconds: Double?
  }

  public struct Group: Codable, Sendable {
    public var environment: String
    public var mode: String
    public var cells: Int
    public var finished: Int
    public var weightsMean: Double?
    public var weightsStd: Double?
    public var sizePercentMean: Double?
    public var sizePercentStd: Double?
    public var scoreMean: Double?
    public var scoreStd: Double?
  }

  public var rows: [Row]
  public var groups: [Group]

  /// Reads every cell's results.json (cells without one are "not run").
  public init(plan: SweepPlan, failed: Set<String> = []) {
    rows = plan.study.cells.map { cell in
      guard let record = plan.record(of: cell) else {
        return Row(environment: cell.environment, mode: cell.mode.rawValue, seed: cell.seed,
                   status: failed.contains(cell.name) ? "failed" : "not run")
      }
      let final = record.final
      let status = record.status.isFinished ? record.status.rawValue : (failed.contains(cell.name) ? "failed" : record.status.rawValue)
      // Prune-only ends with a sparse model: its size is its non-zero weights.
      let weights = final.map { cell.mode == .pruneOnly ? $0.nonZeroPerLayer.reduce(0, +) : $0.weights }
      let teacherWeights = record.teacher?.weights
      return Row(
        environment: cell.environment, mode: cell.mode.rawValue, seed: cell.seed, status: status,
        teacherScore: record.teacher?.scoreMean, finalArchitecture: final?.architecture, weights: weights,
        sizePercent: zip2(weights, teacherWeights).map { 100 * Double($0) / Double(max($1, 1)) },
        scoreMean: final?.scoreMean, scoreStd: final?.scoreStd, episodes: final?.scoreEpisodes,
        wallSeconds: record.wallSeconds)
    }
    var groups: [Group] = []
    for environment in plan.study.environments {
      for mode in plan.study.modes {
        let members = rows.filter { $0.environment == environment && $0.mode == mode.rawValue }
        let done = members.filter { $0.status == RunStatus.done.rawValue || $0.status == RunStatus.noStudent.rawValue }
        let weights = meanStd(done.compactMap { $0.weights.map(Double.init) })
        let size = meanStd(done.compactMap(\.sizePercent))
        let score = meanStd(done.compactMap(\.scoreMean))
        groups.append(Group(
          environment: environment, mode: mode.rawValue, cells: members.count, finished: done.count,
          weightsMean: weights?.mean, weightsStd: weights?.std, sizePercentMean: size?.mean, sizePercentStd: size?.std,
          scoreMean: score?.mean, scoreStd: score?.std))
      }
    }
    self.groups = groups
  }

  /// summary.csv: one row per cell (RFC 4180, see `CSV`: an environment id
  /// such as `gym:ALE/Pong-v5?actions=1,2,3` is one quoted field).
  public var csv: String {
    func text(_ value: Any?) -> String {
      switch value {
      case let d as Double: return String(format: "%.4f", d)
      case let v?: return "\(v)"
      case nil: return ""
      }
    }
    let header = [
      "environment", "mode", "seed", "status", "teacher_score", "final_architecture", "weights", "size_percent", "score_mean",
      "score_std", "episodes", "wall_seconds",
    ]
    let lines = rows.map { r -> [String] in
      let fields: [Any?] = [r.environment, r.mode, r.seed, r.status, r.teacherScore, r.finalArchitecture, r.weights, r.sizePercent,
                            r.scoreMean, r.scoreStd, r.episodes, r.wallSeconds]
      return fields.map(text)
    }
    return CSV.text(header: header, rows: lines)
  }

  public func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(self)
  }

  /// Size (% of the teacher, log scale) against score, one chart per
  /// environment, one colour per mode: each seed a dot, the mode's mean over
  /// seeds with a bar of +- one standard deviation.
  public func chart(for environment: String) -> String {
    var plot = SVGPlot(title: environment, xLabel: "size, % of the teacher's weights (log)", yLabel: "score (final evaluation)")
    plot.logX = true
    for (k, group) in groups.filter({ $0.environment == environment }).enumerated() {
      let members = rows.filter { $0.environment == environment && $0.mode == group.mode }
      var series = SVGPlot.Series(
        name: "\(group.mode) (\(group.finished) seeds)",
        points: members.compactMap { r in zip2(r.sizePercent, r.scoreMean).map { (x: $0, y: $1) } },
        color: SVGPlot.palette[k % SVGPlot.palette.count], lines: false)
      if let x = group.sizePercentMean, let y = group.scoreMean {
        series.errorBars = [(x: x, low: y - (group.scoreStd ?? 0), high: y + (group.scoreStd ?? 0))]
      }
      plot.series.append(series)
    }
    return plot.svg
  }

  public func html(title: String) -> String {
    func f(_ v: Double?, _ digits: Int = 2) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "" }
    var s = "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(escapeXML(title))</title>"
    s += "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style></head><body>"
    s += "<h1>\(escapeXML(title))</h1>"
    s += "<p>Each dot is one seed's final network; the bar is the mean over the seeds that finished +- one standard deviation. Scores are the final evaluation of results.json (mean over its episodes). Prune-only's size counts its non-zero weights (a sparse model); the others are dense.</p>"
    for environment in Set(rows.map(\.environment)).sorted() { s += chart(for: environment) }
    s += "<h2>By environment and mode (mean +- std over seeds)</h2><table><tr><th>environment</th><th>mode</th><th>finished</th><th>weights</th><th>% of teacher</th><th>score</th></tr>"
    for g in groups {
      s += "<tr><td>\(escapeXML(g.environment))</td><td>\(g.mode)</td><td>\(g.finished)/\(g.cells)</td><td>\(f(g.weightsMean, 1)) +- \(f(g.weightsStd, 1))</td><td>\(f(g.sizePercentMean, 3)) +- \(f(g.sizePercentStd, 3))</td><td>\(f(g.scoreMean)) +- \(f(g.scoreStd))</td></tr>"
    }
    s += "</table><h2>Cells</h2><table><tr><th>environment</th><th>mode</th><th>seed</th><th>status</th><th>teacher score</th><th>final network</th><th>weights</th><th>% of teacher</th><th>score</th><th>wall time</th></tr>"
    for r in rows {
      s += "<tr><td>\(escapeXML(r.environment))</td><td>\(r.mode)</td><td>\(r.seed)</td><td>\(r.status)</td><td>\(f(r.teacherScore))</td><td>\(escapeXML(r.finalArchitecture ?? ""))</td><td>\(r.weights.map(String.init) ?? "")</td><td>\(f(r.sizePercent, 3))</td><td>\(f(r.scoreMean)) +- \(f(r.scoreStd))</td><td>\(f(r.wallSeconds, 0)) s</td></tr>"
    }
    s += "</table></body></html>\n"
    return s
  }

  /// Writes summary.csv, summary.json and summary.html into `folder`.
  public func write(to folder: URL, title: String) throws {
    try AtomicFile.write(Data(csv.utf8), to: folder.appendingPathComponent("summary.csv"))
    try AtomicFile.write(try json(), to: folder.appendingPathComponent("summary.json"))
    try AtomicFile.write(Data(html(title: title).utf8), to: folder.appendingPathComponent("summary.html"))
  }
}

func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
  guard let a, let b else { return nil }
  return (a, b)
}

/// Mean and sample standard deviation (0 for one value), nil for none.
func meanStd(_ values: [Double]) -> (mean: Double, std: Double)? {
  guard !values.isEmpty else { return nil }
  let mean = values.reduce(0, +) / Double(values.count)
  guard values.count > 1 else { return (mean, 0) }
  let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
  return (mean, variance.squareRoot())
}
