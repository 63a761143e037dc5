import Foundation
import PoPSCore
import PoPSEnvironments
import PoPSNN

/// Deep Q-learning (Mnih et al. 2015) with a replay ring buffer, a target
/// network, and optional Double-DQN targets, Polyak averaging and gradient
/// clipping. Use it like Stable-Baselines3: `learn`, then `action(for:)`.
public struct DQN: TeacherAgent {
  public let config: DQNConfig
  /// The Q-network being trained.
  public var online: Network
  /// The periodically synced copy that provides bootstrap targets.
  public var target: Network
  public private(set) var optimizer: Adam
  /// Float observation pairs (vector observations) ...
  private var vectorReplay: ReplayBuffer?
  /// ... or byte frames (stacked pixels, `config.frameStack > 0`).
  private var frameReplay: FrameReplayBuffer?
  public private(set) var steps = 0
  public private(set) var updates = 0
  /// Episodes finished in training so far.
  public private(set) var episodes = 0
  /// Returns of the last (up to) 100 finished training episodes.
  public private(set) var recentReturns: [Double] = []
  /// Seconds spent in `learn` so far, across resumed runs.
  public private(set) var trainingSeconds = 0.0
  private var rng: SeededGenerator
  private let actionCount: Int

  /// - Parameter observationShape: `[n]` for vectors, `[C, H, W]` for pixels
  ///   (needed when `config.convolutions` is not empty).
  ///   `observationHigh` is the largest observation value (frames stored as
  ///   bytes use steps of `observationHigh / 255`).
  public init(
    config: DQNConfig = DQNConfig(), observationCount: Int, actionCount: Int, seed: UInt64,
    observationShape: [Int]? = nil, observationHigh: Float = 255
  ) {
    if let problem = config.validationError() { preconditionFailure("DQNConfig: \(problem)") }
    self.config = config
    self.actionCount = actionCount
    rng = SeededGenerator(seed: seed)
    var initRNG = rng.split()
    online = Network(
      .convNet(
        inputShape: observationShape ?? [observationCount], convolutions: config.convolutions,
        hidden: config.hidden, outputs: actionCount),
      biasInit: config.biasInit, using: &initRNG)
    target = online
    optimizer = Adam(learningRate: config.learningRate)
    if config.frameStack > 0 {
      precondition(
        observationCount % config.frameStack == 0,
        "DQN: \(observationCount) observation values do not split into \(config.frameStack) frames")
      // One extra frame per episode start: 10% headroom keeps about bufferSize transitions.
      frameReplay = FrameReplayBuffer(
        capacity: config.bufferSize + config.bufferSize / 10 + config.frameStack + 2, stack: config.frameStack,
        frameSize: observationCount / config.frameStack, scale: observationHigh / 255)
    } else {
      vectorReplay = ReplayBuffer(capacity: config.bufferSize, observationCount: observationCount)
    }
  }

  /// The greedy action of the online network.
  public func action(for observation: [Float]) -> Int { online.greedyAction(for: observation) }

  /// The Q-network: the policy PoPS distils.
  public var policy: Network { online }

  public var evaluationEpisodes: Int { config.evaluationEpisodes }

  /// `TeacherAgent.learn`: DQN trains in one environment, `makeEnvironment(0)`.
  public mutating func learn(
    makeEnvironment: (Int) throws -> any Environment, totalSteps: Int, evaluationEnvironment: inout any Environment,
    evaluationSeed: UInt64, checkpointInterval: Int, callback: (TrainingProgress) -> Bool,
    onCheckpoint: (TensorArchive) -> Bool
  ) throws {
    var environment = try makeEnvironment(0)
    try learn(
      in: &environment, totalSteps: totalSteps, evaluationEnvironment: &evaluationEnvironment,
      evaluationSeed: evaluationSeed, checkpointInterval: checkpointInterval, callback: callback,
      onCheckpoint: { onCheckpoint($0.checkpoint()) })
  }

  /// The exploration rate after `step` environment steps.
  public func epsilon(at step: Int) -> Double {
    LinearSchedule(start: config.epsilonStart, end: config.epsilonEnd, duration: config.epsilonDecaySteps).value(at: step)
  }

