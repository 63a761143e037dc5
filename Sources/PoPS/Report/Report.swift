import Foundation

/// A finished run of a baseline mode on the same teacher, for the report's comparison.
public struct Baseline: Sendable {
  public var folder: URL
  public var record: PoPSRecord
  public init(folder: URL, record: PoPSRecord) {
    self.folder = folder
    self.record = record
  }
}

/// Writes the SVG plots and report.html of a run into `folder` (with a
/// comparison against `baselines`, runs of other modes on the same teacher).
public func writeReport(
  _ record: PoPSRecord, teacher: Network, final: Network, to folder: URL, baselines: [Baseline] = []
) throws {
  var plots: [(String, String)] = [
    ("pruning.svg", ReportCharts.pruning(record).svg), ("sizes.svg", ReportCharts.sizes(record).svg),
  ]
  if let chart = ReportCharts.redundancy(record) { plots.append(("redundancy.svg", chart.svg)) }
  if let chart = ReportCharts.widths(record) { plots.append(("widths.svg", chart.svg)) }
  plots.append(("weights-teacher.svg", ReportCharts.weights(teacher, title: "Teacher's weights", skippingZeros: false)))
  plots.append(("weights-final.svg", ReportCharts.weights(final, title: "Final network's non-zero weights", skippingZeros: true)))
  for (name, svg) in plots { try AtomicFile.write(Data(svg.utf8), to: folder.appendingPathComponent(name)) }
  // The teacher's learning curve, when pops trained it in this folder.
  let curve = FileManager.default.fileExists(atPath: folder.appendingPathComponent("teacher/curve.svg").path)
  let html = reportHTML(record, plots: plots, teacherCurve: curve ? "teacher/curve.svg" : nil, baselines: baselines)
  try AtomicFile.write(Data(html.utf8), to: folder.appendingPathComponent("report.html"))
}

private func fmt(_ v: Double?, _ digits: Int = 2) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }

func reportHTML(
  _ record: PoPSRecord, plots: [(String, String)], teacherCurve: String? = nil, baselines: [Baseline] = []
) -> String {
  let objective = record.config.objective
  let final = record.final
  let headline = final.map {
    "Final network <b>\(escapeXML($0.architecture))</b>: \(fmt($0.sizePercent, 3))% of the teacher's weights "
      + "(\($0.nonZeroPerLayer.reduce(0, +)) of \(record.teacher?.weights ?? 0)), mean return \(fmt($0.scoreMean)) "
      + "± \(fmt($0.scoreStd)) (standard deviation) over \($0.scoreEpisodes ?? 0) episodes."
  } ?? "No final network."
  let figure: (String) -> String = { name in
    guard let svg = plots.first(where: { $0.0 == name })?.1 else { return "" }
    return "<figure>\(svg)<figcaption>\(name)</figcaption></figure>"
  }
  let curve = teacherCurve.map {
    "<figure><img src=\"\(escapeXML($0))\" alt=\"teacher's learning curve\" width=\"640\"><figcaption>\(escapeXML($0))</figcaption></figure>"
  } ?? "<p>The teacher was given, not trained here: no learning curve.</p>"
  return """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>pops report: \(escapeXML(record.environment))</title>
    <style>
    body { font-family: sans-serif; max-width: 1200px; margin: 2em auto; color: #222; }
    table { border-collapse: collapse; font-size: 13px; margin-bottom: 1em; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
    th { background: #f4f4f4; } figure { display: inline-block; margin: 8px; vertical-align: top; } figcaption { font-size: 12px; color: #666; }
    code { background: #f4f4f4; padding: 1px 4px; } dt { font-weight: bold; } dd { margin: 0 0 .5em 1.5em; }
    .rejected { color: #a33; } .accepted { color: #262; } details { margin: .5em 0; }
    </style></head><body>
    <h1>PoPS on \(escapeXML(record.environment))</h1>
    <p>\(headline)</p>
    <p>Mode <code>\(record.mode.rawValue)</code>, seed \(record.seed), status <code>\(record.status.rawValue)</code>,
    \(record.steps.count) step(s), wall time \(String(format: "%.0f", record.wallSeconds)) s.
    <b>Stopped because:</b> \(escapeXML(record.stopReason?.description ?? "–")).</p>
    \(legend(record))
    <h2>Networks</h2>
    \(networksTable(record, objective: objective))
    \(baselineTable(record, baselines))
    <h2>What each step did</h2>
    \(stepsTable(record))
    \(figure("sizes.svg"))\(figure("pruning.svg"))
    \(figure("redundancy.svg"))\(figure("widths.svg"))
    <h2>Every evaluation</h2>
    <p>Scores are the mean return over an evaluation's episodes; ± is the standard deviation of those returns
    (not a standard error). Periodic evaluations use <code>pruning.evaluation_episodes</code> /
    <code>distillation.evaluation_episodes</code> episodes; acceptance uses \(record.config.acceptanceEpisodes).</p>
    \(evaluationDetails(record))
    <h2>Teacher</h2>
    \(curve)
    <h2>Weights</h2>
    \(figure("weights-teacher.svg"))\(figure("weights-final.svg"))
    \(reproducibilityBlock(record))
    <h2>Files</h2>
    <p><code>results.json</code> (every step and evaluation), <code>results.csv</code>, <code>metrics.jsonl</code>
    (one row per evaluation, as it happened), <code>final.safetensors</code>, <code>run.log</code>, the plots as SVG,
    and each step's pruned and student models.</p>
    <p>Generated by pops \(record.popsVersion).</p>
    </body></html>

    """
}

