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
  private var rng: SeededGenerator
  private let actionCount: Int

  /// - Parameter observationShape: `[n]` for vectors, `[C, H, W]` for pixels
  ///   (needed when `config.convolutions` is not empty).
  public init(
    config: DQNConfig = DQNConfig(), observationCount: Int, actionCount: Int, seed: UInt64,
    observationShape: [Int]? = nil
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
        frameSize: observationCount / config.frameStack)
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
  ///   - callback: receives progress; returning false stops training early.
  public mutating func learn(
    in environment: inout any Environment, totalSteps: Int,
    evaluationEnvironment: inout any Environment, evaluationSeed: UInt64 = 1_000_000,
    reportInterval: Int = 1_000,
    callback: (TrainingProgress) -> Bool = { _ in true }
  ) {
    precondition(totalSteps > 0, "DQN.learn: totalSteps must be positive, got \(totalSteps)")
    let obsCount = online.architecture.inputCount
    var batch = TransitionBatch(size: config.batchSize, observationCount: obsCount)
    let onlineCache = Network.Cache()
    let nextCache = Network.Cache(inferenceOnly: true)
    let targetCache = Network.Cache(inferenceOnly: true)
    var gradients = online.zeroGradients()
    var recentReturns: [Double] = []
    var episodes = 0
    var episodeReturn = 0.0
    var lastLoss: Float = 0
    let start = Date()
    let startSteps = steps
    let startUpdates = updates
    var observation = environment.reset(seed: rng.next())

    func progress(_ evaluation: EvaluationResult?) -> TrainingProgress {
      let elapsed = max(Date().timeIntervalSince(start), 1e-9)
      let recent = recentReturns.suffix(100)
      return TrainingProgress(
        step: steps, totalSteps: startSteps + totalSteps, episodes: episodes,
        meanReturn: recent.isEmpty ? 0 : recent.reduce(0, +) / Double(recent.count),
        epsilon: epsilon(at: steps), updates: updates,
        updatesPerSecond: Double(updates - startUpdates) / elapsed,
        stepsPerSecond: Double(steps - startSteps) / elapsed, elapsed: elapsed, loss: lastLoss,
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
    }
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
