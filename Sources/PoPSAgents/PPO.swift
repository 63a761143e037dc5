import Foundation
import PoPSCore
import PoPSEnvironments
import PoPSNN

/// Proximal policy optimisation (Schulman et al. 2017): an actor-critic with
/// separate actor (logits) and critic (value) networks, GAE advantages,
/// clipped surrogate objective and an entropy bonus, trained from rollouts of
/// several environments. The actor is the policy PoPS compresses: its
/// pre-softmax logits are the teacher outputs.
public struct PPO: TeacherAgent {
  public let config: PPOConfig
  public var actor: Network
  public var critic: Network
  public private(set) var steps = 0
  public private(set) var updates = 0
  /// Episodes finished in training so far.
  public private(set) var episodes = 0
  /// Returns of the last (up to) 100 finished training episodes.
  public private(set) var recentReturns: [Double] = []
  /// Seconds spent in `learn` so far, across resumed runs.
  public private(set) var trainingSeconds = 0.0
  private var actorOptimizer: Adam
  private var criticOptimizer: Adam
  private var rng: SeededGenerator
  private let actionCount: Int

  /// - Parameter observationShape: `[C, H, W]` for pixels (needed when
  ///   `config.convolutions` is not empty), else nil.
  public init(
    config: PPOConfig = PPOConfig(), observationCount: Int, actionCount: Int, seed: UInt64, observationShape: [Int]? = nil
  ) {
    if let problem = config.validationError() { preconditionFailure("PPOConfig: \(problem)") }
    self.config = config
    self.actionCount = actionCount
    rng = SeededGenerator(seed: seed)
    var initRNG = rng.split()
    let convolutions = config.convolutions
    let shape = convolutions.isEmpty ? [observationCount] : observationShape ?? [observationCount]
    actor = Network(
      .convNet(inputShape: shape, convolutions: convolutions, hidden: config.actorHidden, outputs: actionCount),
      using: &initRNG)
    // Small final layer: a near-uniform initial policy.
    let last = actor.parameters.count - 2
    actor.parameters[last].scalars = actor.parameters[last].scalars.map { $0 * 0.01 }
    critic = Network(
      .convNet(inputShape: shape, convolutions: convolutions, hidden: config.criticHidden, outputs: 1), using: &initRNG)
    actorOptimizer = Adam(learningRate: config.learningRate, epsilon: 1e-5)
    criticOptimizer = Adam(learningRate: config.learningRate, epsilon: 1e-5)
  }

  /// The greedy action: the actor's largest logit.
  public func action(for observation: [Float]) -> Int { actor.greedyAction(for: observation) }

  /// The actor: the policy PoPS distils (its logits are the teacher's outputs).
  public var policy: Network { actor }

  public var evaluationEpisodes: Int { config.evaluationEpisodes }

