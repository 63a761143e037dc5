import Foundation

/// Why iterative policy pruning ended (docs/algorithm.md section 4, step 4).
/// Stored in results.json as its English sentence.
public enum IPPStopReason: Equatable, Sendable {
  /// The iteration budget ran out (`pruning.max_iterations`).
  case maxIterations(Int)
  /// This many consecutive iterations ended under the lower bound.
  case failingIterations(Int)
  /// The non-zero weights did not change for this many iterations while the
  /// schedule was paused (or had finished).
  case unchangedNonZeros(iterations: Int, schedulePaused: Bool)
  /// The step ran no IPP (a distill-only baseline); "" in results.json.
  case notRun
  /// A sentence this version does not know (a record written by another
  /// version), kept as it was.
  case recorded(String)
}

/// Why a PoPS run stopped (docs/algorithm.md section 7). Stored in
/// results.json as its English sentence.
public enum StopReason: Equatable, Sendable {
  /// The size fell by less than `shrinking.convergence_threshold`
  /// percentage points in the last step.
  case converged(sizeDrop: Double, threshold: Double)
  /// As `converged`, and the size also fell by less than
  /// `shrinking.convergence_fraction` of the previous network's.
  case convergedRelative(sizeDrop: Double, threshold: Double, fraction: Double, fractionThreshold: Double)
  /// Shrinking the current network by its redundancy gives no smaller one.
  case noSmallerNetwork(architecture: String)
  /// IPP in this step kept no model that met the objective.
  case noPrunedModel(step: Int, ipp: IPPStopReason)
  /// The shrunk student of this step never passed its acceptance evaluation.
  case studentNeverPassed(step: Int, architecture: String, epochs: Int)
  /// The size search after a failed student tried `attempts` sizes between
  /// the last accepted network and the failed one; none passed.
  case sizeSearchFailed(step: Int, attempts: Int, accepted: String)
  /// `shrinking.max_steps` steps ran.
  case maxSteps(Int)
  /// distill-only: the fixed student was accepted.
  case distilledFixedStudent
  /// distill-only: the fixed student never passed.
  case fixedStudentNeverPassed(epochs: Int)
  /// prune-only: how its one IPP ended.
  case pruneOnly(IPPStopReason)
  /// A sentence this version does not know (a record written by another
  /// version), kept as it was.
  case recorded(String)
}

extension IPPStopReason: SentenceCodable {
  public init(recordedText: String) { self = .recorded(recordedText) }

  public var description: String {
    switch self {
    case .maxIterations(let n): return "reached max_iterations (\(n))"
    case .failingIterations(let n): return "\(n) consecutive iterations under the lower bound"
    case .unchangedNonZeros(let n, let paused):
      return "non-zero weights unchanged for \(n) iterations with the schedule \(paused ? "paused" : "finished")"
    case .notRun: return ""
    case .recorded(let text): return text
    }
  }

  /// The reason a `description` names, or nil.
  public init?(description text: String) {
    if text.isEmpty {
      self = .notRun
    } else if let n = text.between("reached max_iterations (", ")").flatMap(Int.init) {
      self = .maxIterations(n)
    } else if let n = text.between("", " consecutive iterations under the lower bound").flatMap(Int.init) {
      self = .failingIterations(n)
    } else if let rest = text.between("non-zero weights unchanged for ", ""),
      let n = rest.between("", " iterations with the schedule paused").flatMap(Int.init)
        ?? rest.between("", " iterations with the schedule finished").flatMap(Int.init)
    {
      self = .unchangedNonZeros(iterations: n, schedulePaused: rest.hasSuffix("paused"))
    } else {
      return nil
    }
  }
}

extension StopReason: SentenceCodable {
  public init(recordedText: String) { self = .recorded(recordedText) }