/// What the run's thresholds mean, with their values.
private func legend(_ record: PoPSRecord) -> String {
  let c = record.config
  let teacherNote = record.objectiveSource == .teacher ? " (taken from the teacher's own score: <code>--objective teacher</code>)" : ""
  return """
    <dl>
    <dt>objective = \(fmt(c.objective))\(teacherNote)</dt><dd>IPP keeps the sparsest pruned model whose periodic
    evaluation reaches it; its redundancy sizes the next student.</dd>
    <dt>lower bound = \(fmt(c.lowerBound))</dt><dd>an IPP evaluation under it pauses pruning until the score recovers;
    too many in a row end the step's pruning.</dd>
    <dt>acceptance = \(fmt(c.acceptanceScore)) over \(c.acceptanceEpisodes) episodes</dt><dd>a dense student is accepted
    when its mean return, less \(fmt(c.acceptanceConfidence, 1)) standard errors, reaches it; a rejected student ends
    the search (or narrows the size search).</dd>
    <dt>success rate</dt><dd>the share of an evaluation's episodes whose return reached the objective.</dd>
    </dl>
    """
}

private func networksTable(_ record: PoPSRecord, objective: Double) -> String {
  var rows = ""
  func row(_ stage: String, _ n: NetworkRecord?, _ extra: String) {
    guard let n else { return }
    let range = n.scoreRange.map { "\(fmt($0.min, 1)) – \(fmt($0.max, 1))" } ?? "–"
    let success = n.successRate(objective).map { String(format: "%.0f%%", 100 * $0) } ?? "–"
    rows += "<tr><td>\(escapeXML(stage))</td><td>\(escapeXML(n.architecture))</td><td>\(n.weights)</td><td>\(n.nonZeroPerLayer.reduce(0, +))</td>"
    rows += "<td>\(fmt(n.sizePercent, 3))%</td><td>\(fmt(n.scoreMean)) ± \(fmt(n.scoreStd))</td><td>\(range)</td><td>\(success)</td>"
    rows += "<td>\(n.scoreEpisodes.map(String.init) ?? "–")</td><td>\(escapeXML(extra))</td></tr>\n"
  }
  row("teacher", record.teacher, record.teacherTrainingSeconds.map { String(format: "trained in %.0f s", $0) } ?? "given")
  for step in record.steps {
    row("step \(step.index) pruned", step.pruned, "sparse: kept \(step.pruned.map { String($0.nonZeroPerLayer.reduce(0, +)) } ?? "–") weights")
    let label = "step \(step.index) student" + (step.searchAttempt.map { " (size search \($0))" } ?? "")
    row(label, step.student, String(format: "accepted; epochs: %d, %.0f s", step.studentEpochs, step.studentSeconds))
  }
  row("final", record.final, PoPSRecord.finalFile)
  return """
    <table><tr><th>stage</th><th>architecture</th><th>weights</th><th>non-zero</th><th>size</th><th>score (mean ± std)</th>
    <th>min – max</th><th>success rate</th><th>episodes</th><th>notes</th></tr>
    \(rows)</table>
    """
}

private func stepsTable(_ record: PoPSRecord) -> String {
  var rows = ""
  for step in record.steps {
    let redundancy = !step.redundancy.isEmpty
      ? step.redundancy.map { String(format: "%.3f", $0) }.joined(separator: ", ")
      : step.pruningStopReason != .notRun && step.pruned == nil ? "– (no pruned model met the objective)" : "–"
    let ipp = step.pruningStopReason == .notRun
      ? "not run"
      : String(format: "%d evaluations, %d iterations, %d minibatches, %.0f s; stopped: %@", step.pruningEvaluations.count,
               step.pruningIterations, step.pruningMinibatches, step.pruningSeconds, step.pruningStopReason.description)
    let best = step.studentEvaluations.max { $0.mean < $1.mean }
    let outcome: String
    if step.studentArchitecture == nil {
      outcome = "–"
    } else if !step.studentAccepted && step.studentEpochs == 0 && step.studentEvaluations.isEmpty {
      outcome = "not distilled (no smaller network)"
    } else if step.studentAccepted {
      outcome = "<span class=\"accepted\">accepted</span> (\(fmt(step.student?.scoreMean)) ± \(fmt(step.student?.scoreStd)))"
    } else {
      outcome = "<span class=\"rejected\">rejected</span>" + (best.map { " (best periodic \(fmt($0.mean)) ± \(fmt($0.std)))" } ?? "")
    }
    let label = "\(step.index)" + (step.searchAttempt.map { " (size search \($0))" } ?? "")
    rows += "<tr><td>\(label)</td><td>\(escapeXML(step.input.architecture)) (\(fmt(step.input.sizePercent, 3))%)</td>"
    rows += "<td>\(escapeXML(ipp))</td><td>\(redundancy)</td><td>\(escapeXML(step.studentArchitecture ?? "–"))</td>"
    rows += String(
      format: "<td>epochs: %d, evaluations: %d, %.0f s</td>", step.studentEpochs, step.studentEvaluations.count, step.studentSeconds)
    rows += "<td>\(outcome)</td></tr>\n"
  }
  return """
    <table><tr><th>step</th><th>entered as</th><th>IPP (prune while distilling)</th><th>redundancy per layer</th>
    <th>shrunk student</th><th>distillation</th><th>student</th></tr>
    \(rows)</table>
    """
}

