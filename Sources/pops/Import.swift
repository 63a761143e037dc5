import ArgumentParser
import Foundation
import PoPS

extension ImportFormat: ExpressibleByArgument {}

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Convert a policy from Stable-Baselines3, CleanRL/PyTorch, safetensors, ONNX or a TF1 checkpoint into a pops model.",
    discussion: """
      Reads a Stable-Baselines3 .zip (policy.pth and the plain JSON of data; nothing is unpickled),
      a torch.save state dict (.pt, .pth, .cleanrl_model; read by a restricted reader that runs nothing),
      a safetensors state dict, an ONNX graph of a sequential policy, or the reference implementation's
      TF1 checkpoint (its prefix or .index; read without TensorFlow), and writes a pops model whose
      outputs equal the source network's.
      Known layouts: SB3 DQN (MLP, CNN), SB3 PPO/A2C (MLP, CNN), CleanRL DQN and PPO, nn.Sequential,
      the reference's fc_N/conv_N/logits scopes.
      Others: name the policy's tensors with --policy and, if needed, the layers with --architecture.

      Examples:
        pops import dqn-CartPole-v1.zip --out teacher.safetensors
        pops import policy.onnx --env LunarLander-v3 --out lunar.safetensors
      """)

  @Argument(help: "The file to import.")
  var source: String

  @Option(help: "Where to write the pops model (.safetensors).")
  var out: String

  @Option(help: "auto (from the file's bytes), pops, sb3, torch, safetensors, tf1 (a checkpoint prefix or its .index) or onnx.")
  var format = ImportFormat.auto

  @Option(help: "The environment the policy acts in: recorded in the model and checked against its spaces.")
  var env: String?

  @Option(help: "The layers in compact notation, e.g. 4-64-64-2, 8-64-64-4/tanh or 4x84x84-c32k8s4-c64k4s2-c64k3s1-512-6.")
  var architecture: String?

  @Option(help: "Prefixes of the policy's tensors in forward order, e.g. network.,actor.")
  var policy: String?

  func validate() throws {
    if out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out must name a file, got an empty path") }
  }

  func run() throws {
    let options = ImportOptions(
      format: format, architecture: architecture,
      policy: policy.map { $0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) } } ?? [],
      environment: env)
    let (model, imported) = try TeacherImport.load(URL(fileURLWithPath: source), options: options)
    if let env {
      let environment = try Environments.make(env, seed: 0)
      do {
        try model.network.checkFits(environment, id: env)
      } catch {
        throw ValidationError("\(source): \(error)")
      }
    }
    try ModelFile.save(model, to: URL(fileURLWithPath: out))
    print("\(source): \(imported.format.rawValue), \(imported.layout) -> \(model.network.architecture.summary)")
    let names = model.network.architecture.parameterNames
    for (name, from) in zip(names, imported.mapping) where name.hasSuffix(".weight") {
      print("  \(name) <- \(from)")
    }
    for warning in imported.warnings { print("warning: \(warning)") }
    print("sha256 \(imported.sha256)")
    print("wrote \(out)")
  }
}
