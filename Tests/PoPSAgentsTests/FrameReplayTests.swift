import Foundation
import PoPSAgents
import Testing

struct FrameReplayTests {
  /// Episodes whose frames encode (episode, step); observations stacked the
  /// way Gymnasium's FrameStackObservation does (the first frame repeated).
  @Test func reconstructsStacksAcrossEpisodesAndWrapAround() {
    let stack = 4, frameSize = 3
    var buffer = FrameReplayBuffer(capacity: 37, stack: stack, frameSize: frameSize)
    func frame(_ episode: Int, _ t: Int) -> [Float] { [Float(episode * 20 + t), Float(t), Float(episode)] }
    func observation(_ episode: Int, _ t: Int) -> [Float] {
      (0..<stack).flatMap { k in frame(episode, max(0, t - (stack - 1) + k)) }
    }
    var truth: [String: ([Float], [Float], Int, Float)] = [:]
    var rng = SeededGenerator(seed: 3)
    for episode in 0..<9 {
      let length = 2 + rng.index(below: 7)
      for t in 0..<length {
        let last = t == length - 1
        let action = (episode + t) % 3
        buffer.add(
          observation: observation(episode, t), action: action, reward: Float(t), nextObservation: observation(episode, t + 1),
          terminated: last && episode % 2 == 0, episodeEnded: last)
        truth["\(episode)-\(t)"] = (observation(episode, t), observation(episode, t + 1), action, last && episode % 2 == 0 ? 1 : 0)
      }
    }
    var batch = TransitionBatch(size: 300, observationCount: stack * frameSize)
    buffer.sample(into: &batch, using: &rng)
    var seenEpisodes = Set<Int>()
    for b in 0..<batch.size {
      let obs = Array(batch.observations[(b * 12)..<((b + 1) * 12)])
      let episode = Int(obs[11]), t = Int(obs[10])
      seenEpisodes.insert(episode)
      guard let expected = truth["\(episode)-\(t)"] else {
        Issue.record("sampled an unknown transition \(obs)")
        continue
      }
      #expect(obs == expected.0, "observation of episode \(episode) step \(t)")
      #expect(Array(batch.nextObservations[(b * 12)..<((b + 1) * 12)]) == expected.1, "next observation")
      #expect(batch.actions[b] == expected.2 && batch.rewards[b] == Float(t) && batch.terminated[b] == expected.3)
    }
    #expect(!seenEpisodes.contains(0), "the oldest episodes were overwritten by the ring")
    #expect(seenEpisodes.contains(8))
  }

  @Test func storesEachFrameOnceAsBytes() {
    var buffer = FrameReplayBuffer(capacity: 10, stack: 4, frameSize: 2)
    let obs: [Float] = [0, 0, 0, 0, 0, 0, 255, 300]
    buffer.add(observation: obs, action: 1, reward: 1, nextObservation: obs.map { min($0 + 1, 255) }, terminated: false, episodeEnded: false)
    buffer.add(observation: obs.map { min($0 + 1, 255) }, action: 0, reward: 0, nextObservation: obs, terminated: true, episodeEnded: true)
    #expect(buffer.transitions == 2)
    var rng = SeededGenerator(seed: 1)
    var batch = TransitionBatch(size: 8, observationCount: 8)
    buffer.sample(into: &batch, using: &rng)
    #expect(batch.observations.allSatisfy { (0...255).contains($0) }, "values are clamped bytes")
  }
}