  /// Trains for up to `totalSteps` environment steps.
  ///
  /// - Parameters:
  ///   - evaluationEnvironment: where greedy evaluations run (a separate
  ///     instance, so training episodes are not disturbed).
  ///   - reportInterval: steps between progress reports (evaluations also report).
  ///   - checkpointInterval: steps between calls of `onCheckpoint` (0: never).
  ///   - callback: receives progress; returning false stops training early.
  ///   - onCheckpoint: receives the agent to save (`checkpoint()`); returning
  ///     false stops training.
  public mutating func learn(
    in environment: inout any Environment, totalSteps: Int,
    evaluationEnvironment: inout any Environment, evaluationSeed: UInt64 = 1_000_000,
    reportInterval: Int = 1_000, checkpointInterval: Int = 0,
    callback: (TrainingProgress) -> Bool = { _ in true },
    onCheckpoint: (DQN) -> Bool = { _ in true }
  ) throws {
    precondition(checkpointInterval >= 0, "DQN.learn: checkpointInterval must be >= 0, got \(checkpointInterval)")
    precondition(totalSteps > 0, "DQN.learn: totalSteps must be positive, got \(totalSteps)")
    let obsCount = online.architecture.inputCount
    var batch = TransitionBatch(size: config.batchSize, observationCount: obsCount)
    let onlineCache = Network.Cache()
    let nextCache = Network.Cache(inferenceOnly: true)
    let targetCache = Network.Cache(inferenceOnly: true)
    var gradients = online.zeroGradients()
    var episodeReturn = 0.0
    var lastLoss: Float = 0
    let start = Date()
    let secondsBefore = trainingSeconds
    defer { trainingSeconds = secondsBefore + Date().timeIntervalSince(start) }
    let startSteps = steps
    let startUpdates = updates
    // A new episode: the replay must not chain it to the last call's.
    frameReplay?.endEpisode()
    var observation = try environment.reset(seed: rng.next())

    func progress(_ evaluation: EvaluationResult?) -> TrainingProgress {
      let elapsed = max(Date().timeIntervalSince(start), 1e-9)
      let recent = recentReturns.suffix(100)
      return TrainingProgress(
        step: steps, totalSteps: startSteps + totalSteps, episodes: episodes,
        meanReturn: recent.isEmpty ? 0 : recent.reduce(0, +) / Double(recent.count),
        epsilon: epsilon(at: steps), updates: updates,
        updatesPerSecond: Double(updates - startUpdates) / elapsed,
        stepsPerSecond: Double(steps - startSteps) / elapsed, elapsed: secondsBefore + elapsed, loss: lastLoss,
        evaluation: evaluation, network: online, learningRate: optimizer.learningRate)
    }

    for _ in 0..<totalSteps {
      let action = rng.nextUnitDouble() < epsilon(at: steps)
        ? rng.index(below: actionCount) : online.greedyAction(for: observation)
      let result = try environment.step(taking: action)
      vectorReplay?.add(
        observation: observation, action: action, reward: Float(result.reward),
        nextObservation: result.observation, terminated: result.terminated)
      frameReplay?.add(
        observation: observation, action: action, reward: Float(result.reward),
        nextObservation: result.observation, terminated: result.terminated, episodeEnded: result.isLast)
      episodeReturn += result.reward
      steps += 1
      if result.isLast {
        recentReturns.append(episodeReturn)
        if recentReturns.count > 100 { recentReturns.removeFirst() }
        episodes += 1
        episodeReturn = 0
        observation = try environment.reset(seed: nil)
      } else {
        observation = result.observation
      }

      if steps > config.learningStarts && steps % config.trainFrequency == 0 {
        for _ in 0..<config.gradientSteps {
          if let frameReplay {
            frameReplay.sample(into: &batch, using: &rng)
          } else {
            vectorReplay!.sample(into: &batch, using: &rng)
          }
          lastLoss = trainStep(on: batch, online: onlineCache, next: nextCache, target: targetCache, gradients: &gradients)
        }
      }
      if config.polyakTau == 0 && steps % config.targetUpdateInterval == 0 {
        target = online
      }

      var evaluation: EvaluationResult? = nil
      if config.evaluationInterval > 0 && steps % config.evaluationInterval == 0 && steps > config.learningStarts {
        evaluation = try evaluate(online, in: &evaluationEnvironment, episodes: config.evaluationEpisodes, seed: evaluationSeed)
      }
      if evaluation != nil || steps % reportInterval == 0 {
        if !callback(progress(evaluation)) { return }
      }
      // After the report, so a checkpoint includes this step's evaluation.
      if checkpointInterval > 0 && steps % checkpointInterval == 0 {
        trainingSeconds = secondsBefore + Date().timeIntervalSince(start)
        if !onCheckpoint(self) { return }
      }
    }
  }

  /// The checkpoint format this code writes and reads.
  public static let checkpointVersion = 1
  static let checkpointFormat = "pops-dqn-checkpoint"

