import Foundation

// The typed form of the stop reasons in results.json: an object tagged by
// `kind` holding the reason's fields at full precision, e.g.
// `{"kind": "converged", "size_drop": 0.0412, "threshold": 0.05}` (keys as
// the record's snake_case strategy writes them). Decoding also accepts the
// English sentence earlier versions stored in its place.

extension IPPStopReason: Codable {
  /// The tag of each case in results.json.
  public enum Kind: String, Codable, Sendable {
    case maxIterations = "max_iterations"
    case failingIterations = "failing_iterations"
    case unchangedNonZeros = "unchanged_non_zeros"
    case notRun = "not_run"
    case recorded
  }

  private enum Key: String, CodingKey {
    case kind, iterations, schedulePaused, text
  }

  /// Which case this is: its tag in results.json.
  public var kind: Kind {
    switch self {
    case .maxIterations: return .maxIterations
    case .failingIterations: return .failingIterations
    case .unchangedNonZeros: return .unchangedNonZeros
    case .notRun: return .notRun
    case .recorded: return .recorded
    }
  }

  public init(from decoder: Decoder) throws {
    if let sentence = try? decoder.singleValueContainer().decode(String.self) {
      self = IPPStopReason(sentence: sentence) ?? .recorded(sentence)
      return
    }
    let c = try decoder.container(keyedBy: Key.self)
    switch try c.decode(Kind.self, forKey: .kind) {
    case .maxIterations: self = .maxIterations(try c.decode(Int.self, forKey: .iterations))
    case .failingIterations: self = .failingIterations(try c.decode(Int.self, forKey: .iterations))
    case .unchangedNonZeros:
      self = .unchangedNonZeros(
        iterations: try c.decode(Int.self, forKey: .iterations),
        schedulePaused: try c.decode(Bool.self, forKey: .schedulePaused))
    case .notRun: self = .notRun
    case .recorded: self = .recorded(try c.decode(String.self, forKey: .text))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(kind, forKey: .kind)
    switch self {
    case .maxIterations(let n), .failingIterations(let n): try c.encode(n, forKey: .iterations)
    case .unchangedNonZeros(let n, let paused):
      try c.encode(n, forKey: .iterations)
      try c.encode(paused, forKey: .schedulePaused)
    case .notRun: break
    case .recorded(let text): try c.encode(text, forKey: .text)
    }
  }
}

extension StopReason: Codable {
  /// The tag of each case in results.json.
  public enum Kind: String, Codable, Sendable {
    case converged
    case convergedRelative = "converged_relative"
    case noSmallerNetwork = "no_smaller_network"
    case noPrunedModel = "no_pruned_model"
    case studentNeverPassed = "student_never_passed"
    case sizeSearchFailed = "size_search_failed"
    case maxSteps = "max_steps"
    case distilledFixedStudent = "distilled_fixed_student"
    case fixedStudentNeverPassed = "fixed_student_never_passed"
    case pruneOnly = "prune_only"
    case recorded
  }

  private enum Key: String, CodingKey {
    case kind, sizeDrop, threshold, fraction, fractionThreshold, architecture, step, ipp, epochs, attempts, accepted
    case steps, text
  }

  /// Which case this is: its tag in results.json.
  public var kind: Kind {
    switch self {
    case .converged: return .converged
    case .convergedRelative: return .convergedRelative
    case .noSmallerNetwork: return .noSmallerNetwork
    case .noPrunedModel: return .noPrunedModel
    case .studentNeverPassed: return .studentNeverPassed
    case .sizeSearchFailed: return .sizeSearchFailed
    case .maxSteps: return .maxSteps
    case .distilledFixedStudent: return .distilledFixedStudent
    case .fixedStudentNeverPassed: return .fixedStudentNeverPassed
    case .pruneOnly: return .pruneOnly
    case .recorded: return .recorded
    }
  }

  public init(from decoder: Decoder) throws {
    if let sentence = try? decoder.singleValueContainer().decode(String.self) {
      self = StopReason(sentence: sentence) ?? .recorded(sentence)
      return
    }
    let c = try decoder.container(keyedBy: Key.self)
    func int(_ key: Key) throws -> Int { try c.decode(Int.self, forKey: key) }
    func double(_ key: Key) throws -> Double { try c.decode(Double.self, forKey: key) }
    func string(_ key: Key) throws -> String { try c.decode(String.self, forKey: key) }
    switch try c.decode(Kind.self, forKey: .kind) {
    case .converged: self = .converged(sizeDrop: try double(.sizeDrop), threshold: try double(.threshold))
    case .convergedRelative:
      self = .convergedRelative(
        sizeDrop: try double(.sizeDrop), threshold: try double(.threshold), fraction: try double(.fraction),
        fractionThreshold: try double(.fractionThreshold))
    case .noSmallerNetwork: self = .noSmallerNetwork(architecture: try string(.architecture))
    case .noPrunedModel: self = .noPrunedModel(step: try int(.step), ipp: try c.decode(IPPStopReason.self, forKey: .ipp))
    case .studentNeverPassed:
      self = .studentNeverPassed(step: try int(.step), architecture: try string(.architecture), epochs: try int(.epochs))
    case .sizeSearchFailed:
      self = .sizeSearchFailed(step: try int(.step), attempts: try int(.attempts), accepted: try string(.accepted))
    case .maxSteps: self = .maxSteps(try int(.steps))
    case .distilledFixedStudent: self = .distilledFixedStudent
    case .fixedStudentNeverPassed: self = .fixedStudentNeverPassed(epochs: try int(.epochs))
    case .pruneOnly: self = .pruneOnly(try c.decode(IPPStopReason.self, forKey: .ipp))
    case .recorded: self = .recorded(try string(.text))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(kind, forKey: .kind)
    switch self {
    case .converged(let drop, let threshold):
      try c.encode(drop, forKey: .sizeDrop)
      try c.encode(threshold, forKey: .threshold)
    case .convergedRelative(let drop, let threshold, let fraction, let fractionThreshold):
      try c.encode(drop, forKey: .sizeDrop)
      try c.encode(threshold, forKey: .threshold)
      try c.encode(fraction, forKey: .fraction)
      try c.encode(fractionThreshold, forKey: .fractionThreshold)
    case .noSmallerNetwork(let architecture): try c.encode(architecture, forKey: .architecture)
    case .noPrunedModel(let step, let ipp):
      try c.encode(step, forKey: .step)
      try c.encode(ipp, forKey: .ipp)
    case .studentNeverPassed(let step, let architecture, let epochs):
      try c.encode(step, forKey: .step)
      try c.encode(architecture, forKey: .architecture)
      try c.encode(epochs, forKey: .epochs)
    case .sizeSearchFailed(let step, let attempts, let accepted):
      try c.encode(step, forKey: .step)
      try c.encode(attempts, forKey: .attempts)
      try c.encode(accepted, forKey: .accepted)
    case .maxSteps(let n): try c.encode(n, forKey: .steps)
    case .distilledFixedStudent: break
    case .fixedStudentNeverPassed(let epochs): try c.encode(epochs, forKey: .epochs)
    case .pruneOnly(let ipp): try c.encode(ipp, forKey: .ipp)
    case .recorded(let text): try c.encode(text, forKey: .text)
    }
  }
}
