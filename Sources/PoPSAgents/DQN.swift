import Foundation
import PoPSCore
import PoPSEnvironments
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

  /// Estimated seconds to the end of the budget at the current rate.
  public var eta: Double { stepsPerSecond > 0 ? Double(totalSteps - step) / stepsPerSecond : 0 }
}

/// Deep Q-learning (Mnih et al. 2015) with a replay ring buffer, a target
/// network, and optional Double-DQN targets, Polyak averaging and gradient
/// clipping. Use it like Stable-Baselines3: `learn`, then `action(for:)`.
public struct DQN: Policy {
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
  ) {
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
    var observation = environment.reset(seed: rng.next())

    func progress(_ evaluation: EvaluationResult?) -> TrainingProgress {
      let elapsed = max(Date().timeIntervalSince(start), 1e-9)
      let recent = recentReturns.suffix(100)
      return TrainingProgress(
        step: steps, totalSteps: startSteps + totalSteps, episodes: episodes,
        meanReturn: recent.isEmpty ? 0 : recent.reduce(0, +) / Double(recent.count),
        epsilon: epsilon(at: steps), updates: updates,
        updatesPerSecond: Double(updates - startUpdates) / elapsed,
        stepsPerSecond: Double(steps - startSteps) / elapsed, elapsed: secondsBefore + elapsed, loss: lastLoss,
        evaluation: evaluation, network: online)
    }

    for _ in 0..<totalSteps {
      let action = rng.nextUnitDouble() < epsilon(at: steps)
        ? rng.index(below: actionCount) : online.greedyAction(for: observation)
      let result = environment.step(taking: action)
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
        observation = environment.reset(seed: nil)
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
        evaluation = evaluate(online, in: &evaluationEnvironment, episodes: config.evaluationEpisodes, seed: evaluationSeed)
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

  /// Everything needed to continue training: both networks, Adam's
  /// moments, the replay buffer, counters and the random state. The
  /// environment is not saved: a resumed run starts a new episode.
  public func checkpoint() -> TensorArchive {
    var archive = TensorArchive()
    archive.store(online.parameters, as: "online")
    archive.store(target.parameters, as: "target")
    optimizer.store(in: &archive, as: "adam")
    vectorReplay?.store(in: &archive, as: "replay")
    frameReplay?.store(in: &archive, as: "frames")
    archive.arrays["counters"] = .int64([Int64(steps), Int64(updates), Int64(episodes), Int64(trainingSeconds * 1000)])
    archive.arrays["recent_returns"] = .float(recentReturns.map(Float.init))
    archive.arrays["rng"] = .int64(rng.state.map { Int64(bitPattern: $0) })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    archive.metadata = [
      "format": "pops-dqn-checkpoint",
      "pops_checkpoint_version": String(Self.checkpointVersion),
      "config": String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self),
      "architecture": String(decoding: (try? encoder.encode(online.architecture)) ?? Data(), as: UTF8.self),
    ]
    return archive
  }

  /// An agent continuing from `checkpoint()`'s archive. Throws if the archive
  /// is not a DQN checkpoint, or was made with another config or network.
  public init(
    resumingFrom archive: TensorArchive, config: DQNConfig, observationCount: Int, actionCount: Int,
    observationShape: [Int]? = nil, observationHigh: Float = 255
  ) throws {
    guard archive.metadata["format"] == "pops-dqn-checkpoint" else {
      throw archive.problem("not a pops DQN checkpoint (metadata format is \(archive.metadata["format"] ?? "missing"))")
    }
    guard archive.metadata["pops_checkpoint_version"] == String(Self.checkpointVersion) else {
      throw archive.problem(
        "pops_checkpoint_version \(archive.metadata["pops_checkpoint_version"] ?? "missing") is not supported (this pops reads \(Self.checkpointVersion))")
    }
    guard let text = archive.metadata["config"],
      let saved = try? JSONDecoder().decode(DQNConfig.self, from: Data(text.utf8))
    else { throw archive.problem("the checkpoint's DQN config is missing or unreadable") }
    if saved != config {
      let differing = Self.differingFields(saved, config)
      throw archive.problem(
        "the checkpoint was made with a different DQN config (\(differing.joined(separator: ", "))); resume with the same config")
    }
    self.init(
      config: config, observationCount: observationCount, actionCount: actionCount, seed: 0,
      observationShape: observationShape, observationHigh: observationHigh)
    let shapes = online.parameters.map(\.shape)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard archive.metadata["architecture"] == String(decoding: try encoder.encode(online.architecture), as: UTF8.self) else {
      throw archive.problem("the checkpoint's network does not match this environment's observation and action spaces")
    }
    online = Network(online.architecture, parameters: try archive.tensors("online", shapes: shapes))
    target = Network(target.architecture, parameters: try archive.tensors("target", shapes: shapes))
    try optimizer.restore(from: archive, as: "adam", shapes: shapes)
    try vectorReplay?.restore(from: archive, as: "replay")
    try frameReplay?.restore(from: archive, as: "frames")
    let counters = try archive.int64s("counters", count: 4)
    (steps, updates, episodes) = (Int(counters[0]), Int(counters[1]), Int(counters[2]))
    trainingSeconds = Double(counters[3]) / 1000
    recentReturns = try archive.floats("recent_returns").map(Double.init)
    guard let restored = SeededGenerator(state: try archive.int64s("rng", count: 4).map { UInt64(bitPattern: $0) }) else {
      throw archive.problem("the saved random state is invalid")
    }
    rng = restored
  }

  /// Names of the config fields whose values differ (snake_case, as in config files).
  static func differingFields(_ a: DQNConfig, _ b: DQNConfig) -> [String] {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    func fields(_ c: DQNConfig) -> [String: String] {
      guard let data = try? encoder.encode(c), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
      else { return [:] }
      return object.mapValues { "\($0)" }
    }
    let fa = fields(a), fb = fields(b)
    return Set(fa.keys).union(fb.keys).sorted().filter { fa[$0] != fb[$0] }.map { "\($0): \(fa[$0] ?? "-") vs \(fb[$0] ?? "-")" }
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