  /// Everything needed to continue training: both networks, Adam's
  /// moments, the replay buffer, counters and the random state. The
  /// environment is not saved: a resumed run starts a new episode.
  public func checkpoint() -> TensorArchive {
    var archive = TensorArchive.checkpoint(
      format: Self.checkpointFormat, version: Self.checkpointVersion, config: config, architecture: online.architecture)
    archive.store(online.parameters, as: "online")
    archive.store(target.parameters, as: "target")
    optimizer.store(in: &archive, as: "adam")
    vectorReplay?.store(in: &archive, as: "replay")
    frameReplay?.store(in: &archive, as: "frames")
    archive.store(TrainingState(
      steps: steps, updates: updates, episodes: episodes, seconds: trainingSeconds, recentReturns: recentReturns, rng: rng))
    return archive
  }

  /// An agent continuing from `checkpoint()`'s archive. Throws if the archive
  /// is not a DQN checkpoint, or was made with another config or network.
  public init(
    resumingFrom archive: TensorArchive, config: DQNConfig, observationCount: Int, actionCount: Int,
    observationShape: [Int]? = nil, observationHigh: Float = 255
  ) throws {
    try archive.checkCheckpoint(format: Self.checkpointFormat, version: Self.checkpointVersion, algorithm: "DQN", config: config)
    self.init(
      config: config, observationCount: observationCount, actionCount: actionCount, seed: 0,
      observationShape: observationShape, observationHigh: observationHigh)
    try archive.checkArchitecture(online.architecture)
    let shapes = online.parameters.map(\.shape)
    online = Network(online.architecture, parameters: try archive.tensors("online", shapes: shapes))
    target = Network(target.architecture, parameters: try archive.tensors("target", shapes: shapes))
    try optimizer.restore(from: archive, as: "adam", shapes: shapes)
    try vectorReplay?.restore(from: archive, as: "replay")
    try frameReplay?.restore(from: archive, as: "frames")
    let state = try archive.trainingState()
    (steps, updates, episodes, trainingSeconds) = (state.steps, state.updates, state.episodes, state.seconds)
    (recentReturns, rng) = (state.recentReturns, state.rng)
  }

  /// One gradient step on `batch`; returns the loss.
  mutating func trainStep(
    on batch: TransitionBatch, online onlineCache: Network.Cache, next nextCache: Network.Cache,
    target targetCache: Network.Cache, gradients: inout [Tensor]
  ) -> Float {
    let n = batch.size
    let a = actionCount
    let nextTarget = target.forward(batch.nextObservations, batch: n, cache: targetCache)
    var nextValues = [Float](repeating: 0, count: n)
    if config.doubleQLearning {
      let nextOnline = online.forward(batch.nextObservations, batch: n, cache: nextCache)
      for i in 0..<n {
        var best = 0
        for j in 1..<a where nextOnline[i * a + j] > nextOnline[i * a + best] { best = j }
        nextValues[i] = nextTarget[i * a + best]
      }
    } else {
      for i in 0..<n {
        var best = nextTarget[i * a]
        for j in 1..<a { best = max(best, nextTarget[i * a + j]) }
        nextValues[i] = best
      }
    }
    let q = online.forward(batch.observations, batch: n, cache: onlineCache)
    var predictions = [Float](repeating: 0, count: n)
    var targets = [Float](repeating: 0, count: n)
    for i in 0..<n {
      predictions[i] = q[i * a + batch.actions[i]]
      targets[i] = batch.rewards[i] + config.gamma * (1 - batch.terminated[i]) * nextValues[i]
    }
    let loss = config.huberLoss
      ? Loss.huber(predictions: predictions, targets: targets)
      : Loss.meanSquaredError(predictions: predictions, targets: targets)
    var outputGradient = [Float](repeating: 0, count: n * a)
    for i in 0..<n { outputGradient[i * a + batch.actions[i]] = loss.gradient[i] }
    online.backward(outputGradient, cache: onlineCache, into: &gradients)
    if config.maxGradientNorm > 0 { clipGradientNorm(&gradients, maxNorm: config.maxGradientNorm) }
    optimizer.update(&online, along: gradients)
    updates += 1
    if config.polyakTau > 0 {
      let tau = config.polyakTau
      for i in target.parameters.indices {
        let src = online.parameters[i].scalars
        target.parameters[i].scalars.withUnsafeMutableBufferPointer { t in
          for j in 0..<t.count { t[j] = tau * src[j] + (1 - tau) * t[j] }
        }
      }
    }
    return loss.value
  }
}
