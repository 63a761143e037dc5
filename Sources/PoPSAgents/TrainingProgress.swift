import PoPSNN

/// What a training loop reports to its callback.
public struct TrainingProgress: Sendable {
  /// Environment steps taken so far.
  public var step: Int
  /// The step budget of this `learn` call.
  public var totalSteps: Int
  /// Episodes finished so far.
  public var episodes: Int
  /// Mean return of the last (up to) 100 finished episodes.
  public var meanReturn: Double
  /// Current exploration rate (DQN) or nil.
  public var epsilon: Double?
  /// Gradient updates so far.
  public var updates: Int
  /// Gradient updates per second since the start.
  public var updatesPerSecond: Double
  /// Environment steps per second since the start.
  public var stepsPerSecond: Double
  /// Seconds since the start.
  public var elapsed: Double
  /// The most recent loss value.
  public var loss: Float
  /// Set when this report follows a greedy evaluation.
  public var evaluation: EvaluationResult?
  /// The network being trained, as of this report (a cheap copy-on-write value).
  public var network: Network
  /// The optimiser's step size in force (PPO anneals it with `anneal_learning_rate`).
  public var learningRate: Float? = nil

  /// Estimated seconds to the end of the budget at the current rate.
  public var eta: Double { stepsPerSecond > 0 ? Double(totalSteps - step) / stepsPerSecond : 0 }
}
