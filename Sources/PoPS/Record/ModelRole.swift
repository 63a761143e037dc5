import Foundation

/// What a model file written by pops is, as its provenance records it
/// (`role` in the file's metadata, shown by `pops inspect`, copied into
/// exports). `name` is the text stored.
public enum ModelRole: Equatable, Sendable {
  /// A teacher's best evaluation so far during training (`best.safetensors`).
  case teacherBest(TeacherAlgorithm)
  /// The first teacher that passed the acceptance gate (`accepted.safetensors`).
  case teacherAccepted(TeacherAlgorithm)
  /// The teacher as its training budget ended (`final.safetensors` of `pops train`).
  case teacherFinal(TeacherAlgorithm)
  /// A teacher imported from another format.
  case importedTeacher
  /// A step's sparsest pruned model that met the objective.
  case pruned
  /// A step's accepted dense student.
  case student
  /// A PoPS run's result (`final.safetensors`).
  case final

  /// The role as stored in the model file, e.g. `dqn-teacher-best`, `pops-student`.
  public var name: String {
    switch self {
    case .teacherBest(let algorithm): return "\(algorithm.rawValue)-teacher-best"
    case .teacherAccepted(let algorithm): return "\(algorithm.rawValue)-teacher-accepted"
    case .teacherFinal(let algorithm): return "\(algorithm.rawValue)-teacher-final"
    case .importedTeacher: return "imported-teacher"
    case .pruned: return "pops-pruned"
    case .student: return "pops-student"
    case .final: return "pops-final"
    }
  }
}
