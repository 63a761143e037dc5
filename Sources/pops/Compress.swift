import ArgumentParser
import Foundation
import PoPS

struct Compress: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compress a trained teacher with PoPS.",
    discussion: """
      Writes results.json, results.csv, SVG plots, report.html and final.safetensors into --out.
      The environment is the one recorded in the teacher unless --env names another.

      Examples:
        pops compress --teacher runs/teacher/best.safetensors --out runs/small
        pops compress --teacher dqn-CartPole-v1.zip --env CartPole-v1 --out runs/sb3 --objective teacher
      """)

  @Option(help: "The trained teacher: a pops model, a Stable-Baselines3 zip, a torch.save state dict or a safetensors state dict (see `pops import`).")
  var teacher: String

  @OptionGroup var options: PoPSRunOptions

  func run() throws {
    try options.run(environment: try options.env ?? recordedEnvironment(), teacher: teacher)
  }

  /// The environment the teacher's file records (only pops models record one).
  func recordedEnvironment() throws -> String {
    let url = URL(fileURLWithPath: teacher)
    let isPops = (try? Data(contentsOf: url)).flatMap(TeacherImport.detect) == .pops
    guard isPops, let recorded = try ModelFile.load(from: url).provenance.environment else {
      throw ValidationError("\(teacher) records no environment; pass --env")
    }
    return recorded
  }
}
