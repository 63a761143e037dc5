import Foundation
import PoPS
import Testing

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

struct PipelineTests {
  @Test func theHandMadeTeacherSolvesCartPole() throws {
    let score = try evaluate(handMadeTeacher(), environment: "CartPole-v0", episodes: 20, seed: 3)
    #expect(score.mean >= 195)
  }

  @Test func tinyEndToEndRunShrinksTheTeacherAndKeepsItsInvariants() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = try handMadeTeacherFile(in: folder)
    let options = PoPSOptions(config: try tinyConfig(), output: folder, seed: 4, teacher: teacherURL)
    var accepted: [Int] = []
    let record = try runPoPS(options) { if case .studentAccepted(let step, _, _, _) = $0 { accepted.append(step) } }
    #expect(record.status == .done)
    for name in ["results.json", "results.csv", "report.html", "final.safetensors", "pruning.svg", "sizes.svg", "weights-teacher.svg", "weights-final.svg", "metrics.jsonl", "teacher.safetensors"] {
      #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "missing \(name)")
    }
    // The run ends with an accepted student smaller than the teacher.
    #expect(!accepted.isEmpty, "no student was accepted: \(record.stopReason?.description ?? "-")")
    #expect(record.steps.filter(\.studentAccepted).map(\.index) == accepted)
    let final = try ModelFile.load(from: folder.appendingPathComponent("final.safetensors"))
    #expect(final.network.weightCount < record.teacher!.weights)
    #expect(final.network.weightCount == record.final!.weights)
    #expect(record.final!.architecture == record.steps.last { $0.studentAccepted }?.student?.architecture)
    #expect(record.final!.scoreMean! >= 195, "the final student solves CartPole-v0")
    // Sizes fall step by step; every model file loads.
    var size = record.teacher!.weights
    for step in record.steps {
      #expect(step.input.weights == size)
      #expect(step.pruningEvaluations.allSatisfy { $0.mean.isFinite && $0.sparsity >= 0 && $0.sparsity < 1 })
      let pruned = try #require(step.pruned, "step \(step.index) kept a pruned model")
      #expect(pruned.nonZeroPerLayer.reduce(0, +) < pruned.weights)
      #expect(step.redundancy.count == 3 && step.redundancy.allSatisfy { $0 > 0 && $0 < 1 })
      _ = try ModelFile.load(from: folder.appendingPathComponent(pruned.model!))
      if let student = step.student {
        #expect(student.weights < size, "students shrink")
        let loaded = try ModelFile.load(from: folder.appendingPathComponent(student.model!))
        #expect(loaded.network.weightCount == student.weights)
        size = student.weights
      }
    }
    let reread = try PoPSRecord.read(from: folder.appendingPathComponent("results.json"))
    #expect(reread.steps.count == record.steps.count)
    #expect(reread.stopReason == record.stopReason)
  }

  @Test func anInterruptedRunResumesFromItsRecord() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = try handMadeTeacherFile(in: folder)
    let options = PoPSOptions(config: try tinyConfig(), output: folder, seed: 5, teacher: teacherURL)
    let first = try runPoPS(options)
    // Pretend the run was killed during its last step's student training.
    let recordURL = folder.appendingPathComponent("results.json")
    var interrupted = try PoPSRecord.read(from: recordURL)
    interrupted.status = .running
    interrupted.final = nil
    let last = try #require(interrupted.steps.indices.last)
    try #require(interrupted.steps[last].pruned != nil, "the last step kept a pruned model to resume from")
    interrupted.steps[last].student = nil
    interrupted.steps[last].studentAccepted = false
    try interrupted.write(to: recordURL)
    try FileManager.default.removeItem(at: folder.appendingPathComponent("final.safetensors"))
    var events: [PoPSEvent] = []
    let resumed = try runPoPS(options) { events.append($0) }
    guard case .resuming(_, let recordedSteps) = events.first else {
      Issue.record("the first event is not a resume: \(events.map(\.description))")
      return
    }
    #expect(recordedSteps == first.steps.count)
    #expect(resumed.status == .done)
    #expect(resumed.steps.count == first.steps.count)
    #expect(resumed.steps.first?.pruningEvaluations == first.steps.first?.pruningEvaluations, "finished stages are not redone")
    #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("final.safetensors").path))
  }

  @Test func aFolderWithOtherSettingsIsRefused() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = try handMadeTeacherFile(in: folder)
    var config = try tinyConfig()
    config.shrinking.maxSteps = 1
    config.pruning.maxIterations = 1
    config.distillation.maxEpochs = 1
    try runPoPS(PoPSOptions(config: config, output: folder, seed: 1, teacher: teacherURL))
    #expect(throws: ConfigError.self) { try runPoPS(PoPSOptions(config: config, output: folder, seed: 2, teacher: teacherURL)) }
  }

  @Test func baselinesRun() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = folder.appendingPathComponent("teacher-in.safetensors")
    try ModelFile.save(Model(network: handMadeTeacher(), provenance: Provenance(environment: "CartPole-v0")), to: teacherURL)
    var prune = PoPSOptions(config: try tinyConfig(), output: folder.appendingPathComponent("prune"), seed: 1, teacher: teacherURL)
    prune.mode = .pruneOnly
    let pruned = try runPoPS(prune)
    #expect(pruned.steps.count == 1 && pruned.steps[0].studentArchitecture == nil)
    // Prune-only ends on the pruned model it kept.
    let kept = try #require(pruned.steps[0].pruned, "prune-only kept no pruned model")
    #expect(pruned.final?.sizePercent == kept.sizePercent)
    var distill = PoPSOptions(config: try tinyConfig(), output: folder.appendingPathComponent("distill"), seed: 1, teacher: teacherURL)
    distill.mode = .distillOnly
    distill.studentHidden = [4, 4]
    let distilled = try runPoPS(distill)
    #expect(distilled.steps.count == 1 && distilled.steps[0].studentArchitecture == "4-4-4-2")
    // Distil-only ends on its student, accepted with this seed.
    #expect(distilled.steps[0].studentAccepted, "\(distilled.stopReason?.description ?? "-")")
    #expect(distilled.final?.architecture == "4-4-4-2")
  }
}

