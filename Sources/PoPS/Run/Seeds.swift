import Foundation

/// Every seed of a run, derived from its one `--seed` (as CleanRL keeps all
/// seeding in one place). Same seed, same run: the teacher's training, every
/// stage's generator and every evaluation's episodes follow from `run`.
public struct Seeds: Sendable, Equatable {
  /// The run's seed (`--seed`).
  public let run: UInt64

  public init(run: UInt64) { self.run = run }

  /// The environment that teachers train in and that refills the experience buffer.
  public var trainingEnvironment: UInt64 { run }
  /// The separate environment that every evaluation plays in.
  public var evaluationEnvironment: UInt64 { run &+ 1 }

  /// Environment `index` of a teacher's training: DQN trains in the training
  /// environment; PPO's workers each get their own seed.
  public func teacherEnvironment(_ index: Int, for algorithm: TeacherAlgorithm) -> UInt64 {
    switch algorithm {
    case .dqn: return trainingEnvironment
    case .ppo: return run &+ 100 &+ UInt64(index)
    }
  }

  /// First episode seed of a teacher's greedy evaluations during training.
  public static let teacherEvaluations: UInt64 = 1_000_000
  /// First episode seed of every acceptance evaluation (the teacher's and
  /// each student's): all face the same episodes.
  public static let acceptanceEpisodes: UInt64 = 123_456_789
  /// First episode seed of the final model's evaluation: episodes no
  /// acceptance decision saw.
  public static let finalEpisodes: UInt64 = 987_654_321
  /// First episode seed of IPP's periodic evaluations (advanced by the
  /// episodes of each evaluation).
  public static let pruningEvaluations: UInt64 = 7_000_000
  /// First episode seed of a student's periodic evaluations.
  public static let studentEvaluations: UInt64 = 9_000_000

  /// The stages of a PoPS step that draw random numbers.
  public enum Stage: UInt64, Sendable {
    case pruning = 1
    case distillation = 2
    /// Draws of the dormant-unit check and re-initialisation in distillation.
    case recycling = 3
    /// The teacher's play that fills the experience buffer when a stage starts.
    case experience = 4
  }

  /// The generator of `stage` in PoPS step `step` (1-based): independent of
  /// what earlier stages drew, so a stage's draws do not depend on whether
  /// the run was resumed before it. Its experience buffer does not either:
  /// every stage starts from a buffer filled afresh (`Stage.experience`).
  public func generator(_ stage: Stage, step: Int) -> SeededGenerator {
    SeededGenerator(seed: run &* 0x9E37_79B9 &+ UInt64(step) &* 1_000 &+ stage.rawValue)
  }
}
