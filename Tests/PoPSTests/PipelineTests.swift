import Foundation
import PoPS
import Testing

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
      // Every step of this run trains a student, and each is accepted: the
      // next step starts from it.
      let student = try #require(step.student, "step \(step.index) trained no student")
      #expect(step.studentAccepted, "step \(step.index)'s student was rejected")
      #expect(student.weights < size, "students shrink")
      let loaded = try ModelFile.load(from: folder.appendingPathComponent(student.model!))
      #expect(loaded.network.weightCount == student.weights)
      size = student.weights
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
