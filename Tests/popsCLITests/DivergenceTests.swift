import Foundation
import PoPS
import Testing

/// Divergence (issue 13 case 4): training stops at the first non-finite
/// loss or weight with the step named, keeps the last finite checkpoint and
/// writes no model.
struct DivergenceTests {
  @Test func aDivergingTeacherStopsNamingTheStepAndKeepsTheFiniteCheckpoint() throws {
    let out = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let result = try pops([
      "train", "--env", "CartPole-v0", "--out", out, "--steps", "5000", "--checkpoint-every", "500",
      "--set", "teacher.dqn.learning_rate=1e30",
    ])
    #expect(result.status != 0 && result.output.contains("training diverged at step "), "\(result.output)")
    #expect(result.output.contains("kept: checkpoint.safetensors"), "\(result.output)")
    for name in ["best.safetensors", "final.safetensors"] {
      #expect(!FileManager.default.fileExists(atPath: "\(out)/\(name)"), "\(name) was written")
    }
    let checkpoint = try TensorArchive.read(from: URL(fileURLWithPath: "\(out)/checkpoint.safetensors"))
    for (name, array) in checkpoint.arrays {
      if case .float(let values) = array {
        let finite = values.allSatisfy { $0.isFinite }
        #expect(finite, "\(name) holds a non-finite value")
      }
    }
  }
}
