import Foundation

// Reading the English sentences that results.json held before the typed
// stop reasons (written by earlier versions: the committed runs under
// docs/results, a user's older run folders). The sentences round numbers
// (`%.3f`), so they are only read, never the source of a new record.

extension IPPStopReason {
  /// The reason `sentence` names, or nil (a sentence this version does
  /// not know; the caller keeps it as `recorded`).
  public init?(sentence text: String) {
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

extension StopReason {
  /// The reason `sentence` names, or nil (a sentence this version does
  /// not know; the caller keeps it as `recorded`).
  public init?(sentence text: String) {
    if let rest = text.between("prune-only: ", ""), let ipp = IPPStopReason(sentence: rest) {
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
      if let ipp = rest.between("no pruned model met the objective (", ")").flatMap(IPPStopReason.init(sentence:)) {
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

extension String {
  /// The text between `prefix` and `suffix` when this string starts and ends
  /// with them (and they do not overlap).
  fileprivate func between(_ prefix: String, _ suffix: String) -> String? {
    guard hasPrefix(prefix), hasSuffix(suffix), count >= prefix.count + suffix.count else { return nil }
    return String(dropFirst(prefix.count).dropLast(suffix.count))
  }
}