  /// Trains for up to `totalSteps` environment steps over `config.environments`
  /// environments made by `makeEnvironment(index)`. After each rollout's
  /// update that crosses a multiple of `checkpointInterval` steps (0: never),
  /// `onCheckpoint` receives `checkpoint()`; it or `callback` returning false
  /// stops training.
  public mutating func learn(
    makeEnvironment: (Int) throws -> any Environment, totalSteps: Int,
    evaluationEnvironment: inout any Environment, evaluationSeed: UInt64 = 1_000_000,
    checkpointInterval: Int = 0,
    callback: (TrainingProgress) -> Bool = { _ in true },
    onCheckpoint: (TensorArchive) -> Bool = { _ in true }
  ) throws {
    precondition(totalSteps > 0, "PPO.learn: totalSteps must be positive, got \(totalSteps)")
    precondition(checkpointInterval >= 0, "PPO.learn: checkpointInterval must be >= 0, got \(checkpointInterval)")
    let secondsBefore = trainingSeconds
    let n = config.environments, t = config.rolloutSteps
    let obsCount = actor.architecture.inputCount
    // Bridge workers step in parallel; native environments one after another.
    var envs = VectorEnvironment(try (0..<n).map { try makeEnvironment($0) })
    var observations = try (0..<n).map { try envs.reset($0, seed: rng.next()) }
    var chosen = [Int](repeating: 0, count: n)
    var episodeReturns = [Double](repeating: 0, count: n)
    // Rollout storage, row-major [t][n].
    var states = [Float](repeating: 0, count: t * n * obsCount)
    var actions = [Int](repeating: 0, count: t * n)
    var logProbs = [Float](repeating: 0, count: t * n)
    var values = [Float](repeating: 0, count: t * n)
    var rewards = [Float](repeating: 0, count: t * n)
    var dones = [Float](repeating: 0, count: t * n)
    let actorCache = Network.Cache(), criticCache = Network.Cache()
    let start = Date()
    let startSteps = steps, startUpdates = updates
    var lastLoss: Float = 0
    // Evaluations fall on multiples of the interval, counted from the first step (so also after a resume).
    var nextEvaluation = config.evaluationInterval > 0 ? (steps / config.evaluationInterval + 1) * config.evaluationInterval : 0
    var probabilities = [Float](repeating: 0, count: actionCount)

    while steps - startSteps < totalSteps {
      let rolloutStart = steps
      if config.annealLearningRate {
        // Linear to zero over the whole budget (this call's steps plus those before a resume).
        let fraction = max(0, 1 - Double(steps) / Double(startSteps + totalSteps))
        actorOptimizer.learningRate = Float(fraction) * config.learningRate
        criticOptimizer.learningRate = actorOptimizer.learningRate
      }
      for step in 0..<t {
        let batch = observations.flatMap { $0 }
        let logits = actor.forward(batch, batch: n, cache: actorCache)
        let v = critic.forward(batch, batch: n, cache: criticCache)
        for e in 0..<n {
          Loss.softmax(logits, offset: e * actionCount, count: actionCount, scale: 1, into: &probabilities)
          var u = rng.nextUnitFloat()
          var a = actionCount - 1
          for j in 0..<actionCount {
            if u < probabilities[j] { a = j; break }
            u -= probabilities[j]
          }
          let row = step * n + e
          states.replaceSubrange((row * obsCount)..<((row + 1) * obsCount), with: observations[e])
          actions[row] = a
          logProbs[row] = log(max(probabilities[a], 1e-12))
          values[row] = v[e]
          chosen[e] = a
        }
        let results = try envs.step(taking: chosen)
        for e in 0..<n {
          let row = step * n + e
          var result = results[e]
          episodeReturns[e] += result.reward
          var reward = Float(result.reward)
          if result.truncated && !result.terminated {
            // Bootstrap through the time limit: the episode did not really end.
            reward += config.gamma * critic.predict(result.observation)[0]
          }
          rewards[row] = reward
          dones[row] = result.isLast ? 1 : 0
          if result.isLast {
            recentReturns.append(episodeReturns[e])
            if recentReturns.count > 100 { recentReturns.removeFirst() }
            episodes += 1
            episodeReturns[e] = 0
            result.observation = try envs.reset(e, seed: nil)
          }
          observations[e] = result.observation
        }
        steps += n
      }
      // GAE advantages and returns.
      let lastValues = critic.forward(observations.flatMap { $0 }, batch: n, cache: criticCache)
      var advantages = [Float](repeating: 0, count: t * n)
      for e in 0..<n {
        var gae: Float = 0
        for step in stride(from: t - 1, through: 0, by: -1) {
          let row = step * n + e
          let nextValue = step == t - 1 ? lastValues[e] : values[row + n]
          let notDone = 1 - dones[row]
          let delta = rewards[row] + config.gamma * nextValue * notDone - values[row]
          gae = delta + config.gamma * config.gaeLambda * notDone * gae
          advantages[row] = gae
        }
      }
      let returns = zip(advantages, values).map { $0 + $1 }
      lastLoss = optimise(
        states: states, actions: actions, logProbs: logProbs, advantages: advantages, returns: returns,
        actorCache: actorCache, criticCache: criticCache)

      var evaluation: EvaluationResult? = nil
      if config.evaluationInterval > 0 && steps >= nextEvaluation {
        nextEvaluation += config.evaluationInterval
        evaluation = try evaluate(actor, in: &evaluationEnvironment, episodes: config.evaluationEpisodes, seed: evaluationSeed)
      }
      let elapsed = max(Date().timeIntervalSince(start), 1e-9)
      trainingSeconds = secondsBefore + elapsed
      let progress = TrainingProgress(
        step: steps, totalSteps: startSteps + totalSteps, episodes: episodes,
        meanReturn: recentReturns.isEmpty ? 0 : recentReturns.reduce(0, +) / Double(recentReturns.count), epsilon: nil,
        updates: updates, updatesPerSecond: Double(updates - startUpdates) / elapsed,
        stepsPerSecond: Double(steps - startSteps) / elapsed, elapsed: secondsBefore + elapsed, loss: lastLoss,
        evaluation: evaluation, network: actor, learningRate: actorOptimizer.learningRate)
      if !callback(progress) { return }
      // After the report, so a checkpoint includes this rollout's evaluation.
      if checkpointInterval > 0 && steps / checkpointInterval > rolloutStart / checkpointInterval {
        if !onCheckpoint(checkpoint()) { return }
      }
    }
  }

