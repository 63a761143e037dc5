import ArgumentParser
import PoPS

@main
struct Pops: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pops",
    abstract: "Policy Pruning and Shrinking: compress deep-RL policies into tiny dense networks.",
    version: PoPSVersion.current,
    subcommands: [Run.self, Compress.self, Import.self, Export.self, Train.self, Evaluate.self, Inspect.self, Plot.self, Config.self])
}
