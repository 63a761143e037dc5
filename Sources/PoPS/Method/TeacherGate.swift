import Foundation

/// The teacher gate: a teacher must pass the acceptance rule its students
/// face (mean minus `acceptance_confidence` standard errors over
/// `acceptance_episodes` at least `acceptance_score`) before a run
/// compresses it. A teacher in training trains on until a network that
/// reached the threshold also passes; a given teacher under the rule is
/// refused before anything is written, unless students are judged against
/// the teacher's own score (`ObjectiveSource.teacher`).
public struct TeacherGate: Sendable {
  /// What the gate does with a teacher's score.
  public enum Verdict: Equatable, Sendable {
    /// The teacher passes: students face the settings as given.
    case passes
    /// The teacher is under the rule and students are judged against its
    /// own score: the settings they face instead.
    case judgedAgainstTeacher(PoPSConfig)
  }

  /// The run's settings (the acceptance rule and the teacher's budget).
  public let config: PoPSConfig
  /// What students are judged against.
  public let objective: ObjectiveSource

  public init(config: PoPSConfig, objective: ObjectiveSource) {
    self.config = config
    self.objective = objective
  }

  /// The score at which a teacher in training is tried at the gate (Atari
  /// games have no reward threshold of their own).
  public var threshold: Double { config.acceptanceScore }

  /// The acceptance evaluation a teacher in training must pass, the way
  /// students do.
  public var acceptance: TeacherAcceptance {
    let config = config
    return TeacherAcceptance(episodes: config.acceptanceEpisodes, seed: Seeds.acceptanceEpisodes) { config.accepts($0) }
  }

  /// Why a teacher trained within `teacher.steps` is refused: no network
  /// of `training` passed the gate.
  public func refusal(of training: TeacherTrainingResult) -> ConfigError {
    ConfigError(
      "the teacher did not pass \(config.environment)'s acceptance (mean - \(config.acceptanceConfidence) standard errors >= \(config.acceptanceScore) over \(config.acceptanceEpisodes) episodes) in \(config.teacher.steps) steps (best greedy evaluation \(training.bestEvaluation?.mean ?? 0)); raise teacher.steps or give a trained teacher")
  }

  /// The gate on a teacher that scores `mean` +- `std` over `episodes`: a
  /// teacher under the rule cannot have accepted students, so it is refused
  /// (a `ConfigError` naming its score and the rule) unless students are
  /// judged against its own score.
  public func verdict(mean: Double, std: Double, episodes: Int) throws -> Verdict {
    if config.accepts(mean: mean, std: std, episodes: episodes) { return .passes }
    guard objective == .teacher else {
      throw ConfigError(
        "the teacher scores \(String(format: "%.2f", mean)) +- \(String(format: "%.2f", std)) over \(episodes) episodes, under \(config.environment)'s acceptance (\(config.acceptanceScore) with \(config.acceptanceConfidence) standard errors): none of its students could be accepted; give a better teacher, or judge students against the teacher's own score (ObjectiveSource.teacher, --objective teacher)")
    }
    return .judgedAgainstTeacher(config.judgedAgainst(teacherMean: mean, std: std, episodes: episodes))
  }
}
