import ArgumentParser
import Foundation
import PoPS

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export a policy as ONNX, or as dependency-free C (float or int8) for firmware.",
    discussion: """
      --format onnx writes the file OUT (opset 13; input the observation as the environment gives it, outputs
      `outputs` and `action`, dynamic batch). --format c writes OUT/NAME.h and OUT/NAME.c (C99, no malloc,
      no mutable globals, weights as static const arrays,
      <math.h> only for Tanh): NAME_forward(observation, outputs) and NAME_act(observation). Prints the
      footprint and, with a C compiler present, the compiled forward latency. With --quantize int8 it
      plays the environment with the int8 policy first and refuses it when its mean return falls under
      the environment's objective (--force writes it anyway). Refused before anything is written: a
      non-finite weight, an input scale that is not a finite positive number, and for int8 a channel
      whose largest |weight| is under 1.5e-36 (too small for a float scale) or a layer whose outputs each
      sum more than 133,144 inputs (their int8 products would overflow the int32 sum).

      Examples:
        pops export runs/cartpole/final.safetensors --format onnx --out policy.onnx
        pops export runs/lunar/final.safetensors --format c --quantize int8 --out firmware/
      """)

  enum Format: String, ExpressibleByArgument { case c, onnx }

  @Argument(help: "The model: a pops model or any file `pops import` reads.")
  var model: String

  @Option(help: "c or onnx.")
  var format = Format.c

  @Option(help: "The output folder (c) or file (onnx).")
  var out: String

  @Option(help: "Prefix of the C names and files.")
  var name = "pops_policy"

  @Option(help: "int8: per-channel int8 weights.")
  var quantize: String?

  @Option(help: "The environment to check an int8 policy in (default: the one recorded in the model).")
  var env: String?

  @Option(parsing: .unconditional, help: "Episodes of the int8 check.")
  var episodes = 100

  @Flag(help: "Write an int8 policy even when its return falls under the objective.")
  var force = false

  func validate() throws {
    if out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out must name a file, got an empty path") }
    if let quantize, quantize != "int8" { throw ValidationError("--quantize must be int8, got '\(quantize)'") }
    if episodes <= 0 { throw ValidationError("--episodes must be positive, got \(episodes)") }
    if format == .onnx && quantize != nil { throw ValidationError("--quantize int8 is for --format c; ONNX models are float32") }
    do { try CExport.checkName(name) } catch { throw ValidationError("\(error)") }
  }

  func run() throws {
    let url = URL(fileURLWithPath: model)
    let loaded = try TeacherImport.load(url).model
    // Values no export can hold (an imported graph's infinite input scale, ...) are refused before anything is
    // written by the library: ONNXExport and CExport check first, and the int8 check's Int8Policy before playing.
    if format == .onnx {
      try ONNXExport.write(loaded, source: url.lastPathComponent, to: URL(fileURLWithPath: out))
      let footprint = CExport.footprint(loaded, int8: false)
      print("\(loaded.network.architecture.summary): \(footprint.parameters) parameters, \(footprint.weightBytes) bytes of float32 weights")
      print("wrote \(out) (ONNX opset \(ONNXExport.opsetVersion): input observation, outputs outputs and action)")
      return
    }
    let int8 = quantize == "int8"
    let footprint = CExport.footprint(loaded, int8: int8)
    if int8 {
      guard let id = env ?? loaded.provenance.environment else {
        throw ValidationError("\(model) records no environment: pass --env to check the int8 policy")
      }
      let check: QuantizationCheck
      do {
        check = try QuantizationCheck.measure(loaded, environment: id, episodes: episodes, seed: 2026)
      } catch let error as ExportError {
        throw ExportError("\(model): \(error); nothing written")
      }
      print(String(
        format: "int8 check on %@: %d of %d greedy actions agree with the float model; mean return %.2f (float %.2f) over %d episodes",
        id, check.agreeing, check.observations, check.int8Score.mean, check.floatScore.mean, episodes))
      let objective = try PoPSConfig.preset(for: id).objective
      if check.int8Score.mean < objective {
        let text = String(format: "the int8 policy's mean return %.2f is under %@'s objective %.2f", check.int8Score.mean, id, objective)
        guard force else { throw ValidationError("\(text); nothing written (--force writes it anyway)") }
        print("WARNING: \(text)")
      }
    }
    let folder = URL(fileURLWithPath: out)
    let (header, code) = try CExport.write(loaded, name: name, int8: int8, source: url.lastPathComponent, to: folder)
    print("\(loaded.network.architecture.summary): \(footprint.parameters) parameters")
    print("  weights \(footprint.weightBytes) bytes (float32: \(CExport.footprint(loaded, int8: false).weightBytes), int8: \(CExport.footprint(loaded, int8: true).weightBytes))")
    print("  scratch \(footprint.scratchBytes) bytes of stack per call")
    let observation = [Float](repeating: 0.1, count: loaded.network.architecture.inputCount)
    if let micros = try CExport.measureLatency(folder: folder, name: name, observation: observation) {
      print(String(format: "  forward %.3f us compiled with cc -std=c99 -O2 on this machine", micros))
    } else {
      print("  forward latency not measured: no C compiler found")
    }
    print("wrote \(header.path) and \(code.path)")
  }
}
