import Foundation

extension PoPSRun {
  /// The size search that backs off after a failed student: up to
  /// `shrinking.backoff_attempts` dense students between the last accepted
  /// network and the failed architecture, each halving the gap in log width
  /// (`Redundancy.between`) and each recorded as a step with
  /// `search_attempt`. Returns the first that passes, or nil (the run's stop
  /// reason then says so).
  public mutating func searchBetween(_ current: Network, failed: Architecture) throws -> Network? {
    var failed = failed
    for attempt in 1...max(config.shrinking.backoffAttempts, 1) where config.shrinking.backoffAttempts > 0 {
      guard let middle = Redundancy.between(current.architecture, failed, minimumWidth: config.shrinking.minimumWidth) else {
        break
      }
      let stepNumber = record.steps.count + 1
      events(.sizeSearch(
        step: stepNumber, attempt: attempt, architecture: middle.summary, accepted: current.architecture.summary,
        failed: failed.summary))
      let started = Date()
      let result = try distil(middle, step: stepNumber)
      var step = StepRecord(
        index: stepNumber, input: NetworkRecord(current, teacherWeights: teacherWeights, score: nil, model: nil),
        pruning: nil, seconds: 0)
      step.searchAttempt = attempt
      guard let accepted = try recordStudent(result, of: middle, startedAt: started, in: &step), let acceptance = result.acceptance
      else {
        try save(step: step)
        failed = middle
        continue
      }
      try save(step: step)
      events(.studentAccepted(
        step: stepNumber, architecture: accepted.architecture.summary, sizePercent: sizePercent(accepted), score: acceptance))
      return accepted
    }
    return nil
  }
}
