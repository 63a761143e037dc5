import Foundation

/// Why iterative policy pruning ended (docs/algorithm.md section 4, step 4).
/// Stored in results.json as a tagged object with its fields
/// (StopReasonCoding.swift), its English sentence beside it.
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
  /// version before the typed form), kept as it was.
  case recorded(String)
}

/// Why a PoPS run stopped (docs/algorithm.md section 7). Stored in
/// results.json as a tagged object with its fields (StopReasonCoding.swift),
/// its English sentence beside it.
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
  /// version before the typed form), kept as it was.
  case recorded(String)
}

extension IPPStopReason: CustomStringConvertible {
  /// The sentence for people: the report, the console and results.json
  /// (`pruning_stop_reason`, beside the typed `pruning_stop`).
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
}

extension StopReason: CustomStringConvertible {
  /// The sentence for people: the report, the console and results.json
  /// (`stop_reason`, beside the typed `stop`).
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
}
