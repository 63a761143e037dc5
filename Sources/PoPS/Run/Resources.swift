import Foundation
import PoPSAgents
import PoPSEnvironments
import PoPSNN

/// Checks of a configuration against the environment it will run on, made
/// before any work starts or any file is written: the teacher's network must
/// fit the observations, and no buffer may need more memory than the machine
/// has (issue 13: a huge buffer_size aborted in the allocator, a kernel
/// larger than the frame hit a precondition).
public enum Resources {
  /// The machine's memory, the ceiling for any one buffer.
  public static var physicalMemory: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

  /// `field` holding `count` items of `bytesPerItem` bytes each, if that is
  /// more than `limit` bytes (or overflows): a message naming both.
  static func tooLarge(_ field: String, count: Int, bytesPerItem: Int, what: String, limit: Int) -> String? {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: max(bytesPerItem, 1))
    guard overflow || bytes > limit else { return nil }
    let needed = overflow ? "more than 2^63 bytes" : Self.describe(bytes: bytes)
    return "\(field) \(count) needs \(needed) (\(what)); this machine has \(Self.describe(bytes: limit))"
  }

  static func describe(bytes: Int) -> String {
    let gib = Double(bytes) / Double(1 << 30)
    return gib >= 1 ? String(format: "%.1f GiB", gib) : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
  }

  /// The first problem of the teacher's settings for observations of `space`, or nil.
  public static func teacherProblem(
    _ teacher: PoPSConfig.TeacherConfig, observationSpace space: BoxSpace, memory: Int = physicalMemory
  ) -> String? {
    let observations = space.low.count
    switch teacher.algorithm {
    case .dqn:
      let dqn = teacher.dqn
      if !dqn.convolutions.isEmpty {
        guard space.shape.count == 3 else {
          return "teacher.dqn.convolutions need image observations [channels, height, width]; this environment's are \(space.shape)"
        }
        if let problem = Architecture.convNetProblem(inputShape: space.shape, convolutions: dqn.convolutions) {
          return "teacher.dqn.convolutions: \(problem)"
        }
      }
      if dqn.frameStack > 0 && observations % dqn.frameStack != 0 {
        return "teacher.dqn.frame_stack \(dqn.frameStack) does not divide the \(observations) observation values"
      }
      // Vector replay: two observations as float32 plus action, reward and flags;
      // frame replay: each frame once, as bytes.
      let perTransition = dqn.frameStack > 0 ? observations / dqn.frameStack + 16 : 8 * observations + 16
      return tooLarge(
        "teacher.dqn.buffer_size", count: dqn.bufferSize, bytesPerItem: perTransition,
        what: "\(perTransition) bytes per transition", limit: memory)
        ?? tooLarge(
          "teacher.dqn.batch_size", count: dqn.batchSize, bytesPerItem: 8 * observations * 3,
          what: "two batches of observations and their activations", limit: memory / 4)
    case .ppo where !teacher.ppo.convolutions.isEmpty:
      let convolutions = teacher.ppo.convolutions
      guard space.shape.count == 3 else {
        return "teacher.ppo.convolutions need image observations [channels, height, width]; this environment's are \(space.shape)"
      }
      if let problem = Architecture.convNetProblem(inputShape: space.shape, convolutions: convolutions) {
        return "teacher.ppo.convolutions: \(problem)"
      }
      fallthrough
    case .ppo:
      let ppo = teacher.ppo
      let (steps, overflow) = ppo.environments.multipliedReportingOverflow(by: ppo.rolloutSteps)
      if overflow { return "teacher.ppo.environments x rollout_steps overflows (\(ppo.environments) x \(ppo.rolloutSteps))" }
      return tooLarge(
        "teacher.ppo.environments x rollout_steps", count: steps, bytesPerItem: 4 * observations + 32,
        what: "a rollout of observations, actions, rewards, values and advantages", limit: memory)
    }
  }

  /// The first problem of the PoPS stages' buffers for a teacher with
  /// `observations` inputs and `actions` outputs, or nil.
  public static func distillationProblem(
    _ config: PoPSConfig, observations: Int, actions: Int, memory: Int = physicalMemory
  ) -> String? {
    tooLarge(
      "experience.capacity", count: config.experience.capacity, bytesPerItem: 4 * (observations + actions),
      what: "a state and the teacher's outputs per entry", limit: memory)
      ?? tooLarge(
        "distillation.batch_size", count: config.distillation.batchSize, bytesPerItem: 4 * (observations + actions) * 4,
        what: "a minibatch of states, targets and gradients", limit: memory / 4)
  }
}
