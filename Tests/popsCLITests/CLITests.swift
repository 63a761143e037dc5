import Foundation
import PoPS
import Testing

struct CLITests {
  /// POPS_ISA picks the kernel path; one that names no path, or one this
  /// CPU lacks, stops pops before any command runs.
  @Test func kernelPathsAreChosenOrRefused() throws {
    for isa in InstructionSet.supported {
      let r = try pops(["--version"], environment: ["POPS_ISA": isa.rawValue])
      #expect(r.status == 0 && r.output.contains("kernels: \(isa)"), "\(r.output)")
    }
    let bad = try pops(["--version"], environment: ["POPS_ISA": "sse9"])
    #expect(bad.status == 2 && bad.output.contains("POPS_ISA=sse9 names no kernel path"), "\(bad.output)")
    for isa in InstructionSet.allCases where !isa.isSupported {
      let lacking = try pops(["--version"], environment: ["POPS_ISA": isa.rawValue])
      #expect(lacking.status == 2 && lacking.output.contains("this CPU cannot run"), "\(lacking.output)")
    }
  }

  @Test func versionAndHelp() throws {
    let version = try pops(["--version"])
    #expect(version.status == 0 && version.output.contains("0.1.0"))
    let help = try pops(["--help"])
    #expect(help.status == 0)
    for command in ["run", "compress", "train", "evaluate", "inspect", "config"] { #expect(help.output.contains(command)) }
  }

  @Test func badEnvironmentIdIsAClearError() throws {
    let r = try pops(["train", "--env", "CartPole-v7", "--out", temporaryFolder()])
    #expect(r.status != 0)
    #expect(r.output.contains("unknown environment id 'CartPole-v7'"), "\(r.output)")
  }

  @Test func badFlagsAreClearErrors() throws {
    let steps = try pops(["train", "--out", temporaryFolder(), "--steps", "0"])
    #expect(steps.status != 0 && steps.output.contains("--steps must be in 1...2^40, got 0"), "\(steps.output)")
    let unknown = try pops(["train", "--out", temporaryFolder(), "--stepz", "5"])
    #expect(unknown.status != 0 && unknown.output.contains("--stepz"), "\(unknown.output)")
    let missing = try pops(["inspect", "/nonexistent/model.safetensors"])
    #expect(missing.status != 0 && missing.output.contains("/nonexistent/model.safetensors"), "\(missing.output)")
    // An empty --out would write a whole run into the current folder (issue 13).
    for arguments in [["train", "--out", ""], ["run", "--out", ""], ["compress", "--teacher", "t.safetensors", "--out", " "],
                      ["export", "m.safetensors", "--format", "c", "--out", ""], ["import", "m.zip", "--out", ""]] {
      let empty = try pops(arguments)
      #expect(empty.status != 0 && empty.output.contains("--out must name a"), "\(arguments): \(empty.output)")
    }
  }

  @Test func trainEvaluateInspectEndToEnd() throws {
    let out = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let train = try pops(["train", "--env", "CartPole-v1", "--out", out, "--steps", "1500", "--eval-episodes", "3"])
    #expect(train.status == 0, "\(train.output)")
    for file in ["best.safetensors", "final.safetensors", "metrics.csv", "evaluations.jsonl", "training.json"] {
      #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "missing \(file)")
    }
    let metrics = try String(contentsOfFile: "\(out)/metrics.csv", encoding: .utf8)
    #expect(metrics.hasPrefix("step,episodes,mean_return_100"))
    let evaluate = try pops(["evaluate", "\(out)/final.safetensors", "--episodes", "5", "--json"])
    #expect(evaluate.status == 0, "\(evaluate.output)")
    let json = try JSONSerialization.jsonObject(with: Data(evaluate.output.utf8)) as? [String: Any]
    #expect(json?["env"] as? String == "CartPole-v1")
    #expect((json?["returns"] as? [Double])?.count == 5)
    let inspect = try pops(["inspect", "\(out)/final.safetensors"])
    #expect(inspect.status == 0 && inspect.output.contains("4-256-256-128-2"), "\(inspect.output)")
  }
}