  /// The checkpoint format this code writes and reads.
  public static let checkpointVersion = 1
  static let checkpointFormat = "pops-ppo-checkpoint"

  /// Everything needed to continue training: actor, critic, both Adam
  /// optimizers, counters and the random state. The environments are not
  /// saved: a resumed run starts new episodes and a new rollout.
  public func checkpoint() -> TensorArchive {
    var archive = TensorArchive.checkpoint(
      format: Self.checkpointFormat, version: Self.checkpointVersion, config: config, architecture: actor.architecture)
    archive.store(actor.parameters, as: "actor")
    archive.store(critic.parameters, as: "critic")
    actorOptimizer.store(in: &archive, as: "actor_adam")
    criticOptimizer.store(in: &archive, as: "critic_adam")
    archive.store(TrainingState(
      steps: steps, updates: updates, episodes: episodes, seconds: trainingSeconds, recentReturns: recentReturns, rng: rng))
    return archive
  }

  /// An agent continuing from `checkpoint()`'s archive. Throws if the archive
  /// is not a PPO checkpoint, or was made with another config or network.
  public init(
    resumingFrom archive: TensorArchive, config: PPOConfig, observationCount: Int, actionCount: Int,
    observationShape: [Int]? = nil
  ) throws {
    try archive.checkCheckpoint(format: Self.checkpointFormat, version: Self.checkpointVersion, algorithm: "PPO", config: config)
    self.init(
      config: config, observationCount: observationCount, actionCount: actionCount, seed: 0,
      observationShape: observationShape)
    try archive.checkArchitecture(actor.architecture)
    let actorShapes = actor.parameters.map(\.shape), criticShapes = critic.parameters.map(\.shape)
    actor = Network(actor.architecture, parameters: try archive.tensors("actor", shapes: actorShapes))
    critic = Network(critic.architecture, parameters: try archive.tensors("critic", shapes: criticShapes))
    try actorOptimizer.restore(from: archive, as: "actor_adam", shapes: actorShapes)
    try criticOptimizer.restore(from: archive, as: "critic_adam", shapes: criticShapes)
    let state = try archive.trainingState()
    (steps, updates, episodes, trainingSeconds) = (state.steps, state.updates, state.episodes, state.seconds)
    (recentReturns, rng) = (state.recentReturns, state.rng)
  }

