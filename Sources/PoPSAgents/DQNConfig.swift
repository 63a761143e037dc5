/// Every hyperparameter of `DQN`, with a recipe that trains the reference
/// CartPole teacher (4-256-256-128-2) to the v0 threshold in a few minutes.
///
/// Defaults differ from the PoPS reference (docs/algorithm.md section 1) where a
/// faster, equally reliable recipe exists; the reference value is noted.
public struct DQNConfig: Codable, Sendable, Equatable {
  /// Hidden layer widths of the Q-network. Reference: [256, 256, 128].
  public var hidden: [Int] = [256, 256, 128]
  /// Convolutions before the hidden layers, each `[out_channels, kernel,
  /// stride]`, for pixel observations shaped [C, H, W]. Empty: an MLP. The
  /// Nature CNN is [[32, 8, 4], [64, 4, 2], [64, 3, 1]] with hidden [512].
  public var convolutions: [[Int]] = []
  /// Initial value of every bias. Reference: 0.001.
  public var biasInit: Float = 0.001
  /// Adam step size. Reference: Adam with its default 1e-3.
  public var learningRate: Float = 1e-3
  /// Discount factor.
  public var gamma: Float = 0.99
  /// Replay capacity in transitions. Reference: 100k.
  public var bufferSize: Int = 50_000
  /// For pixel observations of `frame_stack` stacked frames with values
  /// 0...255 (the Atari preprocessing): store each frame once as a byte
  /// (`FrameReplayBuffer`) instead of float observation pairs. 0: off.
  public var frameStack: Int = 0
  /// Transitions sampled per gradient step. Reference: 128.
  public var batchSize: Int = 128
  /// Environment steps of pure exploration before learning starts. Reference: 25k.
  public var learningStarts: Int = 1_000
  /// Environment steps between gradient updates.
  public var trainFrequency: Int = 1
  /// Gradient steps per update.
  public var gradientSteps: Int = 1
  /// Environment steps between hard target-network syncs (used when
  /// `polyakTau` is 0). Reference: 600.
  public var targetUpdateInterval: Int = 500
  /// If positive, the target network tracks the online one by Polyak
  /// averaging `target = tau * online + (1 - tau) * target` after every
  /// gradient step instead of hard syncs. 0: off.
  public var polyakTau: Float = 0
  /// Epsilon at the start of training.
  public var epsilonStart: Double = 1.0
  /// Epsilon after the decay. Reference: 0.05.
  public var epsilonEnd: Double = 0.05
  /// Environment steps over which epsilon decays linearly. Reference: 100k.
  public var epsilonDecaySteps: Int = 10_000
  /// Use the Huber loss (true) or mean squared error (false).
  public var huberLoss: Bool = true
  /// Double DQN: the online network picks the next action, the target values it.
  public var doubleQLearning: Bool = true
  /// If positive, gradients are scaled to at most this global L2 norm. 0: off.
  public var maxGradientNorm: Float = 10
  /// Environment steps between greedy evaluations (0: never).
  public var evaluationInterval: Int = 1_000
  /// Episodes per greedy evaluation.
  public var evaluationEpisodes: Int = 100

  public init() {}

  /// Checks every field; returns a message naming the first bad one.
  public func validationError() -> String? {
    if hidden.isEmpty || hidden.contains(where: { $0 <= 0 }) { return "hidden must be non-empty positive widths, got \(hidden)" }
    if !convolutions.allSatisfy({ $0.count == 3 && $0.allSatisfy { $0 > 0 } }) {
      return "convolutions must be [out_channels, kernel, stride] triples of positive integers, got \(convolutions)"
    }
    if !(learningRate > 0) { return "learningRate must be positive, got \(learningRate)" }
    if !(gamma >= 0 && gamma <= 1) { return "gamma must be in [0, 1], got \(gamma)" }
    if bufferSize <= 0 || bufferSize > 1 << 40 { return "bufferSize must be in 1...2^40, got \(bufferSize)" }
    if frameStack < 0 { return "frameStack must be non-negative, got \(frameStack)" }
    if batchSize <= 0 || batchSize > 1 << 24 { return "batchSize must be in 1...2^24, got \(batchSize)" }
    if learningStarts < 0 { return "learningStarts must be non-negative, got \(learningStarts)" }
    if trainFrequency <= 0 { return "trainFrequency must be positive, got \(trainFrequency)" }
    if gradientSteps <= 0 { return "gradientSteps must be positive, got \(gradientSteps)" }
    if targetUpdateInterval <= 0 { return "targetUpdateInterval must be positive, got \(targetUpdateInterval)" }
    if !(polyakTau >= 0 && polyakTau <= 1) { return "polyakTau must be in [0, 1], got \(polyakTau)" }
    if !(0...1).contains(epsilonStart) || !(0...1).contains(epsilonEnd) {
      return "epsilonStart and epsilonEnd must be in [0, 1], got \(epsilonStart), \(epsilonEnd)"
    }
    if epsilonDecaySteps < 0 { return "epsilonDecaySteps must be non-negative, got \(epsilonDecaySteps)" }
    if !(maxGradientNorm >= 0) { return "maxGradientNorm must be non-negative, got \(maxGradientNorm)" }
    if evaluationInterval < 0 { return "evaluationInterval must be non-negative, got \(evaluationInterval)" }
    if evaluationEpisodes <= 0 { return "evaluationEpisodes must be positive, got \(evaluationEpisodes)" }
    return nil
  }
}
