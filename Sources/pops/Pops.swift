import ArgumentParser
import Foundation
import PoPS

@main
struct Pops: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pops",
    abstract: "Policy Pruning and Shrinking: compress deep-RL policies into tiny dense networks.",
    discussion: """
      Examples:
        pops run --env CartPole-v0 --out runs/cartpole          train a teacher, then compress it
        pops compress --teacher model.zip --out runs/mine       compress a policy you have (SB3, CleanRL, ONNX, ...)
        pops export runs/cartpole/final.safetensors --format c --out firmware/
      Shell completion: pops --generate-completion-script bash (or zsh, fish), saved where your
      shell reads completions, e.g. ~/.local/share/bash-completion/completions/pops (README "The CLI").
      """,
    version: "\(PoPSVersion.current) (kernels: \(InstructionSet.active))",
    subcommands: [
      Run.self, Compress.self, Import.self, Export.self, Train.self, Evaluate.self, Predict.self, Inspect.self, Plot.self,
      Report.self, Config.self, Sweep.self,
    ])

  /// Refuses a `POPS_ISA` this CPU cannot run before any command starts.
  static func main() {
    // A file-size limit (ulimit -f) then fails the write with "File too
    // large", named like any other write error, instead of killing pops.
    signal(SIGXFSZ, SIG_IGN)
    do {
      _ = try InstructionSet.requested()
    } catch {
      FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
      Foundation.exit(2)
    }
    main(nil)
  }
}
