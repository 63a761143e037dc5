import Foundation
import Testing

/// Runs the built `pops` executable (a sibling of the test bundle).
func pops(_ arguments: [String]) throws -> (status: Int32, output: String) {
  var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: url.appendingPathComponent("pops").path) && url.path != "/" {
    url.deleteLastPathComponent()
  }
  let process = Process()
  process.executableURL = url.appendingPathComponent("pops")
  process.arguments = arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

func temporaryFolder() -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent("pops-cli-\(UUID().uuidString)").path
}

struct CLITests {
  @Test func versionAndHelp() throws {
    let version = try pops(["--version"])
    #expect(version.status == 0 && version.output.contains("0.1.0"))
    let help = try pops(["--help"])
    #expect(help.status == 0)
    for command in ["train", "evaluate", "inspect"] { #expect(help.output.contains(command)) }
  }

  @Test func badEnvironmentIdIsAClearError() throws {
    let r = try pops(["train", "--env", "CartPole-v7", "--out", temporaryFolder()])
    #expect(r.status != 0)
    #expect(r.output.contains("unknown environment id 'CartPole-v7'"), "\(r.output)")
  }

  @Test func badFlagsAreClearErrors() throws {
    let steps = try pops(["train", "--out", temporaryFolder(), "--steps", "0"])
    #expect(steps.status != 0 && steps.output.contains("--steps must be positive"), "\(steps.output)")
    let unknown = try pops(["train", "--out", temporaryFolder(), "--stepz", "5"])
    #expect(unknown.status != 0 && unknown.output.contains("--stepz"), "\(unknown.output)")
    let missing = try pops(["inspect", "/nonexistent/model.safetensors"])
    #expect(missing.status != 0 && missing.output.contains("/nonexistent/model.safetensors"), "\(missing.output)")
  }

  @Test func trainEvaluateInspectEndToEnd() throws {
    let out = temporaryFolder()
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
