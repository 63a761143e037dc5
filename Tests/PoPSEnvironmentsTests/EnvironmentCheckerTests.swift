import PoPSCore
import PoPSEnvironments
import Testing

/// The checks of Gymnasium's `utils/env_checker.py`, run on every built-in
/// environment and on Gymnasium ones through the bridge (these need the
/// bridge's venv, `make deps-gym`, part of `make test`; they fail, never
/// skip, without it): seeding, observations and the time limit.
struct EnvironmentCheckerTests {
  /// Every built-in id, and Gymnasium ones through the bridge: CartPole
  /// (episodes end by termination) and Acrobot (random play mostly runs into
  /// its 500-step limit).
  static let ids = Environments.specs.map(\.id) + ["gym:CartPole-v1", "gym:Acrobot-v1"]

  /// One episode from `reset(seed:)` under actions drawn with `actionSeed`.
  struct Episode: Equatable {
    var first: [Float]
    var steps: [Step]
  }

  /// Plays from `reset(seed: seed)` until the episode ends or `maxSteps`
  /// steps, with uniformly drawn actions.
  static func play(
    _ env: inout any Environment, seed: UInt64?, actionSeed: UInt64, maxSteps: Int = 300
  ) throws -> Episode {
    var actions = SeededGenerator(seed: actionSeed)
    let first = try env.reset(seed: seed)
    var steps: [Step] = []
    while steps.count < maxSteps {
      let step = try env.step(taking: env.actionSpace.sample(using: &actions))
      steps.append(step)
      if step.isLast { break }
    }
    return Episode(first: first, steps: steps)
  }

  /// Two resets with the same seed give the same first observation and, under
  /// the same actions, the same episode: in two environments made with
  /// different seeds, and in one environment seeded again after playing.
  @Test(arguments: ids)
  func theSameSeedGivesTheSameEpisode(_ id: String) throws {
    var a = try Environments.make(id, seed: 1)
    var b = try Environments.make(id, seed: 2)
    for seed: UInt64 in [0, 123] {
      let first = try Self.play(&a, seed: seed, actionSeed: seed)
      #expect(try Self.play(&b, seed: seed, actionSeed: seed) == first, "\(id) seed \(seed): another environment")
      #expect(try Self.play(&a, seed: seed, actionSeed: seed) == first, "\(id) seed \(seed): the same environment again")
    }
  }

  /// Different seeds start different episodes: of 16 seeds' first
  /// observations at least 8 differ (Catch has only 100 starts).
  @Test(arguments: ids)
  func differentSeedsGiveDifferentEpisodes(_ id: String) throws {
    var env = try Environments.make(id, seed: 0)
    var firsts: [[Float]] = []
    for seed: UInt64 in 0..<16 {
      let first = try env.reset(seed: seed)
      if !firsts.contains(first) { firsts.append(first) }
    }
    #expect(firsts.count >= 8, "\(id): \(firsts.count) different first observations of 16 seeds")
  }

  /// `reset(seed: nil)` continues the stream the last seed started: the same
  /// starts after the same seed, and new ones, not a fixed seed's start again
  /// (at least 5 of 7 starts differ; Catch has only 100).
  @Test(arguments: ids)
  func anUnseededResetContinuesTheStream(_ id: String) throws {
    func starts(_ constructorSeed: UInt64) throws -> [[Float]] {
      var env = try Environments.make(id, seed: constructorSeed)
      var starts = [try env.reset(seed: 7)]
      for _ in 0..<6 { starts.append(try env.reset(seed: nil)) }
      return starts
    }
    let a = try starts(1)
    #expect(try starts(2) == a, "\(id): the same seed, then unseeded resets")
    #expect(Set(a).count >= 5, "\(id): unseeded resets repeat starts: \(Set(a).count) different of \(a.count)")
  }

