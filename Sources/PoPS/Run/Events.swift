import Foundation

/// What a PoPS run reports while it works: milestones (each with an English
/// `description` for a log) and progress of its long stages.
public enum PoPSEvent: Sendable {
  /// The output folder holds an unfinished run with these settings: it continues.
  case resuming(folder: URL, recordedSteps: Int)
  /// The output folder holds a finished run: only its report is rewritten.
  case alreadyComplete(folder: URL)
  /// No teacher was given: one is trained first.
  case trainingTeacher(TeacherAlgorithm, maxSteps: Int)
  /// The teacher's training continues from its checkpoint.
  case resumingTeacher(checkpoint: URL)
  /// Progress of the teacher's training.
  case teacherTraining(TrainingProgress)
  /// The teacher's acceptance evaluation.
  case teacherEvaluated(architecture: String, score: EvaluationResult)
  /// IPP starts on a network holding `sizePercent` of the teacher's weights
  /// (`baseline`: the prune-only run's one IPP on the teacher).
  case pruningStarted(step: Int, architecture: String, sizePercent: Double, baseline: Bool)
  /// One evaluation during IPP.
  case pruning(step: Int, PruningEvaluation)
  /// A stage continues from its checkpoint after `minibatch` minibatches.
  case resumingStage(step: Int, stage: StageKind, minibatch: Int)
  /// A resumed step whose IPP had finished: only its student is trained again.
  case pruningAlreadyDone(step: Int)
  /// A dense student starts distilling (`redundancy` is empty for the
  /// distill-only baseline's fixed student).
  case distillationStarted(step: Int, architecture: String, redundancy: [Double])
  /// One evaluation while a dense student distils.
  case student(step: Int, StudentEvaluation)
  /// The size search distils `architecture`, between the last accepted
  /// network and the one whose student failed.
  case sizeSearch(step: Int, attempt: Int, architecture: String, accepted: String, failed: String)
  /// The step's student passed its acceptance evaluation.
  case studentAccepted(step: Int, architecture: String, sizePercent: Double, score: EvaluationResult)
  /// The run's result, as evaluated for the record.
  case finished(architecture: String, sizePercent: Double, score: EvaluationResult)
}

extension PoPSEvent: CustomStringConvertible {
  public var description: String {
    func percent(_ value: Double) -> String { String(format: "%.2f", value) }
    switch self {
    case .resuming(let folder, let steps):
      return "resuming the run in \(folder.path) after \(steps) recorded step(s)"
    case .alreadyComplete(let folder):
      return "run in \(folder.path) is already complete; rewriting the report"
    case .trainingTeacher(let algorithm, let steps):
      return "training a \(algorithm.rawValue) teacher (\(steps) steps at most)"
    case .resumingTeacher(let checkpoint):
      return "resuming the teacher from \(checkpoint.path)"
    case .teacherTraining(let p):
      return "teacher step \(p.step)/\(p.totalSteps), return(100) \(String(format: "%.1f", p.meanReturn))"
    case .teacherEvaluated(let architecture, let score):
      return "teacher \(architecture): \(score.summary)"
    case .pruningStarted(let step, let architecture, let size, let baseline):
      return baseline
        ? "IPP on the teacher (prune-only baseline)"
        : "step \(step): IPP on \(architecture) (\(percent(size))% of the teacher)"
    case .pruning(let step, let e):
      return "step \(step) IPP iteration \(e.iteration + 1), minibatch \(e.minibatch): score \(String(format: "%.1f", e.mean))"
    case .resumingStage(let step, let stage, let minibatch):
      return "step \(step): \(stage.name) continues from its checkpoint after minibatch \(minibatch)"
    case .pruningAlreadyDone(let step):
      return "step \(step): IPP already done, distilling its student again"
    case .distillationStarted(let step, let architecture, let redundancy):
      if redundancy.isEmpty { return "distilling a \(architecture) student" }
      let values = redundancy.map { String(format: "%.3f", $0) }.joined(separator: ", ")
      return "step \(step): redundancy \(values) -> distilling \(architecture)"
    case .student(let step, let e):
      let tried = e.acceptance.map { ", acceptance \($0.summary)" }
      return "step \(step) student epoch \(e.epoch + 1), minibatch \(e.minibatch): score \(String(format: "%.1f", e.mean))\(tried ?? "")"
    case .sizeSearch(let step, let attempt, let architecture, let accepted, let failed):
      return "step \(step): size search \(attempt), distilling \(architecture) (between \(accepted) and the failed \(failed))"
    case .studentAccepted(let step, let architecture, let size, let score):
      return "step \(step): accepted \(architecture) at \(percent(size))% of the teacher, \(score.summary)"
    case .finished(let architecture, let size, let score):
      return "final \(architecture): \(percent(size))% of the teacher's weights, \(score.summary)"
    }
  }
}
