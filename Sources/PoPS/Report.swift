import Foundation

/// Writes the SVG plots and report.html of a run into `folder`.
public func writeReport(_ record: PoPSRecord, teacher: Network, final: Network, to folder: URL) throws {
  let palette = SVGPlot.palette
  // Score vs sparsity within each pruning step.
  var pruning = SVGPlot(title: "IPP: score vs sparsity", xLabel: "sparsity of the network being pruned (%)", yLabel: "mean return")
  for (k, step) in record.steps.enumerated() where !step.pruningEvaluations.isEmpty {
    pruning.series.append(.init(
      name: "step \(step.index)", points: step.pruningEvaluations.map { (x: 100 * $0.sparsity, y: $0.mean) },
      color: palette[k % palette.count], lines: false))
  }
  pruning.horizontalLines = [(record.config.objective, "objective"), (record.config.lowerBound, "lower bound")]
  // Score vs size across steps.
  var sizes = SVGPlot(title: "PoPS: score vs size", xLabel: "non-zero weights (% of teacher, log)", yLabel: "mean return")
  sizes.logX = true
  var dense: [(x: Double, y: Double)] = []
  var pruned: [(x: Double, y: Double)] = []
  if let t = record.teacher, let m = t.scoreMean { dense.append((t.sizePercent, m)) }
  for step in record.steps {
    if let p = step.pruned, let m = p.scoreMean { pruned.append((p.sizePercent, m)) }
    if let s = step.student, let m = s.scoreMean { dense.append((s.sizePercent, m)) }
  }
  sizes.series = [
    .init(name: "dense (teacher, students)", points: dense, color: palette[0]),
    .init(name: "pruned (IPP)", points: pruned, color: palette[1], lines: false),
  ]
  sizes.horizontalLines = [(record.config.acceptanceScore, "acceptance")]
  let histogram = SVGPlot.histogram(
    title: "Weights: teacher vs final network",
    values: [teacher.weightIndices.flatMap { teacher.parameters[$0].scalars },
             final.weightIndices.flatMap { final.parameters[$0].scalars }.filter { $0 != 0 }],
    names: ["teacher", "final (non-zero)"])
  let plots = [
    ("pruning.svg", pruning.svg), ("sizes.svg", sizes.svg), ("weights.svg", histogram),
  ]
  for (name, svg) in plots { try AtomicFile.write(Data(svg.utf8), to: folder.appendingPathComponent(name)) }
  try AtomicFile.write(Data(reportHTML(record, plots: plots).utf8), to: folder.appendingPathComponent("report.html"))
}

func reportHTML(_ record: PoPSRecord, plots: [(String, String)]) -> String {
  func fmt(_ v: Double?, _ digits: Int = 2) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }
  var rows = ""
  func row(_ stage: String, _ n: NetworkRecord?, _ extra: String) {
    guard let n else { return }
    rows += "<tr><td>\(escapeXML(stage))</td><td>\(n.architecture)</td><td>\(n.weights)</td><td>\(n.nonZeroPerLayer.reduce(0, +))</td>"
    rows += "<td>\(fmt(n.sizePercent, 3))%</td><td>\(fmt(n.scoreMean)) ± \(fmt(n.scoreStd))</td><td>\(n.scoreEpisodes.map(String.init) ?? "–")</td><td>\(escapeXML(extra))</td></tr>\n"
  }
  row("teacher", record.teacher, record.teacherTrainingSeconds.map { String(format: "trained in %.0f s", $0) } ?? "given")
  for step in record.steps {
    row(
      "step \(step.index) pruned", step.pruned,
      "redundancy " + step.redundancy.map { String(format: "%.3f", $0) }.joined(separator: ", ")
        + String(format: "; %d iterations, %.0f s; %@", step.pruningIterations, step.pruningSeconds, step.pruningStopReason.description))
    let label = "step \(step.index) student" + (step.searchAttempt.map { " (size search \($0))" } ?? "")
    row(label, step.student, String(format: "%d epochs, %.0f s", step.studentEpochs, step.studentSeconds))
    if !step.studentAccepted, let arch = step.studentArchitecture, record.mode != .pruneOnly {
      rows += "<tr><td>\(label)</td><td>\(arch)</td><td colspan=\"6\">not accepted</td></tr>\n"
    }
  }
  row("final", record.final, "final.safetensors")
  let final = record.final
  let headline = final.map {
    "Final network <b>\($0.architecture)</b>: \(fmt($0.sizePercent, 3))% of the teacher's weights, mean return \(fmt($0.scoreMean)) over \($0.scoreEpisodes ?? 0) episodes."
  } ?? "No final network."
  let figures = plots.map { "<figure>\($0.1)<figcaption>\($0.0)</figcaption></figure>" }.joined(separator: "\n")
  return """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>pops report: \(escapeXML(record.environment))</title>
    <style>
    body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
    table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
    th { background: #f4f4f4; } figure { display: inline-block; margin: 8px; } figcaption { font-size: 12px; color: #666; }
    code { background: #f4f4f4; padding: 1px 4px; }
    </style></head><body>
    <h1>PoPS on \(escapeXML(record.environment))</h1>
    <p>\(headline)</p>
    <p>Mode <code>\(record.mode.rawValue)</code>, seed \(record.seed), status <code>\(record.status.rawValue)</code>, wall time \(String(format: "%.0f", record.wallSeconds)) s.
    Stopped because: \(escapeXML(record.stopReason?.description ?? "–")).</p>
    <h2>Networks</h2>
    <table><tr><th>stage</th><th>architecture</th><th>weights</th><th>non-zero</th><th>size</th><th>score</th><th>episodes</th><th>notes</th></tr>
    \(rows)</table>
    <h2>Plots</h2>
    \(figures)
    \(reproducibilityBlock(record))
    <h2>Files</h2>
    <p><code>results.json</code> (every step and evaluation), <code>results.csv</code>, <code>final.safetensors</code>,
    the plots as SVG, and each step's pruned and student models.</p>
    <p>Generated by pops \(record.popsVersion).</p>
    </body></html>

    """
}

/// The report's "Reproducibility" section (nil-safe for old records).
func reproducibilityBlock(_ record: PoPSRecord) -> String {
  guard let r = record.reproducibility else { return "" }
  let rows: [(String, String)] = [
    ("command", r.command), ("pops", r.popsVersion + (r.gitCommit.map { " (commit \($0))" } ?? "")), ("started", r.date),
    ("CPU", r.cpu), ("kernels", r.kernels), ("threads", "\(r.threads) (results depend on it)"), ("Swift", r.swiftVersion),
    ("seed", "\(r.seed)"), ("config sha256", r.configSha256 + " (the resolved config is in results.json)"),
  ]
  let body = rows.map { "<tr><th>\($0.0)</th><td><code>\(escapeXML($0.1))</code></td></tr>" }.joined()
  return "<h2>Reproducibility</h2><table>\(body)</table>"
}