/// Every periodic evaluation of every step, folded per step.
private func evaluationDetails(_ record: PoPSRecord) -> String {
  record.steps.map { step in
    var html = "<details><summary>step \(step.index): \(step.pruningEvaluations.count) IPP and \(step.studentEvaluations.count) student evaluations</summary>"
    if !step.pruningEvaluations.isEmpty {
      html += "<table><tr><th>IPP iteration</th><th>minibatch</th><th>sparsity</th><th>score</th><th>pruning</th><th>kept as best so far</th></tr>"
      for e in step.pruningEvaluations {
        html += "<tr><td>\(e.iteration + 1)</td><td>\(e.minibatch)</td><td>\(fmt(100 * e.sparsity, 2))%</td>"
        html += "<td>\(fmt(e.mean)) ± \(fmt(e.std))</td><td>\(e.paused ? "paused" : "on")</td><td>\(e.saved ? "yes" : "")</td></tr>"
      }
      html += "</table>"
    }
    if !step.studentEvaluations.isEmpty {
      html += "<table><tr><th>student epoch</th><th>minibatch</th><th>learning rate</th><th>loss</th><th>score</th>"
      html += "<th>acceptance evaluation</th></tr>"
      for e in step.studentEvaluations {
        html += "<tr><td>\(e.epoch + 1)</td><td>\(e.minibatch)</td><td>\(String(format: "%.2e", Double(e.learningRate)))</td>"
        html += "<td>\(e.loss.map { String(format: "%.4g", $0) } ?? "–")</td><td>\(fmt(e.mean)) ± \(fmt(e.std))</td>"
        let tried = e.acceptance.map { "\(fmt($0.mean)) ± \(fmt($0.std)) over \($0.episodes): \($0.passed ? "passed" : "failed")" }
        html += "<td>\(tried ?? "")</td></tr>"
      }
      html += "</table>"
    }
    return html + "</details>"
  }.joined(separator: "\n")
}

/// The run against baselines on the same teacher: each one's result next to
/// this run's final network, with the size and score differences.
private func baselineTable(_ record: PoPSRecord, _ baselines: [Baseline]) -> String {
  guard !baselines.isEmpty, let mine = record.final else { return "" }
  func row(_ name: String, _ mode: String, _ n: NetworkRecord?) -> String {
    guard let n else { return "<tr><td>\(escapeXML(name))</td><td>\(mode)</td><td colspan=\"6\">no result</td></tr>" }
    let nonZero = n.nonZeroPerLayer.reduce(0, +)
    let ratio = Double(nonZero) / Double(max(mine.nonZeroPerLayer.reduce(0, +), 1))
    let delta = (n.scoreMean ?? 0) - (mine.scoreMean ?? 0)
    return "<tr><td>\(escapeXML(name))</td><td>\(mode)</td><td>\(escapeXML(n.architecture))</td><td>\(nonZero)</td>"
      + "<td>\(fmt(n.sizePercent, 3))%</td><td>\(String(format: "%.2fx", ratio))</td><td>\(fmt(n.scoreMean)) ± \(fmt(n.scoreStd))</td>"
      + "<td>\(String(format: "%+.2f", delta))</td></tr>"
  }
  var rows = row("this run", record.mode.rawValue, mine)
  for b in baselines { rows += row(b.folder.lastPathComponent, b.record.mode.rawValue, b.record.final) }
  return """
    <h2>Against the baselines (same teacher)</h2>
    <p>prune-only: IPP alone, a sparse network in the teacher's shape; distill-only: a dense student of a fixed
    architecture distilled without pruning (give it this run's final architecture to compare at the same size).
    Sizes count non-zero weights; "x this run" is the baseline's non-zeros over this run's.</p>
    <table><tr><th>run</th><th>mode</th><th>result</th><th>non-zero</th><th>size</th><th>x this run</th>
    <th>score (mean ± std)</th><th>score - this run's</th></tr>
    \(rows)</table>
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
