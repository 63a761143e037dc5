import Foundation

/// Axis ticks at "nice" values: multiples of 1, 2 or 5 x 10^k on a linear
/// axis, powers of ten (with 2 and 5 between them when the axis spans few
/// decades) on a log axis. The axis runs from the first tick to the last,
/// so every gridline has a label and the labels are the gridlines' values.
public struct Ticks: Equatable, Sendable {
  /// The axis' ends (the first and last tick).
  public var lower: Double
  public var upper: Double
  /// The tick values, ascending, from `lower` to `upper`.
  public var values: [Double]
  /// Decimals that show every tick exactly (linear axes).
  public var decimals: Int
  /// A log axis labels each tick with the decimals it needs (0.01, 0.1, 1, 10).
  public var logarithmic = false

  /// The nice step for about `count` intervals over `span`: 1, 2 or 5 x 10^k.
  public static func niceStep(span: Double, count: Int) -> Double {
    let raw = span / Double(max(count, 1))
    let magnitude = pow(10, floor(log10(raw)))
    let fraction = raw / magnitude
    let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
    return nice * magnitude
  }

  /// Ticks covering [low, high] with about `count` intervals; `integers`:
  /// a step of at least 1 (counts, step numbers).
  public static func linear(_ low: Double, _ high: Double, count: Int = 5, integers: Bool = false) -> Ticks {
    guard low.isFinite, high.isFinite else { return Ticks(lower: 0, upper: 1, values: [0, 0.5, 1], decimals: 1) }
    var lo = min(low, high), hi = max(low, high)
    if hi - lo < 1e-12 * max(1, abs(lo)) {
      // One value: an interval around it.
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      lo -= pad
      hi += pad
    }
    let step = integers ? max(1, niceStep(span: hi - lo, count: count)) : niceStep(span: hi - lo, count: count)
    let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
    let values = stride(from: first, through: last, by: 1).map { $0 * step }
    let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
    return Ticks(lower: first * step, upper: last * step, values: values, decimals: decimals)
  }

  /// Ticks for a log axis over [low, high] (both positive): decades, with 2
  /// and 5 in between when the data span at most two decades.
  public static func logarithmic(_ low: Double, _ high: Double) -> Ticks {
    guard low > 0, high > 0, low.isFinite, high.isFinite else {
      return Ticks(lower: 1, upper: 10, values: [1, 10], decimals: 0, logarithmic: true)
    }
    let lo = min(low, high), hi = max(low, high)
    var first = floor(log10(lo) + 1e-9), last = ceil(log10(hi) - 1e-9)
    if last <= first { last = first + 1 }
    let decades = stride(from: first, through: last, by: 1).map { pow(10, $0) }
    var values = decades
    if last - first <= 2 {
      values = decades.flatMap { d in [d, 2 * d, 5 * d] }.filter { $0 <= pow(10, last) * (1 + 1e-9) }
      // Tighten to the multiples around the data.
      let below = values.last { $0 <= lo * (1 + 1e-9) } ?? values[0]
      let above = values.first { $0 >= hi * (1 - 1e-9) } ?? values[values.count - 1]
      values = values.filter { $0 >= below && $0 <= above }
      first = log10(below)
      last = log10(above)
    }
    let decimals = max(0, Int(-floor(log10(values[0]) + 1e-9)))
    return Ticks(lower: pow(10, first), upper: pow(10, last), values: values, decimals: decimals, logarithmic: true)
  }

  /// A tick's label: as many decimals as the step needs, thousands as k/M.
  public func label(_ value: Double) -> String {
    let a = abs(value)
    if a >= 1e6 && a.truncatingRemainder(dividingBy: 1e5) == 0 { return Self.trim(String(format: "%.1fM", value / 1e6)) }
    if a >= 1e4 && a.truncatingRemainder(dividingBy: 100) == 0 { return Self.trim(String(format: "%.1fk", value / 1e3)) }
    let places = logarithmic ? max(0, Int(-floor(log10(a) + 1e-9))) : decimals
    let text = String(format: "%.\(places)f", value)
    return text == "-0" ? "0" : text
  }

  static func trim(_ text: String) -> String { text.replacingOccurrences(of: ".0k", with: "k").replacingOccurrences(of: ".0M", with: "M") }
}
