import ArgumentParser
import PoPS

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a teacher (unless --teacher is given), then compress it with PoPS.",
    discussion: "Writes results.json, results.csv, SVG plots, report.html and final.safetensors into --out.")

  @OptionGroup var options: PoPSRunOptions

  @Option(help: "A trained teacher model; omitted: train one with the preset's teacher recipe.")
  var teacher: String?

  func run() throws { try options.run(environment: options.env ?? "CartPole-v0", teacher: teacher) }
}