  public var description: String {
    switch self {
    case .converged(let drop, let threshold):
      return "converged: size fell by \(String(format: "%.3f", drop)) percentage points (< \(threshold))"
    case .convergedRelative(let drop, let threshold, let fraction, let fractionThreshold):
      return "converged: size fell by \(String(format: "%.3f", drop)) percentage points (< \(threshold)) and by "
        + "\(String(format: "%.1f", 100 * fraction))% of the network (< \(String(format: "%g", 100 * fractionThreshold))%)"
    case .noSmallerNetwork(let architecture):
      return "converged: shrinking \(architecture) gives no smaller network"
    case .noPrunedModel(let step, let ipp):
      return "step \(step): no pruned model met the objective (\(ipp))"
    case .studentNeverPassed(let step, let architecture, let epochs):
      return "step \(step): the \(architecture) student never passed in \(epochs) epochs"
    case .sizeSearchFailed(let step, let attempts, let accepted):
      return "step \(step): no student between \(accepted) and the failed one passed in \(attempts) attempts"
    case .maxSteps(let n): return "reached max_steps (\(n))"
    case .distilledFixedStudent: return "distilled the fixed student"
    case .fixedStudentNeverPassed(let epochs): return "the fixed student never reached the objective in \(epochs) epochs"
    case .pruneOnly(let ipp): return "prune-only: \(ipp)"
    case .recorded(let text): return text
    }
  }

  /// The reason a `description` names, or nil.
  public init?(description text: String) {
    if let rest = text.between("prune-only: ", ""), let ipp = IPPStopReason(description: rest) {
      self = .pruneOnly(ipp)
    } else if text == "distilled the fixed student" {
      self = .distilledFixedStudent
    } else if let n = text.between("the fixed student never reached the objective in ", " epochs").flatMap(Int.init) {
      self = .fixedStudentNeverPassed(epochs: n)
    } else if let n = text.between("reached max_steps (", ")").flatMap(Int.init) {
      self = .maxSteps(n)
    } else if let architecture = text.between("converged: shrinking ", " gives no smaller network") {
      self = .noSmallerNetwork(architecture: architecture)
    } else if let rest = text.between("converged: size fell by ", "%)"),
      let parts = Optional(rest.components(separatedBy: " percentage points (< ")), parts.count == 2,
      let drop = Double(parts[0]),
      let tail = Optional(parts[1].components(separatedBy: ") and by ")), tail.count == 2,
      let threshold = Double(tail[0]),
      let fractions = Optional(tail[1].components(separatedBy: "% of the network (< ")), fractions.count == 2,
      let fraction = Double(fractions[0]), let fractionThreshold = Double(fractions[1])
    {
      self = .convergedRelative(
        sizeDrop: drop, threshold: threshold, fraction: fraction / 100, fractionThreshold: fractionThreshold / 100)
    } else if let rest = text.between("converged: size fell by ", ")"),
      let parts = Optional(rest.components(separatedBy: " percentage points (< ")), parts.count == 2,
      let drop = Double(parts[0]), let threshold = Double(parts[1])
    {
      self = .converged(sizeDrop: drop, threshold: threshold)
    } else if let head = text.between("step ", ""), let colon = head.range(of: ": "),
      let step = Int(head[..<colon.lowerBound])
    {
      let rest = String(head[colon.upperBound...])
      if let ipp = rest.between("no pruned model met the objective (", ")").flatMap(IPPStopReason.init(description:)) {
        self = .noPrunedModel(step: step, ipp: ipp)
      } else if let middle = rest.between("no student between ", " attempts"),
        let split = middle.range(of: " and the failed one passed in "), let attempts = Int(middle[split.upperBound...])
      {
        self = .sizeSearchFailed(step: step, attempts: attempts, accepted: String(middle[..<split.lowerBound]))
      } else if let middle = rest.between("the ", " epochs"), let split = middle.range(of: " student never passed in "),
        let epochs = Int(middle[split.upperBound...])
      {
        self = .studentNeverPassed(step: step, architecture: String(middle[..<split.lowerBound]), epochs: epochs)
      } else {
        return nil
      }
    } else {
      return nil
    }
  }
}

/// A value stored in JSON as its English sentence (`description`) and read
/// back by `init?(description:)`.
public protocol SentenceCodable: Codable, CustomStringConvertible {
  init?(description: String)
  /// The value for a sentence `init?(description:)` does not know.
  init(recordedText: String)
}

extension SentenceCodable {
  /// Reads the sentence; one this version does not know is kept as written
  /// (`recorded`), so records of other versions stay readable.
  public init(from decoder: Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    self = Self(description: text) ?? Self(recordedText: text)
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

extension String {
  /// The text between `prefix` and `suffix` when this string starts and ends
  /// with them (and they do not overlap).
  fileprivate func between(_ prefix: String, _ suffix: String) -> String? {
    guard hasPrefix(prefix), hasSuffix(suffix), count >= prefix.count + suffix.count else { return nil }
    return String(dropFirst(prefix.count).dropLast(suffix.count))
  }
}