struct ConvPipelineTests {
  /// PoPS end to end on a convolutional teacher (the Catch pixel game):
  /// a short DQN run trains a CNN teacher, then a tiny-budget PoPS run must
  /// shrink its conv channels and hidden width and keep every invariant.
  @Test func popsShrinksAConvolutionalTeacher() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var config = try PoPSConfig.preset(for: "Catch-v0")
    config.teacher.steps = 8_000
    config.teacher.dqn.evaluationEpisodes = 50
    config.pruning.endStep = 3_000
    config.pruning.minibatchesPerIteration = 500
    config.pruning.evaluationInterval = 250
    config.pruning.evaluationEpisodes = 20
    config.pruning.maxIterations = 8
    config.pruning.patience = 2
    config.distillation.minibatchesPerEpoch = 500
    config.distillation.evaluationInterval = 250
    config.distillation.evaluationEpisodes = 20
    config.distillation.maxEpochs = 10
    // Batches of 32 (like the teacher's) split into at most two chunks: the
    // run, and the outcome asserted below, is the same on any machine with
    // two or more threads (POPS_THREADS=1 sums in another order).
    config.distillation.batchSize = 32
    config.experience.refillSteps = 1_000
    config.shrinking.maxSteps = 2
    config.objective = 0.8
    config.acceptanceScore = 0.8
    let record = try runPoPS(PoPSOptions(config: config, output: folder, seed: 1, teacher: nil))
    // With this seed both steps' students are accepted and the run is done.
    #expect(record.status == .done, "\(record.stopReason?.description ?? "-")")
    let teacher = try ModelFile.load(from: folder.appendingPathComponent("teacher.safetensors")).network
    #expect(teacher.architecture.summary == "1x10x10-c16k3s1-64-3")
    #expect(record.teacher!.scoreMean! >= 0.9, "the CNN teacher solves Catch")
    #expect(record.steps.count == 2 && record.steps.allSatisfy(\.studentAccepted), "\(record.steps.map(\.studentAccepted))")
    var weights = teacher.weightCount
    for step in record.steps {
      let pruned = try #require(step.pruned, "step \(step.index) kept no pruned model")
      #expect(step.redundancy.count == 3 && pruned.nonZeroPerLayer.reduce(0, +) < weights)
      let student = try #require(step.student, "step \(step.index) trained no student")
      #expect(student.weights < weights)
      #expect(student.architecture.hasPrefix("1x10x10-c"), "students stay convolutional: \(student.architecture)")
      weights = student.weights
    }
    let final = try ModelFile.load(from: folder.appendingPathComponent("final.safetensors")).network
    #expect(final.weightCount == record.final?.weights)
    guard case .conv2d(let c) = final.architecture.layers[0] else {
      Issue.record("the final network lost its convolution")
      return
    }
    #expect(c.outChannels < 16, "the conv channels were shrunk: \(final.architecture.summary)")
  }
}

struct RerunTests {
  @Test func rerunningAFinishedPruneOnlyRunKeepsItsSparseResult() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = folder.appendingPathComponent("teacher-in.safetensors")
    try ModelFile.save(Model(network: handMadeTeacher(), provenance: Provenance(environment: "CartPole-v0")), to: teacherURL)
    var options = PoPSOptions(config: try tinyConfig(), output: folder.appendingPathComponent("prune"), seed: 1, teacher: teacherURL)
    options.mode = .pruneOnly
    let first = try runPoPS(options)
    let again = try runPoPS(options)
    #expect(again.final?.nonZeroPerLayer == first.final?.nonZeroPerLayer)
    #expect(again.steps.count == first.steps.count)
  }
}
