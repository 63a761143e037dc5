import Foundation

/// Minimal SVG charts for the run report: no scripts, no network, no fonts
/// beyond the browser's default sans-serif.
public struct SVGPlot {
  public struct Series {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var color: String
    public var lines: Bool = true
    /// Vertical bars (e.g. mean +- std over seeds), drawn with caps.
    public var errorBars: [(x: Double, low: Double, high: Double)] = []
    /// Draw each point as a bar from 0 this wide (in x units): a histogram.
    public var barWidth: Double? = nil
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var series: [Series] = []
  public var logX = false
  public var horizontalLines: [(y: Double, label: String)] = []
  /// Values the y axis must cover besides the data (0 for counts, [0, 1] for fractions).
  public var includeY: [Double] = []
  /// Whole-number ticks on the x axis (steps) and the y axis (counts).
  public var integerX = false
  public var integerY = false
  public var width = 640.0
  public var height = 360.0

  public init(title: String, xLabel: String, yLabel: String) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
  }

  static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

  public var svg: String {
    let left = 64.0, right = 150.0, top = 36.0, bottom = 48.0
    let plotW = width - left - right, plotH = height - top - bottom
    let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) }
    let tx: (Double) -> Double = { logX ? log10($0) : $0 }
    var xs = all.map { tx($0.x) }
    let bars = series.flatMap(\.errorBars).filter { $0.x.isFinite && $0.low.isFinite && $0.high.isFinite && (!logX || $0.x > 0) }
    var ys = all.map(\.y) + horizontalLines.map(\.y) + bars.flatMap { [$0.low, $0.high] } + includeY
    if xs.isEmpty { xs = [0, 1] }
    if ys.isEmpty { ys = [0, 1] }
    // Both axes run between nice ticks that cover the data (Ticks.swift).
    let xTicks = logX
      ? Ticks.logarithmic(pow(10, xs.min()!), pow(10, xs.max()!)) : Ticks.linear(xs.min()!, xs.max()!, integers: integerX)
    let yTicks = Ticks.linear(ys.min()!, ys.max()!, integers: integerY)
    let x0 = tx(xTicks.lower), x1 = tx(xTicks.upper), y0 = yTicks.lower, y1 = yTicks.upper
    func px(_ x: Double) -> Double { left + (tx(x) - x0) / (x1 - x0) * plotW }
    func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
    func f(_ v: Double) -> String { String(format: "%.1f", v) }
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">\(escapeXML(title))</text>\n"
    s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
    for v in yTicks.values {
      s += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\" stroke=\"#eee\"/>"
      s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(yTicks.label(v))</text>\n"
    }
    for v in xTicks.values {
      s += "<line x1=\"\(f(px(v)))\" x2=\"\(f(px(v)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#f4f4f4\"/>"
      s += "<text x=\"\(f(px(v)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(xTicks.label(v))</text>\n"
    }
    s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
    s += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
    var labels: [(Double, String)] = []
    for line in horizontalLines {
      s += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(py(line.y)))\" y2=\"\(f(py(line.y)))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
      // The label sits in the right margin, level with its line (clear of the data).
      if !line.label.isEmpty { labels.append((py(line.y), line.label)) }
      s += "\n"
    }
    for (k, series) in series.enumerated() {
      if let width = series.barWidth {
        for p in series.points where p.x.isFinite && p.y.isFinite {
          let x0 = px(p.x - width / 2), x1 = px(p.x + width / 2), barTop = py(max(p.y, 0)), base = py(min(p.y, 0))
          s += "<rect x=\"\(f(x0))\" y=\"\(f(barTop))\" width=\"\(f(max(x1 - x0, 0.5)))\" height=\"\(f(base - barTop))\" fill=\"\(series.color)\" fill-opacity=\"0.8\"/>"
        }
        let ly = top + 14 * Double(k) + 8
        s += "\n<rect x=\"\(f(left + plotW + 10))\" y=\"\(f(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(series.color)\"/>"
        s += "<text x=\"\(f(left + plotW + 24))\" y=\"\(f(ly + 1))\">\(escapeXML(series.name))</text>\n"
        continue
      }
      let points = series.points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) }
      if series.lines && points.count > 1 {
        let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
        s += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
      }
      for p in points {
        s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(series.color)\"/>"
      }
      for bar in series.errorBars where bar.x.isFinite && bar.low.isFinite && bar.high.isFinite && (!logX || bar.x > 0) {
        let x = f(px(bar.x)), l = f(px(bar.x) - 4), r = f(px(bar.x) + 4), lo = f(py(bar.low)), hi = f(py(bar.high))
        s += "<path d=\"M\(x) \(lo) V\(hi) M\(l) \(lo) H\(r) M\(l) \(hi) H\(r)\" stroke=\"\(series.color)\" fill=\"none\"/>"
      }
      let ly = top + 14 * Double(k) + 8
      s += "\n<rect x=\"\(f(left + plotW + 10))\" y=\"\(f(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(series.color)\"/>"
      s += "<text x=\"\(f(left + plotW + 24))\" y=\"\(f(ly + 1))\">\(escapeXML(series.name))</text>\n"
    }
    // Line labels in the right margin under the legend, moved down where two would overlap.
    var lastY = top + 14 * Double(series.count) + 4
    for (y, label) in labels.sorted(by: { $0.0 < $1.0 }) {
      let at = max(y + 4, lastY + 13)
      s += "<text x=\"\(f(left + plotW + 10))\" y=\"\(f(at))\" fill=\"#666\">- - \(escapeXML(label))</text>\n"
      lastY = at
    }
    s += "</svg>\n"
    return s
  }

  /// A histogram: bars of the count of values per bin.
  public static func histogram(title: String, values: [Float], bins: Int = 40, color: String = "#1f77b4") -> String {
    var plot = SVGPlot(title: title, xLabel: "weight value", yLabel: "weights per bin (count)")
    plot.includeY = [0]
    plot.integerY = true
    guard let lo = values.min(), let hi = values.max(), hi > lo else { return plot.svg }
    let width = Double(hi - lo) / Double(bins)
    var counts = [Double](repeating: 0, count: bins)
    for v in values { counts[min(bins - 1, Int(Double(v - lo) / width))] += 1 }
    let points = (0..<bins).map { (x: Double(lo) + (Double($0) + 0.5) * width, y: counts[$0]) }
    var series = Series(name: "\(values.count) weights", points: points, color: color)
    series.barWidth = width
    plot.series = [series]
    return plot.svg
  }
}

func escapeXML(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
