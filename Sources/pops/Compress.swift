import ArgumentParser
import Foundation
import PoPS

struct Compress: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compress a trained teacher with PoPS.",
    discussion: """
      Writes results.json, results.csv, SVG plots, report.html and final.safetensors into --out.
      The environment is the one recorded in the teacher unless --env names another.
      """)

  @Option(help: "The trained teacher model (.safetensors).")
  var teacher: String

  @OptionGroup var options: PoPSRunOptions

  func run() throws {
    var environment = options.env
    if environment == nil {
      let recorded = try ModelFile.load(from: URL(fileURLWithPath: teacher)).provenance.environment
      guard let recorded else { throw ValidationError("\(teacher) records no environment; pass --env") }
      environment = recorded
    }
    try options.run(environment: environment!, teacher: teacher)
  }
}
