import Foundation
import PoPS
import Testing

/// `pops predict`: the actions and outputs it prints are the network's for
/// the observation as the environment gives it (the model's input scale
/// applied inside, as evaluation, the C and the ONNX export feed it), and
/// every bad observation is a clear error naming where it is.
struct PredictTests {
  /// A random model saved in `folder`; its path.
  static func save(
    _ architecture: Architecture, input: ObservationEncoding = .float32, seed: UInt64, in folder: String, name: String
  ) throws -> (Model, String) {
    var rng = SeededGenerator(seed: seed)
    let model = Model(network: Network(architecture, biasInit: 0.1, using: &rng), provenance: Provenance(), input: input)
    let path = "\(folder)/\(name).safetensors"
    try ModelFile.save(model, to: URL(fileURLWithPath: path))
    return (model, path)
  }

  /// `count` observations of `inputs` values in [-range, range] (or bytes), seeded.
  static func observations(_ count: Int, inputs: Int, bytes: Bool = false, range: Float = 3, seed: UInt64) -> [[Float]] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
      (0..<inputs).map { _ in bytes ? Float(rng.index(below: 256)) : rng.uniform(-range, range) }
    }
  }

  /// `pops predict ... --json`: each observation's action and outputs.
  static func predict(_ arguments: [String]) throws -> [(action: Int, outputs: [Float])] {
    let r = try pops(["predict"] + arguments + ["--json"])
    try #require(r.status == 0, "\(r.output)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [[String: Any]], "\(r.output)")
    return try rows.map { row in
      let action = try #require(row["action"] as? Int)
      let outputs = try #require(row["outputs"] as? [Double]).map(Float.init)
      return (action, outputs)
    }
  }

  static func expectSame(_ got: [(action: Int, outputs: [Float])], _ expected: [[Float]], _ label: String) {
    #expect(got.count == expected.count, "\(label): \(got.count) results for \(expected.count) observations")
    for (i, (g, e)) in zip(got, expected).enumerated() {
      #expect(g.action == argmax(e), "\(label), observation \(i + 1)")
      for (a, b) in zip(g.outputs, e) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(label), observation \(i + 1): \(a) vs \(b)") }
    }
  }

  @Test func actionsAndOutputsAreTheNetworksForEveryWayOfGivingObservations() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let (model, path) = try Self.save(.mlp(inputs: 4, hidden: [16, 16], outputs: 3, activation: .tanh), seed: 4, in: folder, name: "m")
    let xs = Self.observations(8, inputs: 4, seed: 1)
    func text(_ x: [Float]) -> [String] { x.map { "\($0)" } }
    // The file: commas, whitespace, a JSON array, a nested one, CRLF, a comment and blank lines.
    let commas: String = text(xs[0]).joined(separator: ",")
    let spaces: String = text(xs[1]).joined(separator: " \t ")
    let array: String = "[" + text(xs[2]).joined(separator: ", ") + "]\r"
    let first: String = text(xs[3]).prefix(2).joined(separator: ",")
    let last: String = text(xs[3]).suffix(2).joined(separator: ",")
    let nested: String = "[[" + first + "], [" + last + "]]"
    let lines: [String] = ["# four CartPole-like observations", commas, "", spaces, array, nested]
    try lines.joined(separator: "\n").write(toFile: "\(folder)/obs.txt", atomically: true, encoding: .utf8)
    let got = try Self.predict([
      path, "--obs", text(xs[4]).joined(separator: ","), "--obs", text(xs[5]).joined(separator: " "),
      "--obs-file", "\(folder)/obs.txt",
    ])
    let order = [xs[4], xs[5], xs[0], xs[1], xs[2], xs[3]]
    Self.expectSame(got, order.map { model.network.predict($0) }, "float32 model")
    // Text output: one line per observation, named by where it came from; --outputs adds them.
    let r = try pops(["predict", path, "--obs-file", "\(folder)/obs.txt", "--outputs"])
    #expect(r.status == 0, "\(r.output)")
    #expect(r.output.contains("--obs-file \(folder)/obs.txt line 2: action \(argmax(model.network.predict(xs[0])))  outputs "), "\(r.output)")
    #expect(r.output.contains("line 6: action \(argmax(model.network.predict(xs[3])))"), "\(r.output)")
    // --quantize int8: what the int8 C computes.
    let int8 = try Self.predict([path, "--obs-file", "\(folder)/obs.txt", "--quantize", "int8"])
    let policy = try Int8Policy(model)
    Self.expectSame(int8, [xs[0], xs[1], xs[2], xs[3]].map { policy.forward($0) }, "int8")
  }

  /// Observations enter as the environment gives them: a CartPole state as
  /// is (what `evaluate` feeds), Atari-like bytes times the model's 1/255
  /// (what the Gymnasium bridge hands `evaluate`: bytes scaled by 1/255).
  @Test func theModelsInputEncodingIsAppliedAsInEvaluation() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let (cartpole, cartpolePath) = try Self.save(.mlp(inputs: 4, hidden: [8], outputs: 2), seed: 2, in: folder, name: "cartpole")
    var environment = try Environments.make("CartPole-v0", seed: 3)
    var states: [[Float]] = [try environment.reset(seed: 3)]
    for _ in 0..<5 {
      let step = try environment.step(taking: cartpole.network.greedyAction(for: states.last!))
      if step.isLast { break }
      states.append(step.observation)
    }
    let got = try Self.predict([cartpolePath] + states.flatMap { ["--obs", $0.map { "\($0)" }.joined(separator: ",")] })
    #expect(got.map(\.action) == states.map { cartpole.network.greedyAction(for: $0) })

    let conv = Architecture(inputShape: [1, 6, 6], layers: [
      .conv2d(.init(inChannels: 1, outChannels: 2, kernel: 3, stride: 1)), .relu, .flatten, .linear(inputs: 32, outputs: 3),
    ])
    let (frames, framesPath) = try Self.save(conv, input: .bytes, seed: 6, in: folder, name: "frames")
    let bytes = Self.observations(5, inputs: 36, bytes: true, seed: 7)
    try bytes.map { $0.map { "\(Int($0))" }.joined(separator: " ") }.joined(separator: "\n")
      .write(toFile: "\(folder)/frames.txt", atomically: true, encoding: .utf8)
    let scaled = try Self.predict([framesPath, "--obs-file", "\(folder)/frames.txt"])
    Self.expectSame(scaled, bytes.map { frame in frames.network.predict(frame.map { Float($0) * (1 / 255) }) }, "uint8 model")
  }

  @Test func badObservationsAreClearErrorsNamingWhere() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let (_, path) = try Self.save(.mlp(inputs: 4, hidden: [8], outputs: 2), seed: 2, in: folder, name: "m")
    let conv = Architecture(inputShape: [1, 3, 3], layers: [.flatten, .linear(inputs: 9, outputs: 2)])
    let (_, bytesPath) = try Self.save(conv, input: .bytes, seed: 6, in: folder, name: "bytes")
    try "1,2,3,4\n\n1,2,3\n".write(toFile: "\(folder)/short.txt", atomically: true, encoding: .utf8)
    try "1,2,3,4\n1,2,x,4\n".write(toFile: "\(folder)/word.txt", atomically: true, encoding: .utf8)
    try "# nothing\n\n".write(toFile: "\(folder)/empty.txt", atomically: true, encoding: .utf8)
    try Data([0x31, 0x2C, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: "\(folder)/binary.txt"))
    let cases: [(arguments: [String], message: String)] = [
      ([path, "--obs", "1,2,3"], "--obs 1: 3 values, but the model takes 4 (input shape 4)"),
      ([path, "--obs", "1,2,3,4", "--obs", "1,2,3,4,5"], "--obs 2: 5 values, but the model takes 4"),
      ([path, "--obs-file", "\(folder)/short.txt"], "--obs-file \(folder)/short.txt line 3: 3 values, but the model takes 4"),
      ([path, "--obs-file", "\(folder)/word.txt"], "--obs-file \(folder)/word.txt line 2: value 3 'x' is not a number"),
      ([path, "--obs", "1,2,nan,4"], "--obs 1: value 3 'nan' is not a finite number"),
      ([path, "--obs", "1,-inf,3,4"], "--obs 1: value 2 '-inf' is not a finite number"),
      ([path, "--obs", "1e39,2,3,4"], "--obs 1: value 1 '1e39' is not a finite number"),
      ([path, "--obs", " , "], "--obs 1: no values"),
      ([path], "give an observation with --obs or --obs-file"),
      ([path, "--obs-file", "\(folder)/empty.txt"], "the file holds no observation"),
      ([path, "--obs-file", "\(folder)/missing.txt"], "--obs-file \(folder)/missing.txt: cannot read the file (no such file or folder)"),
      ([path, "--obs-file", folder], "--obs-file \(folder) is a folder, not a file"),
      ([path, "--obs-file", "\(folder)/binary.txt"], "is not UTF-8 text"),
      ([path, "--obs", "1,2,3,4", "--quantize", "int4"], "--quantize must be int8, got 'int4'"),
      ([bytesPath, "--obs", "0,1,2,3,4,5,6,7,256"], "value 9 is 256.0, but the model takes uint8 frames: integers 0 to 255"),
      ([bytesPath, "--obs", "0,1,2,3,4.5,5,6,7,8"], "value 5 is 4.5, but the model takes uint8 frames"),
      (["\(folder)/nope.safetensors", "--obs", "1,2,3,4"], "nope.safetensors"),
    ]
    for (arguments, message) in cases {
      let r = try pops(["predict"] + arguments)
      #expect(r.status != 0 && r.output.contains(message), "\(arguments): \(r.output)")
      #expect(!r.output.contains("action "), "\(arguments): nothing is predicted: \(r.output)")
    }
  }
}
