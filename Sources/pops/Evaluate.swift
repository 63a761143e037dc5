import ArgumentParser
import Foundation
import PoPS

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Play greedy episodes with a model and report mean, std, min and max return.",
    discussion: """
      Examples:
        pops evaluate runs/cartpole/final.safetensors --episodes 100
        pops evaluate dqn-CartPole-v1.zip --env CartPole-v1 --seed 1000
      """)

  @Argument(help: "A model: a pops model, or any file `pops import` reads (imported in memory).")
  var model: String

  @Option(help: "Environment id (gym:ID for any Gymnasium environment); defaults to the one recorded in the model.")
  var env: String?

  @Option(parsing: .unconditional, help: "Number of episodes.")
  var episodes = 100

  @Option(parsing: .unconditional, help: "Seed of the first episode (episode i uses seed + i).")
  var seed: UInt64 = 0

  @Flag(help: "Print JSON.")
  var json = false

  func validate() throws {
    guard episodes > 0 else { throw ValidationError("--episodes must be positive, got \(episodes)") }
  }

  func run() throws {
    let loaded = try TeacherImport.load(URL(fileURLWithPath: model)).model
    guard let id = env ?? loaded.provenance.environment else {
      throw ValidationError("\(model) records no environment; pass --env")
    }
    var environment = try Environments.make(id, seed: seed)
    let net = loaded.network
    do {
      try net.checkFits(environment, id: id)
    } catch {
      throw ValidationError("\(model): \(error)")
    }
    let result = try evaluate(net, in: &environment, episodes: episodes, seed: seed)
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      struct Output: Encodable { var env: String; var episodes: Int; var mean, std, min, max: Double; var returns: [Double] }
      let output = Output(
        env: id, episodes: episodes, mean: result.mean, std: result.std, min: result.min, max: result.max,
        returns: result.returns)
      print(String(decoding: try encoder.encode(output), as: UTF8.self))
    } else {
      print("\(id): \(result.summary)")
    }
  }
}
