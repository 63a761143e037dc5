import Foundation
import PoPS
import Testing

/// `pops sweep` (issue 14): a tiny CartPole study on the local engine, the
/// skip on rerun, a failing cell that does not stop the others, the Slurm
/// scripts and their per-index command, and study files with mistakes.
struct SweepTests {
  static let tinySettings = [
    "objective=9", "lower_bound=5", "acceptance_score=9", "acceptance_episodes=5", "experience.refill_steps=300",
    "experience.capacity=600", "pruning.end_step=300", "pruning.minibatches_per_iteration=100",
    "pruning.evaluation_interval=50", "pruning.evaluation_episodes=3", "pruning.max_iterations=3",
    "distillation.minibatches_per_epoch=100", "distillation.evaluation_interval=50",
    "distillation.evaluation_episodes=3", "distillation.max_epochs=2", "shrinking.max_steps=2",
  ]

  /// A folder with a random CartPole teacher (t.safetensors) and a study over
  /// two seeds and `modes`, with `extra` lines appended.
  func study(modes: String, teachers: String? = nil) throws -> String {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 3)
    let network = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    try ModelFile.save(
      Model(network: network, provenance: Provenance(environment: "CartPole-v0")),
      to: URL(fileURLWithPath: "\(folder)/t.safetensors"))
    let sets = Self.tinySettings.map { "\"\($0)\"" }.joined(separator: ", ")
    let yaml = """
      environments: [CartPole-v0]
      seeds: [0, 1]
      modes: [\(modes)]
      teacher: \(teachers ?? "{CartPole-v0: \(folder)/t.safetensors}")
      set: [\(sets)]
      """
    try yaml.write(toFile: "\(folder)/study.yaml", atomically: true, encoding: .utf8)
    return folder
  }

  func summaryRows(_ folder: String) throws -> [[String]] {
    let text = try String(contentsOfFile: "\(folder)/out/summary.csv", encoding: .utf8)
    return text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
  }

  @Test func aTinyStudyRunsSummarisesAndSkipsFinishedCellsOnRerun() throws {
    let folder = try study(modes: "full, prune-only, distill-only")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let first = try pops(["sweep", "\(folder)/study.yaml", "--out", "\(folder)/out", "--workers", "2"])
    #expect(first.status == 0, "\(first.output)")
    #expect(first.output.contains("6/6 done, 0 running, 0 failed"), "\(first.output)")
    let rows = try summaryRows(folder)
    #expect(rows.count == 6)
    #expect(rows.allSatisfy { $0[3] == "done" }, "\(rows)")
    // distill-only trains the architecture the full run of its seed found.
    for seed in ["0", "1"] {
      let full = rows.first { $0[1] == "full" && $0[2] == seed }!, distill = rows.first { $0[1] == "distill-only" && $0[2] == seed }!
      #expect(full[5] == distill[5], "seed \(seed): \(full[5]) vs \(distill[5])")
    }
    for name in ["summary.json", "summary.html"] {
      #expect(FileManager.default.fileExists(atPath: "\(folder)/out/\(name)"), "missing \(name)")
    }
    let html = try String(contentsOfFile: "\(folder)/out/summary.html", encoding: .utf8)
    #expect(html.contains("<svg") && html.contains("distill-only (2 seeds)"))

    // A rerun starts no cell: every results.json keeps its bytes and time.
    let record = "\(folder)/out/cells/CartPole-v0__full__0/results.json"
    let before = try FileManager.default.attributesOfItem(atPath: record)[.modificationDate] as? Date
    let second = try pops(["sweep", "\(folder)/study.yaml", "--out", "\(folder)/out"])
    #expect(second.status == 0 && second.output.contains("6/6 done"), "\(second.output)")
    let after = try FileManager.default.attributesOfItem(atPath: record)[.modificationDate] as? Date
    #expect(before == after, "a finished cell ran again")
  }

  @Test func aFailingCellIsReportedWithItsLogAndTheOthersFinish() throws {
    // Seed 1's teacher file is missing: its cells fail, seed 0's finish.
    let folder = try study(modes: "full, distill-only")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var yaml = try String(contentsOfFile: "\(folder)/study.yaml", encoding: .utf8)
    yaml = yaml.replacingOccurrences(of: "environments: [CartPole-v0]", with: "environments: [CartPole-v0, CartPole-v1]")
    yaml = yaml.replacingOccurrences(of: "teacher: {CartPole-v0: \(folder)/t.safetensors}", with: "teacher: {CartPole-v0: \(folder)/t.safetensors, CartPole-v1: \(folder)/missing.safetensors}")
    try yaml.write(toFile: "\(folder)/study.yaml", atomically: true, encoding: .utf8)
    let result = try pops(["sweep", "\(folder)/study.yaml", "--out", "\(folder)/out"])
    #expect(result.status != 0, "\(result.output)")
    #expect(result.output.contains("failed: CartPole-v1__full__0: exited with status"), "\(result.output)")
    #expect(result.output.contains("| Error: ") && result.output.contains("missing.safetensors"), "\(result.output)")
    #expect(result.output.contains("failed: CartPole-v1__distill-only__0: its full run CartPole-v1__full__0 failed"), "\(result.output)")
    let rows = try summaryRows(folder)
    #expect(rows.filter { $0[0] == "CartPole-v0" }.allSatisfy { $0[3] == "done" }, "\(rows)")
    #expect(rows.filter { $0[0] == "CartPole-v1" }.allSatisfy { $0[3] == "failed" }, "\(rows)")
  }

  @Test func slurmArraysRunEachCellByIndexAndCollectTheSummary() throws {
    let folder = try study(modes: "full, prune-only")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let out = "\(folder)/out"
    let written = try pops(["sweep", "\(folder)/study.yaml", "--out", out, "--engine", "slurm", "--workers", "3"])
    #expect(written.status == 0, "\(written.output)")
    let full = try String(contentsOfFile: "\(out)/slurm/full.sbatch", encoding: .utf8)
    let rest = try String(contentsOfFile: "\(out)/slurm/rest.sbatch", encoding: .utf8)
    #expect(full.contains("#SBATCH --array=0-1%3") && rest.contains("#SBATCH --array=0-1%3"), "\(full)\n\(rest)")
    #expect(full.contains("--cell $((0 + SLURM_ARRAY_TASK_ID))") && rest.contains("--cell $((2 + SLURM_ARRAY_TASK_ID))"))
    let submit = try String(contentsOfFile: "\(out)/slurm/submit.sh", encoding: .utf8)
    #expect(submit.contains("sbatch --parsable --dependency=afterany:$full rest.sbatch"), "\(submit)")
    // What the array tasks do, in the order Slurm allows.
    for index in 0..<4 {
      let task = try pops(["sweep", "\(folder)/study.yaml", "--out", out, "--cell", String(index)])
      #expect(task.status == 0, "cell \(index): \(task.output)")
    }
    let collected = try pops(["sweep", "\(folder)/study.yaml", "--out", out, "--collect"])
    #expect(collected.status == 0, "\(collected.output)")
    #expect(try summaryRows(folder).allSatisfy { $0[3] == "done" })
  }

  @Test func studyMistakesNameTheField() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let cases: [(String, String)] = [
      ("environments: [CartPole-v0]\nseeds: [0]\nmodez: [full]", "unknown field 'modez'"),
      ("environments: []\nseeds: [0]", "'environments' must be a non-empty list"),
      ("environments: [CartPole-v0]\nseeds: [-1]", "'seeds' must be non-negative integers"),
      ("environments: [CartPole-v0]\nseeds: [0]\nmodes: [distill-only]", "add 'full' to 'modes'"),
      ("environments: [CartPole-v0]\nseeds: [0]\nmodes: [fast]", "'modes' has 'fast'"),
      ("environments: [CartPole-v0, LunarLander-v3]\nseeds: [0]\nteacher: {CartPole-v0: t.safetensors}", "'teacher' names no file for LunarLander-v3"),
    ]
    for (yaml, message) in cases {
      try yaml.write(toFile: "\(folder)/s.yaml", atomically: true, encoding: .utf8)
      let result = try pops(["sweep", "\(folder)/s.yaml", "--out", "\(folder)/out"])
      #expect(result.status != 0 && result.output.contains(message), "\(yaml): \(result.output)")
    }
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/out"))
  }
}
