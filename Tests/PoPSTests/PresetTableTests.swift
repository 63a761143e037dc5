import PoPS
import Testing

/// Presets come from the environment table: a built-in id gets its family's
/// recipe, `gym:ALE/...` the Atari one and any other Gymnasium id the generic
/// one (the Gymnasium cases need the bridge's venv, as GymBridgeTests).
struct PresetTableTests {
  @Test(arguments: Environments.specs)
  func everyBuiltInIdGetsItsFamilysRecipe(_ spec: EnvironmentSpec) throws {
    let preset = try PoPSConfig.preset(for: spec.id)
    #expect(preset.environment == spec.id)
    #expect(preset.acceptanceScore == spec.rewardThreshold)
    switch try #require(spec.family) {
    case .cartPole:
      #expect(preset.teacher.algorithm == .dqn && preset.teacher.dqn.convolutions.isEmpty)
      #expect(preset.objective == 190 * Double(spec.maxEpisodeSteps) / 200)
    case .lunarLander:
      #expect(preset.teacher.algorithm == .ppo && preset.objective == 200)
    case .catchGame:
      #expect(preset.teacher.algorithm == .dqn && preset.teacher.dqn.convolutions == [[16, 3, 1]])
      #expect(preset.objective == 0.9)
    }
  }

  /// Ids of one family share the recipe: only what comes from the spec
  /// (id, objective, bounds, acceptance score) may differ.
  @Test func idsOfOneFamilyShareTheRecipe() throws {
    for family in EnvironmentFamily.allCases {
      let presets = try Environments.specs.filter { $0.family == family }.map { try PoPSConfig.preset(for: $0.id) }
      for preset in presets.dropFirst() {
        #expect(preset.teacher == presets[0].teacher, "\(preset.environment)")
        #expect(preset.experience == presets[0].experience, "\(preset.environment)")
        #expect(preset.distillation == presets[0].distillation, "\(preset.environment)")
        #expect(preset.pruning == presets[0].pruning, "\(preset.environment)")
        #expect(preset.shrinking == presets[0].shrinking, "\(preset.environment)")
      }
    }
  }

  @Test func gymnasiumIdsGetTheAtariOrTheGenericRecipe() throws {
    let pong = try PoPSConfig.preset(for: "gym:ALE/Pong-v5?actions=1,2,3")
    #expect(pong.environment == "gym:ALE/Pong-v5?actions=1,2,3")
    #expect(pong.teacher.dqn.convolutions == Architecture.natureConvolutions && pong.teacher.dqn.frameStack == 4)
    #expect(pong.objective == 18 && pong.lowerBound == 0)
    // Acrobot's threshold is -100: the generic recipe puts the objective there.
    let acrobot = try PoPSConfig.preset(for: "gym:Acrobot-v1")
    #expect(acrobot.teacher.dqn.convolutions.isEmpty && acrobot.teacher.dqn.frameStack == 0)
    #expect(acrobot.objective == -100 && acrobot.acceptanceScore == -100 && acrobot.lowerBound == -150)
  }
}
