import ArgumentParser
import Foundation
import PoPS

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show a model's architecture, parameters, non-zeros and sparsity per layer.",
    discussion: """
      Examples:
        pops inspect runs/cartpole/final.safetensors
        pops inspect runs/cartpole/step-1-pruned.safetensors --json
      """)

  @Argument(help: "A pops model file (.safetensors).")
  var model: String

  @Flag(help: "Print JSON instead of a table.")
  var json = false

  func run() throws {
    let loaded = try ModelFile.load(from: URL(fileURLWithPath: model))
    let report = ModelReport(loaded)
    print(json ? report.json : report.text)
  }
}
