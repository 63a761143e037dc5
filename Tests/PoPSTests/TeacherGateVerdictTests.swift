import Foundation
import PoPS
import Testing

/// The teacher gate's verdict on a teacher's score: one that passes the
/// students' acceptance rule is taken as it is; one under it is refused,
/// naming its score and the rule, unless students are judged against it.
struct TeacherGateVerdictTests {
  @Test func aTeacherUnderTheRuleIsRefusedOrJudgedAgainst() throws {
    let config = try tinyConfig()
    let gate = TeacherGate(config: config, objective: .environment)
    #expect(try gate.verdict(mean: config.acceptanceScore + 10, std: 0, episodes: 20) == .passes)
    let refused = #expect(throws: ConfigError.self) { try gate.verdict(mean: 20, std: 2, episodes: 20) }
    #expect(
      refused?.description.hasPrefix("the teacher scores 20.00 +- 2.00 over 20 episodes, under CartPole-v0's acceptance (\(config.acceptanceScore) with \(config.acceptanceConfidence) standard errors)") == true,
      "\(String(describing: refused))")
    let judged = TeacherGate(config: config, objective: .teacher)
    #expect(try judged.verdict(mean: config.acceptanceScore + 10, std: 0, episodes: 20) == .passes)
    #expect(
      try judged.verdict(mean: 20, std: 2, episodes: 20)
        == .judgedAgainstTeacher(config.judgedAgainst(teacherMean: 20, std: 2, episodes: 20)))
  }

  @Test func trainingIsTriedAtTheRunsAcceptance() throws {
    var config = try tinyConfig()
    config.acceptanceScore = 150
    let gate = TeacherGate(config: config, objective: .environment)
    #expect(gate.threshold == 150)
    #expect(gate.acceptance.episodes == config.acceptanceEpisodes)
    let returns = { (value: Double) in [Double](repeating: value, count: config.acceptanceEpisodes) }
    #expect(gate.acceptance.accepts(EvaluationResult(returns: returns(160), lengths: [Int](repeating: 160, count: config.acceptanceEpisodes))))
    #expect(!gate.acceptance.accepts(EvaluationResult(returns: returns(140), lengths: [Int](repeating: 140, count: config.acceptanceEpisodes))))
  }
}
