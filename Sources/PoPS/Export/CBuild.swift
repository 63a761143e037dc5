import Foundation
import PoPSCore

/// Writing the generated C, and compiling it with the system compiler to
/// measure it (or, in tests, to load and run it).
extension CExport {
  /// Writes `NAME.h` and `NAME.c` into `folder` (created), each atomically.
  /// Both targets are checked before either is written (a FIFO or link at
  /// `NAME.h` must not leave a new source beside the old header); the header
  /// is written last, so a failure leaves no header without its source. A
  /// failed write is the `WriteError` "could not write PATH: REASON".
  @discardableResult
  public static func write(_ model: Model, name: String, int8: Bool, source: String, to folder: URL) throws -> (header: URL, code: URL) {
    let (header, code) = try generate(model, name: name, int8: int8, source: source)
    let headerURL = folder.appendingPathComponent("\(name).h"), codeURL = folder.appendingPathComponent("\(name).c")
    try AtomicFile.checkTarget(codeURL.path)
    try AtomicFile.checkTarget(headerURL.path)
    try AtomicFile.write(Data(code.utf8), to: codeURL)
    try AtomicFile.write(Data(header.utf8), to: headerURL)
    return (headerURL, codeURL)
  }

  /// The system C compiler, if there is one.
  public static var compiler: URL? {
    for path in ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang", "/usr/local/bin/cc", "/opt/swift/usr/bin/clang"]
    where FileManager.default.isExecutableFile(atPath: path) {
      return URL(fileURLWithPath: path)
    }
    return nil
  }

  /// Runs the C compiler with `arguments`; throws its output when it fails.
  public static func compile(_ arguments: [String]) throws {
    guard let cc = compiler else { throw ExportError("no C compiler (cc) found") }
    let (status, output) = try run(cc, arguments)
    guard status == 0 else { throw ExportError("cc \(arguments.joined(separator: " ")) failed:\n\(output)") }
  }

  /// Runs `executable` to its end; its exit status and its output (stdout and stderr).
  static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
  }

  /// The forward latency of the generated code compiled with
  /// `cc -std=c99 -O2` on this machine, in microseconds (the best of 5 runs of
  /// a timed loop), or nil without a C compiler.
  public static func measureLatency(folder: URL, name: String, observation: [Float]) throws -> Double? {
    guard compiler != nil else { return nil }
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("pops-latency-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let values = observation.map(literal).joined(separator: ", ")
    let harness = """
      #define _POSIX_C_SOURCE 199309L
      #include <stdio.h>
      #include <time.h>
      #include "\(name).h"
      static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
      int main(void) {
        static const float x[] = { \(values) };
        float y[\(name.uppercased())_ACTIONS];
        volatile float sink = 0.0f;
        long n = 1;
        double best = 1e30;
        for (;;) { double t = now(); for (long i = 0; i < n; ++i) { \(name)_forward(x, y); sink += y[0]; } if (now() - t > 0.05) break; n *= 2; }
        for (int r = 0; r < 5; ++r) { double t = now(); for (long i = 0; i < n; ++i) { \(name)_forward(x, y); sink += y[0]; } t = (now() - t) / n; if (t < best) best = t; }
        printf("%.6f\\n", best * 1e6);
        return sink == 12345.0f;
      }

      """
    try Data(harness.utf8).write(to: work.appendingPathComponent("main.c"))
    let binary = work.appendingPathComponent("latency").path
    try compile(["-std=c99", "-O2", "-I", folder.path, "-o", binary, work.appendingPathComponent("main.c").path,
                 folder.appendingPathComponent("\(name).c").path, "-lm"])
    let (_, output) = try run(URL(fileURLWithPath: binary), [])
    return Double(output.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}

/// How an int8 policy compares with its float model in the environment.
public struct QuantizationCheck: Sendable {
  /// Greedy actions that agree with the float model, of `observations`
  /// visited by the float policy in real episodes.
  public var agreeing: Int
  public var observations: Int
  public var floatScore: EvaluationResult
  public var int8Score: EvaluationResult

  /// Plays `episodes` greedy episodes with each policy (same seeds) and
  /// compares their actions on the float policy's observations. Both get
  /// the environment's observations as the network's input (pops'
  /// environments give them scaled; the C scales raw ones the same way).
  public static func measure(_ model: Model, environment id: String, episodes: Int, seed: UInt64) throws -> QuantizationCheck {
    // The int8 weights are checked before any environment (a Python worker) starts.
    let quantized = try Int8Policy(model).onNetworkInputs
    var environment: any Environment
    do {
      environment = try Environments.make(id, seed: seed)
    } catch {
      throw ExportError("the int8 check could not play \(id): \(error)")
    }
    return try measure(model, quantized, in: &environment, id: id, episodes: episodes, seed: seed)
  }

  /// `measure` in a given environment; `id` names it in errors. An error
  /// the environment throws (a Gymnasium worker that died) ends the check as
  /// an `ExportError` naming `id` and that error.
  public static func measure(
    _ model: Model, in environment: inout any Environment, id: String, episodes: Int, seed: UInt64
  ) throws -> QuantizationCheck {
    try measure(model, Int8Policy(model).onNetworkInputs, in: &environment, id: id, episodes: episodes, seed: seed)
  }

  private static func measure(
    _ model: Model, _ quantized: Int8Policy.OnNetworkInputs, in environment: inout any Environment, id: String,
    episodes: Int, seed: UInt64
  ) throws -> QuantizationCheck {
    try model.network.checkFits(environment, id: id)
    do {
      var agreeing = 0, observations = 0
      for episode in 0..<min(episodes, 10) {
        var observation = try environment.reset(seed: seed &+ UInt64(episode))
        while true {
          let action = model.network.greedyAction(for: observation)
          if quantized.action(for: observation) == action { agreeing += 1 }
          observations += 1
          let step = try environment.step(taking: action)
          if step.isLast { break }
          observation = step.observation
        }
      }
      let floatScore = try evaluate(model.network, in: &environment, episodes: episodes, seed: seed)
      let int8Score = try evaluate(quantized, in: &environment, episodes: episodes, seed: seed)
      return QuantizationCheck(agreeing: agreeing, observations: observations, floatScore: floatScore, int8Score: int8Score)
    } catch {
      throw ExportError("the int8 check could not play \(id): \(error)")
    }
  }
}
