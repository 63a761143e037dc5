import Foundation
import PoPS
import Testing

/// The smaller rough edges of issue 13 (list 9): each a clear error.
struct RoughEdgeTests {
  @Test func badPathsFlagsAndIdsAreClearErrors() throws {
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = "\(folder)/a.safetensors"
    try FileManager.default.createDirectory(atPath: "\(folder)/dir", withIntermediateDirectories: true)
    #expect(mkfifo("\(folder)/fifo", 0o644) == 0)
    let cases: [([String], String)] = [
      (["evaluate", "\(folder)/dir", "--env", "CartPole-v0"], "dir: is a folder, not a file"),
      (["evaluate", "\(folder)/fifo", "--env", "CartPole-v0"], "fifo: is not a regular file"),
      (["run", "--out", "\(folder)/o1", "--set", "pruning..x=1"], "field name part 2 of 'pruning..x' is empty"),
      (["evaluate", model, "--env", "CartPole-v0", "--episodes", "-5"], "--episodes must be positive, got -5"),
      (["train", "--out", "\(folder)/o2", "--steps", "9223372036854775000"], "--steps must be in 1...2^40"),
      (["run", "--out", "\(folder)/o3", "--hidden", "4,4"], "--hidden sets the student of --mode distill-only"),
      (["evaluate", model, "--env", "gym:CartPole-v1?bogus=1", "--episodes", "1"], "unknown option 'bogus=1'"),
      (["evaluate", model, "--env", "gym:CartPole-v1?actions=a,b", "--episodes", "1"], "must be integers separated by commas"),
    ]
    for (arguments, message) in cases {
      let result = try pops(arguments)
      #expect(result.status != 0 && result.output.contains(message), "\(arguments): \(result.output)")
      #expect(!result.output.contains("NSCocoaErrorDomain") && !result.output.contains("Fatal error"), "\(result.output)")
    }
  }

  @Test func aRefusedResumeNamesTheFieldThatDiffers() throws {
    let folder = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let base = ["compress", "--teacher", "\(folder)/a.safetensors", "--env", "CartPole-v0", "--out", "\(folder)/out", "--config", "\(folder)/tiny.yaml"]
    #expect(try pops(base).status == 0)
    let other = try pops(base + ["--set", "pruning.end_step=400"])
    #expect(other.status != 0 && other.output.contains("pruning.end_step is 300 there, 400 here"), "\(other.output)")
  }

  @Test func inspectShowsControlCharactersInsteadOfSendingThem() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var rng = SeededGenerator(seed: 1)
    let network = Network(.mlp(inputs: 4, hidden: [3], outputs: 2), using: &rng)
    let hostile = "CartPole-v0\u{1B}[2J\u{1B}]0;owned\u{07}"
    try ModelFile.save(
      Model(network: network, provenance: Provenance(environment: hostile, summary: ["note": "\u{1B}[31mred"])),
      to: URL(fileURLWithPath: "\(folder)/m.safetensors"))
    let result = try pops(["inspect", "\(folder)/m.safetensors"])
    #expect(result.status == 0, "\(result.output)")
    #expect(!result.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(result.output)")
    #expect(result.output.contains("CartPole-v0\\u{1b}[2J"), "\(result.output)")
  }
}
