import ArgumentParser
import Foundation
import PoPS

/// `pops predict`: the greedy action a model takes for observations the user
/// gives, so one can check a policy (or an exported copy of it) by hand.
struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the greedy action (and the network's outputs) for given observations.",
    discussion: """
      Observations are given as the environment produces them: float32 values, or for image models (input \
      dtype uint8) the frame's bytes 0-255 in [C, H, W] order. The model's recorded input scale is applied \
      inside, as the exported C and ONNX apply it; for models of pops' environments (scale 1, or 1/255 for \
      frames) that is exactly what `pops evaluate` feeds the network.

      --obs takes one observation, values separated by commas or spaces (repeat it for more). --obs-file \
      takes a file with one observation per line: values separated by commas or whitespace, or a JSON \
      array (nested arrays are read in order); blank lines and lines starting with # are skipped.

      Prints one line per observation; --outputs adds the network's outputs (Q-values or logits), --json \
      prints both as JSON.

      Examples:
        pops predict runs/cartpole/final.safetensors --obs 0.01,-0.02,0.03,0.04
        pops predict dqn-CartPole-v1.zip --obs-file observations.txt --outputs
      """)

  /// The largest --obs-file read: 64 MiB (about 600 Atari frame stacks as text).
  static let maximumFileBytes = 64 << 20

  @Argument(help: "A model: a pops model, or any file `pops import` reads (imported in memory).")
  var model: String

  @Option(
    name: .customLong("obs"), parsing: .unconditionalSingleValue,
    help: "One observation: values separated by commas or spaces (repeatable).")
  var observations: [String] = []

  @Option(help: "A file with one observation per line (commas, whitespace or a JSON array).")
  var obsFile: String?

  @Flag(help: "Print the network's outputs too.")
  var outputs = false

  @Option(help: "int8: act with the int8 policy `pops export --quantize int8` writes.")
  var quantize: String?

  @Flag(help: "Print JSON: one object per observation, with its action and outputs.")
  var json = false

  /// Cheap checks only: the observations are read once, in `run`.
  func validate() throws {
    if let quantize, quantize != "int8" { throw ValidationError("--quantize must be int8, got '\(quantize)'") }
    if observations.isEmpty && obsFile == nil { throw ValidationError("give an observation with --obs or --obs-file") }
  }

  func run() throws {
    // The observations first: a mistake in them is named before the model is loaded.
    let given = try read()
    if given.isEmpty { throw ValidationError("--obs-file \(obsFile ?? ""): the file holds no observation (one per line)") }
    let loaded = try TeacherImport.load(URL(fileURLWithPath: model)).model
    let architecture = loaded.network.architecture
    for observation in given {
      if let problem = Self.problem(observation.values, for: loaded) {
        throw ValidationError("\(observation.label): \(problem)")
      }
    }
    let forward: ([Float]) -> [Float]
    if quantize == "int8" {
      let policy: Int8Policy
      do { policy = try Int8Policy(loaded) } catch { throw ValidationError("\(model): \(error)") }
      forward = { policy.forward($0) }
    } else {
      let scale = loaded.input.scale
      forward = { loaded.network.predict($0.map { $0 * scale }) }
    }
    var results: [Result] = []
    for observation in given {
      let out = forward(observation.values)
      results.append(Result(observation: observation.label, action: argmax(out), outputs: out))
    }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
      print(String(decoding: try encoder.encode(results), as: UTF8.self))
      return
    }
    print("\(architecture.summary)\(quantize == "int8" ? " (int8)" : ""): action for each observation")
    for result in results {
      let shown = outputs ? "  outputs \(result.outputs.map { "\($0)" }.joined(separator: " "))" : ""
      print("\(result.observation): action \(result.action)\(shown)")
    }
  }

  struct Result: Encodable {
    var observation: String
    var action: Int
    var outputs: [Float]
  }

  /// One observation the user gave, and where: `--obs 2`, `FILE line 7`.
  struct Given {
    var label: String
    var values: [Float]
  }

  /// Why `values` cannot be fed to `model`, or nil: a count other than the
  /// network's input size, or for uint8 models a value that is no byte.
  static func problem(_ values: [Float], for model: Model) -> String? {
    let architecture = model.network.architecture
    guard values.count == architecture.inputCount else {
      let shape = architecture.inputShape.map(String.init).joined(separator: "x")
      return "\(values.count) values, but the model takes \(architecture.inputCount) (input shape \(shape))"
    }
    if model.input.dtype == .uint8, let bad = values.firstIndex(where: { !(0...255).contains($0) || $0.rounded() != $0 }) {
      return "value \(bad + 1) is \(values[bad]), but the model takes uint8 frames: integers 0 to 255, as the environment gives them"
    }
    return nil
  }

  /// Every observation of --obs, then of --obs-file, checked for syntax and finiteness.
  func read() throws -> [Given] {
    var given: [Given] = []
    for (index, text) in observations.enumerated() {
      let label = "--obs \(index + 1)"
      var values: [Float] = []
      try Self.scan(text) { token, _ in
        values.append(try Self.value(token, index: values.count, label: label))
      } lineEnd: { _ in }
      if values.isEmpty { throw ValidationError("\(label): no values (give numbers separated by commas or spaces)") }
      given.append(Given(label: label, values: values))
    }
    guard let obsFile else { return given }
    let text = try Self.contents(of: obsFile)
    var values: [Float] = []
    try Self.scan(text) { token, line in
      values.append(try Self.value(token, index: values.count, label: "--obs-file \(obsFile) line \(line)"))
    } lineEnd: { line in
      if !values.isEmpty { given.append(Given(label: "--obs-file \(obsFile) line \(line)", values: values)) }
      values = []
    }
    return given
  }

  /// Token `index` (from 0) of an observation as a finite float.
  static func value(_ token: Substring, index: Int, label: String) throws -> Float {
    guard let value = Float(token) else {
      throw ValidationError("\(label): value \(index + 1) '\(token.prefix(40))' is not a number")
    }
    guard value.isFinite else {
      throw ValidationError("\(label): value \(index + 1) '\(token.prefix(40))' is not a finite number")
    }
    return value
  }

  /// Walks `text` once: `token` gets each run between separators (commas,
  /// whitespace, JSON brackets) with its line number, `lineEnd` each line's
  /// number at its end; lines whose first character is # are skipped. Nothing
  /// is allocated per token or line, so memory stays within the file's size.
  static func scan(
    _ text: String, token: (Substring, Int) throws -> Void, lineEnd: (Int) throws -> Void
  ) throws {
    let bytes = text.utf8
    var line = 1, start: String.Index?, comment = false, blank = true
    var index = bytes.startIndex
    while true {
      let byte: UInt8? = index < bytes.endIndex ? bytes[index] : nil
      let separates = byte.map { [UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), 32, 9, 10, 13].contains($0) } ?? true
      if separates, let first = start {
        if !comment { try token(text[first..<index], line) }
        start = nil
      } else if !separates && start == nil {
        if blank && byte == UInt8(ascii: "#") { comment = true }
        start = index
        blank = false
      }
      if byte == nil || byte == 10 {
        try lineEnd(line)
        guard byte != nil else { return }
        line += 1
        comment = false
        blank = true
      }
      index = bytes.index(after: index)
    }
  }

  /// The text of --obs-file, refused when unreadable, not a regular file,
  /// larger than `maximumFileBytes` or not UTF-8.
  static func contents(of path: String) throws -> String {
    if let kind = FileErrors.notARegularFile(path) { throw ValidationError("--obs-file \(path) \(kind)") }
    let size: Int
    do {
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    } catch {
      throw ValidationError("--obs-file \(path): cannot read the file (\(FileErrors.reason(error)))")
    }
    guard size <= maximumFileBytes else {
      throw ValidationError("--obs-file \(path) is \(size) bytes, more than the \(maximumFileBytes >> 20) MiB pops reads")
    }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw ValidationError("--obs-file \(path): cannot read the file (\(FileErrors.reason(error)))")
    }
    guard data.count <= maximumFileBytes, let text = String(data: data, encoding: .utf8) else {
      throw ValidationError("--obs-file \(path) is not UTF-8 text of at most \(maximumFileBytes >> 20) MiB")
    }
    return text
  }
}