  /// Every observation, after reset and after each step, has the space's
  /// shape, is finite and lies in the space; rewards are finite.
  @Test(arguments: ids)
  func observationsLieInTheirSpace(_ id: String) throws {
    var env = try Environments.make(id, seed: 0)
    let space = env.observationSpace
    let size = space.shape.reduce(1, *)
    #expect(size == space.low.count && env.actionSpace.count > 0, "\(id): spaces")
    for seed: UInt64 in 0..<3 {
      let episode = try Self.play(&env, seed: seed, actionSeed: seed &+ 10, maxSteps: 1_000)
      let observations = [episode.first] + episode.steps.map(\.observation)
      for (t, observation) in observations.enumerated() {
        #expect(observation.count == size, "\(id) seed \(seed) step \(t): \(observation.count) values, shape \(space.shape)")
        #expect(observation.allSatisfy { $0.isFinite }, "\(id) seed \(seed) step \(t): not finite")
        #expect(space.contains(observation), "\(id) seed \(seed) step \(t): outside the observation space")
      }
      #expect(episode.steps.allSatisfy { $0.reward.isFinite }, "\(id) seed \(seed): a reward is not finite")
    }
  }

  /// The environment made for an id ends episodes at its spec's
  /// `maxEpisodeSteps`: no step before it is truncated, the step at it is,
  /// and no episode runs past it.
  @Test(arguments: ids)
  func episodesAreTruncatedAtTheSpecsLimit(_ id: String) throws {
    let spec = try Environments.spec(for: id)
    var env = try Environments.make(id, seed: 0)
    #expect((env as? any EpisodeLimited)?.episodeLimit == spec.maxEpisodeSteps, "\(id): the time limit is not the spec's")
    for seed: UInt64 in 0..<3 {
      let episode = try Self.play(&env, seed: seed, actionSeed: seed, maxSteps: spec.maxEpisodeSteps + 1)
      #expect(episode.steps.count <= spec.maxEpisodeSteps, "\(id) seed \(seed): ran \(episode.steps.count) steps")
      for (t, step) in episode.steps.enumerated() {
        #expect(step.truncated == (t + 1 == spec.maxEpisodeSteps), "\(id) seed \(seed) step \(t + 1): truncated \(step.truncated)")
      }
    }
  }

  /// Built-in episodes rarely live to their limit under random play, so the
  /// limit itself is checked on an episode that never ends by itself, with
  /// every spec's step count, across two episodes.
  @Test(arguments: Environments.specs)
  func theTimeLimitTruncatesAtTheSpecsStep(_ spec: EnvironmentSpec) throws {
    var env = TimeLimit(Endless(), maxEpisodeSteps: spec.maxEpisodeSteps)
    for _ in 0..<2 {
      _ = try env.reset(seed: 0)
      var count = 0
      var last: Step
      repeat {
        last = try env.step(taking: 0)
        count += 1
      } while !last.isLast && count < spec.maxEpisodeSteps + 5
      #expect(count == spec.maxEpisodeSteps, "\(spec.id): ended after \(count) steps")
      #expect(last.truncated && !last.terminated)
    }
  }
}

/// What the checker reads of an environment's time limit.
protocol EpisodeLimited {
  var episodeLimit: Int? { get }
}

extension TimeLimit: EpisodeLimited {
  var episodeLimit: Int? { maxEpisodeSteps }
}

extension GymEnvironment: EpisodeLimited {
  var episodeLimit: Int? { maxEpisodeSteps }
}

/// An environment whose episodes never end by themselves.
struct Endless: Environment {
  var observationSpace: BoxSpace { BoxSpace(low: [0], high: [.infinity]) }
  var actionSpace: DiscreteSpace { DiscreteSpace(1) }
  var elapsed = 0

  mutating func reset(seed: UInt64?) -> [Float] {
    elapsed = 0
    return [0]
  }

  mutating func step(taking action: Int) -> Step {
    elapsed += 1
    return Step(observation: [Float(elapsed)], reward: 0, terminated: false, truncated: false)
  }
}
