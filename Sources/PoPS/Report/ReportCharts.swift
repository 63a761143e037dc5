import Foundation

/// The report's charts, each an SVG file in the output folder.
enum ReportCharts {
  /// IPP's periodic evaluations: score against the sparsity reached, one
  /// series per step, with the objective and the lower bound.
  static func pruning(_ record: PoPSRecord) -> SVGPlot {
    let palette = SVGPlot.palette
    var plot = SVGPlot(
      title: "IPP: score vs sparsity, per step", xLabel: "sparsity of the network being pruned (%)",
      yLabel: "mean return (evaluation)")
    for (k, step) in record.steps.enumerated() where !step.pruningEvaluations.isEmpty {
      plot.series.append(.init(
        name: "step \(step.index)", points: step.pruningEvaluations.map { (x: 100 * $0.sparsity, y: $0.mean) },
        color: palette[k % palette.count], lines: true))
    }
    plot.horizontalLines = [(record.config.objective, "objective"), (record.config.lowerBound, "lower bound")]
    return plot
  }

  /// Every network's score against its size (non-zero weights, % of the teacher).
  static func sizes(_ record: PoPSRecord) -> SVGPlot {
    let palette = SVGPlot.palette
    var plot = SVGPlot(title: "PoPS: score vs size", xLabel: "non-zero weights (% of teacher, log)", yLabel: "mean return")
    plot.logX = true
    var dense: [(x: Double, y: Double)] = []
    var pruned: [(x: Double, y: Double)] = []
    var rejected: [(x: Double, y: Double)] = []
    if let t = record.teacher, let m = t.scoreMean { dense.append((t.sizePercent, m)) }
    for step in record.steps {
      if let p = step.pruned, let m = p.scoreMean { pruned.append((p.sizePercent, m)) }
      if let s = step.student, let m = s.scoreMean { dense.append((s.sizePercent, m)) }
      if !step.studentAccepted, let size = step.studentSizePercent(record), let best = step.studentEvaluations.map(\.mean).max() {
        rejected.append((size, best))
      }
    }
    plot.series = [
      .init(name: "dense networks", points: dense, color: palette[0]),
      .init(name: "pruned (IPP)", points: pruned, color: palette[1], lines: false),
    ]
    if !rejected.isEmpty {
      plot.series.append(.init(name: "rejected (best)", points: rejected, color: palette[3], lines: false))
    }
    plot.horizontalLines = [(record.config.acceptanceScore, "acceptance")]
    return plot
  }

  /// Per weight layer: the redundancy IPP measured at each step.
  static func redundancy(_ record: PoPSRecord) -> SVGPlot? {
    let steps = record.steps.filter { !$0.redundancy.isEmpty }
    guard let layers = steps.map(\.redundancy.count).max(), layers > 0 else { return nil }
    var plot = SVGPlot(title: "Redundancy per layer, per step", xLabel: "PoPS step", yLabel: "redundancy (1 - kept / weights)")
    for layer in 0..<layers {
      let points = steps.compactMap { step -> (x: Double, y: Double)? in
        layer < step.redundancy.count ? (Double(step.index), step.redundancy[layer]) : nil
      }
      plot.series.append(.init(name: "layer \(layer + 1)", points: points, color: SVGPlot.palette[layer % SVGPlot.palette.count]))
    }
    plot.includeY = [0, 1]
    plot.integerX = true
    return plot
  }

  /// Per hidden layer: its width (units or channels) entering each step and at the end.
  static func widths(_ record: PoPSRecord) -> SVGPlot? {
    var networks: [(Double, NetworkRecord)] = record.steps.map { (Double($0.index), $0.input) }
    if let final = record.final { networks.append((Double((record.steps.last?.index ?? 0) + 1), final)) }
    let known = networks.compactMap { step, n in n.widths.map { (step, $0) } }
    guard let layers = known.map(\.1.count).max(), layers > 0 else { return nil }
    var plot = SVGPlot(title: "Architecture: width per layer", xLabel: "PoPS step (the last point: final)", yLabel: "units or channels")
    for layer in 0..<layers {
      let points = known.compactMap { step, widths -> (x: Double, y: Double)? in
        layer < widths.count ? (step, Double(widths[layer])) : nil
      }
      plot.series.append(.init(name: "layer \(layer + 1)", points: points, color: SVGPlot.palette[layer % SVGPlot.palette.count]))
    }
    plot.includeY = [0]
    plot.integerX = true
    return plot
  }

  /// A network's weights as a histogram of counts (zeros left out for a pruned one).
  static func weights(_ network: Network, title: String, skippingZeros: Bool) -> String {
    let values = network.weightIndices.flatMap { network.parameters[$0].scalars }.filter { !skippingZeros || $0 != 0 }
    return SVGPlot.histogram(title: title, values: values)
  }
}

extension StepRecord {
  /// The size of this step's student architecture, when it was recorded.
  func studentSizePercent(_ record: PoPSRecord) -> Double? {
    guard let summary = studentArchitecture, let teacher = record.teacher,
      let arch = Architecture(compact: summary)
    else { return nil }
    return 100 * Double(arch.weightCount) / Double(teacher.weights)
  }
}
