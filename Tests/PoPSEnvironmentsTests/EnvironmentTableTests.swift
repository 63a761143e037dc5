import PoPSEnvironments
import Testing

/// The one table of environments (`Environments.specs`) and the parsed ids.
struct EnvironmentTableTests {
  /// The spaces each family's environment has (Gymnasium's for CartPole and
  /// LunarLander; Catch is 10x10 pixels).
  static let spaces: [EnvironmentFamily: (observation: [Int], actions: Int)] = [
    .cartPole: ([4], 2), .lunarLander: ([8], 4), .catchGame: ([1, 10, 10], 3),
  ]

  @Test func everySpecBuildsAnEnvironmentOfItsFamily() throws {
    #expect(Set(Environments.specs.map(\.id)).count == Environments.specs.count, "ids are unique")
    #expect(Set(Environments.specs.compactMap(\.family)) == Set(EnvironmentFamily.allCases), "every family is used")
    for spec in Environments.specs {
      let family = try #require(spec.family, "\(spec.id) has no family")
      let expected = try #require(Self.spaces[family])
      let env = try Environments.make(spec.id, seed: 3)
      #expect(env.observationSpace.shape == expected.observation, "\(spec.id)")
      #expect(env.actionSpace.count == expected.actions, "\(spec.id)")
      #expect(try Environments.spec(for: spec.id) == spec)
      #expect(try EnvironmentID(parsing: spec.id) == .builtIn(spec))
    }
  }

  /// Ids of one family differ only in their spec (LunarLander-v2 is an alias
  /// of v3; CartPole-v0 and v1 differ in the time limit): the same seed and
  /// actions give the same steps.
  @Test func idsOfOneFamilyPlayTheSameEpisodes() throws {
    for family in EnvironmentFamily.allCases {
      let ids = Environments.specs.filter { $0.family == family }.map(\.id)
      var episodes: [EnvironmentCheckerTests.Episode] = []
      for id in ids {
        var env = try Environments.make(id, seed: 0)
        episodes.append(try EnvironmentCheckerTests.play(&env, seed: 5, actionSeed: 5, maxSteps: 15))
      }
      #expect(episodes.allSatisfy { $0 == episodes[0] }, "\(ids)")
    }
  }

  @Test func idsParseAsBuiltInOrGymnasium() throws {
    let pong = try EnvironmentID(parsing: "gym:ALE/Pong-v5?actions=1,2,3")
    #expect(pong == .gymnasium(id: "ALE/Pong-v5?actions=1,2,3"))
    #expect(pong.isGymnasium && pong.isAtari)
    #expect(pong.description == "gym:ALE/Pong-v5?actions=1,2,3")
    let cartPole = try EnvironmentID(parsing: "gym:CartPole-v1")
    #expect(cartPole.isGymnasium && !cartPole.isAtari)
    let builtIn = try EnvironmentID(parsing: "CartPole-v0")
    #expect(!builtIn.isGymnasium && !builtIn.isAtari && builtIn.description == "CartPole-v0")
    // The prefix is exact: no Gymnasium id without it, and no built-in with it.
    for text in ["ALE/Pong-v5", "Gym:CartPole-v1", "gym", "CartPole-v9", ""] {
      let error = #expect(throws: EnvironmentError.self) { try EnvironmentID(parsing: text) }
      #expect(error?.description.contains("unknown environment id '\(text)'; known ids: CartPole-v0, CartPole-v1, LunarLander-v3") == true)
    }
  }

}
