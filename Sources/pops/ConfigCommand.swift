import ArgumentParser
import PoPS

struct Config: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show an environment's built-in PoPS configuration.",
    discussion: "Example: pops config show CartPole-v0",
    subcommands: [Show.self])

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the preset (and overrides) as YAML.",
      discussion: """
        Examples:
          pops config show CartPole-v0 > cartpole.yaml      (edit, then: pops run --config cartpole.yaml ...)
          pops config show LunarLander-v3 --config my-overrides.yaml
        """)

    @Argument(help: "Environment id, e.g. CartPole-v0, LunarLander-v3 or gym:ID for any Gymnasium environment.")
    var env: String

    @Option(help: "A YAML file of overrides to apply first.")
    var config: String?

    func run() throws {
      print(try PoPSConfig.resolved(for: env, file: config, assignments: []).yaml, terminator: "")
    }
  }
}
