#if canImport(Glibc)
  import Glibc
#endif
import Foundation
import PoPS
import Testing

/// Generated C compiled into a shared library and loaded, so tests call the
/// exported policy exactly as firmware would.
struct CompiledPolicy: Policy {
  typealias Forward = @convention(c) (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
  typealias Act = @convention(c) (UnsafePointer<Float>) -> Int32
  let forwardFunction: Forward
  let actFunction: Act
  let actions: Int
  let folder: URL

  init(_ model: Model, int8: Bool, name: String = "pops_policy") throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-export-\(UUID().uuidString)")
    try CExport.write(model, name: name, int8: int8, source: "test", to: folder)
    let library = folder.appendingPathComponent("lib\(name).so").path
    try CExport.compile([
      "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC", "-o", library,
      folder.appendingPathComponent("\(name).c").path, "-lm",
    ])
    guard let handle = dlopen(library, RTLD_NOW), let forward = dlsym(handle, "\(name)_forward"),
      let act = dlsym(handle, "\(name)_act")
    else { throw ExportError("cannot load \(library)") }
    forwardFunction = unsafeBitCast(forward, to: Forward.self)
    actFunction = unsafeBitCast(act, to: Act.self)
    actions = model.network.architecture.outputCount
  }

  func forward(_ observation: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: actions)
    observation.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { forwardFunction(x.baseAddress!, $0.baseAddress!) } }
    return out
  }

  func action(for observation: [Float]) -> Int { observation.withUnsafeBufferPointer { Int(actFunction($0.baseAddress!)) } }
}

/// The import fixtures (scripts/make_import_fixtures.py made them with torch
/// and Stable-Baselines3) and the outputs torch computed for them.
enum ImportFixtures {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/import")
  static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

  struct Expected: Decodable {
    /// Observations as the environment gives them ...
    var inputs: [[Float]]
    /// ... times this are the network's inputs.
    var scale: Float
    var outputs: [[Float]]
  }

  static func expected() throws -> [String: Expected] {
    try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url("expected.json")))
  }

  /// The error `body` throws, as text ("" and an issue recorded if none).
  static func error(_ body: () throws -> Void) -> String {
    do {
      try body()
      Issue.record("expected an error")
      return ""
    } catch {
      return "\(error)"
    }
  }
}

/// A hand-made CartPole teacher (4-8-8-2): a PD controller on the pole angle
/// written into a network's weights, padded with small random units.
func handMadeTeacher() -> Network {
  var rng = SeededGenerator(seed: 1)
  let arch = Architecture.mlp(inputs: 4, hidden: [8, 8], outputs: 2)
  var net = Network(arch, using: &rng)
  for i in net.parameters.indices { net.parameters[i].scalars = net.parameters[i].scalars.map { $0 * 0.01 } }
  let z: [Float] = [0.1, 0.5, 10, 3]
  for j in 0..<4 {
    net.parameters[0][j] = z[j]  // unit 0: z
    net.parameters[0][4 + j] = -z[j]  // unit 1: -z
  }
  net.parameters[2][0 * 8 + 0] = 1  // layer 2 unit 0 copies z+
  net.parameters[2][1 * 8 + 1] = 1  // unit 1 copies z-
  net.parameters[4][0 * 8 + 1] = 1  // Q(left) = z-
  net.parameters[4][1 * 8 + 0] = 1  // Q(right) = z+
  return net
}

/// The hand-made teacher saved as `given-teacher.safetensors` in `folder`
/// (created if missing); returns the file.
func handMadeTeacherFile(in folder: URL) throws -> URL {
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  let url = folder.appendingPathComponent("given-teacher.safetensors")
  try ModelFile.save(Model(network: handMadeTeacher(), provenance: Provenance(environment: "CartPole-v0")), to: url)
  return url
}

func tinyConfig() throws -> PoPSConfig {
  var c = try PoPSConfig.preset(for: "CartPole-v0")
  c.acceptanceEpisodes = 20
  c.experience.refillSteps = 2_000
  c.experience.capacity = 4_000
  c.pruning.endStep = 1_500
  c.pruning.minibatchesPerIteration = 500
  c.pruning.evaluationInterval = 250
  c.pruning.evaluationEpisodes = 5
  c.pruning.maxIterations = 5
  c.pruning.patience = 2
  c.pruning.finalSparsity = 0.8
  c.distillation.minibatchesPerEpoch = 500
  c.distillation.evaluationInterval = 250
  c.distillation.evaluationEpisodes = 5
  c.distillation.maxEpochs = 6
  c.distillation.baseLearningRate = 1e-3
  c.distillation.maxLearningRate = 1e-2
  c.shrinking.maxSteps = 2
  return c
}

func temporaryRunFolder() -> URL {
  FileManager.default.temporaryDirectory.appendingPathComponent("pops-run-\(UUID().uuidString)")
}

/// A record of one full step, built from known networks: the hand-made
/// teacher, a pruned copy of it and a smaller student.
func handMadeRecord() throws -> (record: PoPSRecord, teacher: Network, student: Network) {
  let teacher = handMadeTeacher()
  var pruned = teacher
  pruned.pruneByMagnitude(sparsity: 0.5)
  var rng = SeededGenerator(seed: 3)
  let student = Network(.mlp(inputs: 4, hidden: [4, 3], outputs: 2), using: &rng)
  let score = EvaluationResult(returns: [200, 190], lengths: [200, 190])
  var record = PoPSRecord(mode: .full, environment: "CartPole-v0", seed: 7, config: try tinyConfig())
  record.teacher = NetworkRecord(teacher, teacherWeights: 112, score: score, model: "teacher.safetensors")
  let pruning = PruningResult(
    best: pruned, bestScore: score, evaluations: [], iterations: 3, minibatches: 1500,
    stopReason: .failingIterations(2))
  var step = StepRecord(index: 1, input: record.teacher!, pruning: pruning, seconds: 12)
  step.record(
    pruned: NetworkRecord(pruned, teacherWeights: 112, score: score, model: "step-1-pruned.safetensors"),
    redundancy: Redundancy.perLayer(of: pruned))
  let distilled = StudentResult(accepted: student, acceptance: score, evaluations: [], epochs: 2, minibatches: 1000)
  step.record(
    student: distilled, architecture: student.architecture, seconds: 5,
    model: NetworkRecord(student, teacherWeights: 112, score: score, model: "step-1-student.safetensors"))
  record.steps = [step]
  record.final = NetworkRecord(student, teacherWeights: 112, score: score, model: "final.safetensors")
  record.status = .done
  record.stopReason = .converged(sizeDrop: 0.021, threshold: 0.05)
  return (record, teacher, student)
}

/// The repository's root folder (where Package.swift is).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// Runs the tests' Python (`.venv-gym/bin/python`, which `make test` makes)
/// with `arguments`, in `folder` when given, and returns its standard output
/// and error; a failed requirement showing them when it does not exit 0.
func runTestPython(_ arguments: [String], in folder: URL? = nil) throws -> Data {
  let process = Process()
  process.executableURL = repositoryRoot.appendingPathComponent(".venv-gym/bin/python")
  process.arguments = arguments
  if let folder { process.currentDirectoryURL = folder }
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let output = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  try #require(process.terminationStatus == 0, "\(String(decoding: output, as: UTF8.self))")
  return output
}
