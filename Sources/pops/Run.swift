import ArgumentParser
import PoPS

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a teacher (unless --teacher is given), then compress it with PoPS.",
    discussion: """
      Writes results.json, results.csv, metrics.jsonl, SVG plots, report.html and final.safetensors into --out;
      running it again with the same --out continues a killed run.

      Examples:
        pops run --env CartPole-v0 --out runs/cartpole --seed 0
        pops run --env LunarLander-v3 --out runs/lunar --tensorboard runs/tb/lunar --json
        pops run --env CartPole-v0 --out runs/baseline --mode prune-only
      """)

  @OptionGroup var options: PoPSRunOptions

  @Option(help: "A trained teacher model; omitted: train one with the preset's teacher recipe.")
  var teacher: String?

  func run() throws { try options.run(environment: options.env ?? "CartPole-v0", teacher: teacher) }
}
