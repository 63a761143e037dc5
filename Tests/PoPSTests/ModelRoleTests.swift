import Foundation
import PoPS
import Testing

/// The roles model files record: the same text as before they were an enum
/// (`pops inspect` shows it, exports copy it).
struct ModelRoleTests {
  @Test func everyRoleIsStoredUnderItsName() {
    let roles: [ModelRole] = [
      .teacherBest(.dqn), .teacherAccepted(.ppo), .teacherFinal(.dqn), .importedTeacher, .pruned, .student, .final,
    ]
    #expect(roles.map(\.name) == [
      "dqn-teacher-best", "ppo-teacher-accepted", "dqn-teacher-final", "imported-teacher", "pops-pruned",
      "pops-student", "pops-final",
    ])
  }
}
