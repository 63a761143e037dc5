import Foundation
import PoPS
import PoPSNN
import Testing

/// What a script or a new user reads: every command's help has an example,
/// and --json puts one JSON object on stdout with the progress on stderr.
struct CLISummaryTests {
  @Test(arguments: ["", "run", "compress", "train", "import", "export", "evaluate", "inspect", "plot", "report", "config show", "sweep"])
  func everyHelpHasAnExample(command: String) throws {
    let r = try pops(command.split(separator: " ").map(String.init) + ["--help"])
    #expect(r.status == 0 && r.output.contains("Example"), "pops \(command) --help:\n\(r.output)")
  }

  @Test func jsonSummariesAreTheirOwnStdout() throws {
    // a.safetensors (and b.safetensors, another teacher) and tiny.yaml.
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for arguments in [
      ["compress", "--teacher", "\(folder)/a.safetensors", "--out", "\(folder)/out", "--config", "\(folder)/tiny.yaml", "--json"],
      ["train", "--env", "CartPole-v0", "--out", "\(folder)/teacher", "--steps", "2000", "--episodes", "3", "--json"],
    ] {
      let process = Process()
      process.executableURL = popsExecutable()
      process.arguments = arguments
      let out = Pipe(), err = Pipe()
      process.standardOutput = out
      process.standardError = err
      try process.run()
      let stdout = out.fileHandleForReading.readDataToEndOfFile()
      let stderr = err.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "\(String(decoding: stderr, as: UTF8.self))")
      let object = try #require(
        try JSONSerialization.jsonObject(with: stdout) as? [String: Any], "stdout: \(String(decoding: stdout, as: UTF8.self))")
      if arguments[0] == "compress" {
        #expect(object["status"] as? String == "done" && (object["final"] as? [String: Any])?["size_percent"] != nil)
        #expect(String(decoding: stderr, as: UTF8.self).contains("report: "), "the human lines go to stderr")
      } else {
        #expect(object["steps"] as? Int == 2000 && object["best_model"] is String)
      }
    }
  }

  /// `pops report RUN --baseline DIR` puts baseline runs on the same teacher
  /// next to the run, and refuses one on another teacher.
  @Test func theReportComparesBaselinesOnTheSameTeacher() throws {
    // a.safetensors (and b.safetensors, another teacher) and tiny.yaml.
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let common = ["--env", "CartPole-v0", "--config", "\(folder)/tiny.yaml"]
    for (out, teacher, extra) in [("full", "a", [String]()), ("prune", "a", ["--mode", "prune-only"]), ("stranger", "b", ["--mode", "prune-only"])] {
      let r = try pops(["compress", "--teacher", "\(folder)/\(teacher).safetensors", "--out", "\(folder)/\(out)"] + common + extra)
      #expect(r.status == 0, "\(r.output)")
    }
    let refused = try pops(["report", "\(folder)/full", "--baseline", "\(folder)/stranger"])
    #expect(refused.status != 0 && refused.output.contains("stranger: its teacher.safetensors is not"), "\(refused.output)")
    let before = try String(contentsOfFile: "\(folder)/full/report.html", encoding: .utf8)
    #expect(!before.contains("Against the baselines"), "a refused baseline changes nothing")
    let r = try pops(["report", "\(folder)/full", "--baseline", "\(folder)/prune"])
    #expect(r.status == 0, "\(r.output)")
    let html = try String(contentsOfFile: "\(folder)/full/report.html", encoding: .utf8)
    #expect(html.contains("Against the baselines (same teacher)") && html.contains("<td>prune</td><td>prune-only</td>"))
  }
}