  private mutating func optimise(
    states: [Float], actions: [Int], logProbs: [Float], advantages: [Float], returns: [Float],
    actorCache: Network.Cache, criticCache: Network.Cache
  ) -> Float {
    let total = actions.count
    let obsCount = actor.architecture.inputCount
    let b = config.batchSize
    var order = Array(0..<total)
    var actorGradients: [Tensor] = [], criticGradients: [Tensor] = []
    var lastLoss: Float = 0
    var batchStates = [Float](repeating: 0, count: b * obsCount)
    for _ in 0..<config.epochs {
      order.shuffle(using: &rng)
      var offset = 0
      while offset + b <= total {
        let rows = order[offset..<(offset + b)]
        offset += b
        for (k, row) in rows.enumerated() {
          for j in 0..<obsCount { batchStates[k * obsCount + j] = states[row * obsCount + j] }
        }
        var adv = rows.map { advantages[$0] }
        if config.normalizeAdvantages {
          let mean = adv.reduce(0, +) / Float(b)
          let std = (adv.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(b)).squareRoot()
          adv = adv.map { ($0 - mean) / (std + 1e-8) }
        }
        let logits = actor.forward(batchStates, batch: b, cache: actorCache)
        let loss = Loss.clippedSurrogate(
          logits: logits, actions: rows.map { actions[$0] }, oldLogProbs: rows.map { logProbs[$0] },
          advantages: adv, actionCount: actionCount, clipRange: config.clipRange,
          entropyCoefficient: config.entropyCoefficient)
        actor.backward(loss.gradient, cache: actorCache, into: &actorGradients)
        if config.maxGradientNorm > 0 { clipGradientNorm(&actorGradients, maxNorm: config.maxGradientNorm) }
        actorOptimizer.update(&actor, along: actorGradients)

        let v = critic.forward(batchStates, batch: b, cache: criticCache)
        let valueLoss = Loss.meanSquaredError(predictions: v, targets: rows.map { returns[$0] })
        critic.backward(valueLoss.gradient, cache: criticCache, into: &criticGradients)
        if config.maxGradientNorm > 0 { clipGradientNorm(&criticGradients, maxNorm: config.maxGradientNorm) }
        criticOptimizer.update(&critic, along: criticGradients)
        updates += 1
        lastLoss = loss.value
      }
    }
    return lastLoss
  }
}

extension Loss {
  /// PPO's clipped surrogate loss with an entropy bonus, averaged over the batch:
  ///
  ///     L = -mean( min(r A, clip(r, 1 - eps, 1 + eps) A) ) - c * mean(H(pi))
  ///
  /// with `r = exp(log pi(a|s) - oldLogProb)`. The gradient is with respect to
  /// the logits.
  public static func clippedSurrogate(
    logits: [Float], actions: [Int], oldLogProbs: [Float], advantages: [Float], actionCount: Int,
    clipRange: Float, entropyCoefficient: Float
  ) -> LossResult {
    let batch = actions.count
    precondition(logits.count == batch * actionCount, "clippedSurrogate: logits must be [batch, actionCount]")
    precondition(oldLogProbs.count == batch && advantages.count == batch, "clippedSurrogate: one old log-prob and advantage per action")
    var loss: Float = 0
    var grad = [Float](repeating: 0, count: logits.count)
    var logP = [Float](repeating: 0, count: actionCount)
    let scale = 1 / Float(batch)
    for i in 0..<batch {
      let row = i * actionCount
      logSoftmax(logits, offset: row, count: actionCount, into: &logP)
      let a = actions[i]
      let ratio = exp(logP[a] - oldLogProbs[i])
      let adv = advantages[i]
      let clipped = min(max(ratio, 1 - clipRange), 1 + clipRange)
      let unclippedTerm = ratio * adv
      let clippedTerm = clipped * adv
      loss -= min(unclippedTerm, clippedTerm) * scale
      // d(-min)/d logP[a] = -A r when the unclipped term is the minimum.
      let dLogPa: Float = unclippedTerm <= clippedTerm ? -adv * ratio * scale : 0
      var entropy: Float = 0
      for j in 0..<actionCount { entropy -= exp(logP[j]) * logP[j] }
      loss -= entropyCoefficient * entropy * scale
      for j in 0..<actionCount {
        let p = exp(logP[j])
        grad[row + j] = dLogPa * ((j == a ? 1 : 0) - p) + entropyCoefficient * scale * p * (logP[j] + entropy)
      }
    }
    return LossResult(value: loss, gradient: grad)
  }
}
