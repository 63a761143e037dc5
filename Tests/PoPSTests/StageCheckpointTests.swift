import Foundation
import PoPS
import Testing

/// Resume inside a stage (issue 12): a run stopped in the middle of IPP or of
/// a student's distillation continues from its stage checkpoint to exactly
/// the result of the uninterrupted run.
struct StageCheckpointTests {
  /// metrics.jsonl without its clock columns.
  func metricsRows(_ folder: URL) throws -> [String] {
    let text = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
      var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      object["time"] = nil
      object["elapsed_s"] = nil
      return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
  }

  func options(_ folder: URL, teacher: URL) throws -> PoPSOptions {
    var options = PoPSOptions(config: try tinyConfig(), output: folder, seed: 6, teacher: teacher)
    options.checkpoints = .minibatches(100)
    // The learning rate halves after the student's first epoch, so a resume in a later epoch must restore it;
    // students restart after two epochs and recycle dormant units (more state to carry).
    options.config.distillation.decayEpochs = [1]
    options.config.distillation.decayFactors = [0.5]
    options.config.distillation.restartEpochs = 2
    options.config.distillation.recycleDormantUnits = true
    // Refills of 1,500 into 4,000 slots: the ring wraps mid-refill.
    options.config.experience.refillSteps = 1_500
    return options
  }

  @Test func aRunStoppedInsideItsStagesEndsAsTheUninterruptedRun() throws {
    let root = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    let teacher = try handMadeTeacherFile(in: root)
    let whole = root.appendingPathComponent("whole"), stopped = root.appendingPathComponent("stopped")
    let reference = try runPoPS(try options(whole, teacher: teacher))
    let ippMinibatches = try #require(reference.steps.first?.pruningMinibatches)
    #expect(ippMinibatches > 700, "the first IPP stage is long enough to stop inside it")
    let studentMinibatches = try #require(reference.steps.first?.studentEvaluations.count) * 250
    // Stops: inside step 1's IPP (mid-iteration, and again in the next), then
    // inside its student's distillation (125 minibatches before its last evaluation).
    var stops = 0
    var resumedStages: [String] = []
    for stopAt in [[333], [400], [ippMinibatches - 733 + studentMinibatches - 125], [] as [Int]] {
      var o = try options(stopped, teacher: teacher)
      let stop = StopAt(Set(stopAt))
      o.stopRequested = { stop() }
      do {
        try runPoPS(o) { if case .resumingStage(_, let stage, let minibatch) = $0 { resumedStages.append("\(stage) \(minibatch)") } }
        #expect(stopAt.isEmpty, "the run was asked to stop at boundary \(stopAt) but finished")
      } catch let error as RunStopped {
        stops += 1
        #expect(FileManager.default.fileExists(atPath: error.checkpoint.path))
      }
    }
    #expect(stops == 3)
    #expect(resumedStages.count == 3, "every restart continued inside a stage: \(resumedStages)")
    #expect(resumedStages.contains { $0.hasPrefix("distillation") }, "one restart was inside a distillation: \(resumedStages)")
    let resumed = try PoPSRecord.read(from: stopped.appendingPathComponent("results.json"))
    #expect(resumed.status == .done)
    #expect(resumed.steps.count == reference.steps.count)
    for (a, b) in zip(resumed.steps, reference.steps) {
      #expect(a.pruningEvaluations == b.pruningEvaluations, "step \(a.index): IPP")
      #expect(a.pruningMinibatches == b.pruningMinibatches)
      #expect(a.pruningIterations == b.pruningIterations)
      #expect(a.pruningStopReason == b.pruningStopReason)
      #expect(a.studentEvaluations == b.studentEvaluations, "step \(a.index): distillation")
      #expect(a.studentEpochs == b.studentEpochs)
      #expect(a.student?.scoreMean == b.student?.scoreMean)
      #expect(a.pruned?.nonZeroPerLayer == b.pruned?.nonZeroPerLayer)
    }
    #expect(resumed.final?.architecture == reference.final?.architecture)
    #expect(resumed.final?.scoreMean == reference.final?.scoreMean)
    let finalA = try ModelFile.load(from: stopped.appendingPathComponent("final.safetensors")).network
    let finalB = try ModelFile.load(from: whole.appendingPathComponent("final.safetensors")).network
    #expect(finalA.parameters == finalB.parameters, "the final student's weights are bit-identical")
    #expect(try metricsRows(stopped) == metricsRows(whole), "metrics.jsonl holds each measurement once")
    // The resumed runs' clock continues from the checkpoint's: elapsed time never runs backwards.
    let text = try String(contentsOf: stopped.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    let elapsed = try text.split(separator: "\n").map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["elapsed_s"] as? Double ?? -1
    }
    #expect(zip(elapsed, elapsed.dropFirst()).allSatisfy { $0 <= $1 }, "\(elapsed)")
    #expect(!FileManager.default.fileExists(atPath: stopped.appendingPathComponent(PoPSRun.stageCheckpointFile).path),
      "a finished run removes its stage checkpoint")
  }

  /// The stage checkpoint a run into `folder` leaves when stopped inside IPP at minibatch 150.
  func checkpointOfARunStopped(in folder: URL, teacher: URL) throws -> URL {
    var o = try options(folder, teacher: teacher)
    let stop = StopAt([150])
    o.stopRequested = { stop() }
    #expect(throws: RunStopped.self) { try runPoPS(o) }
    return folder.appendingPathComponent(PoPSRun.stageCheckpointFile)
  }

  @Test func aCheckpointOfAnotherRunIsRefusedNamingTheField() throws {
    let root = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    let teacher = try handMadeTeacherFile(in: root)
    let first = root.appendingPathComponent("first")
    let checkpoint = try checkpointOfARunStopped(in: first, teacher: teacher)
    for (name, change) in [("seed", { (o: inout PoPSOptions) in o.seed = 7 }), ("pruning.frequency", { o in o.config.pruning.frequency += 1 })] {
      let other = root.appendingPathComponent("other-\(name)")
      try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: checkpoint, to: other.appendingPathComponent(PoPSRun.stageCheckpointFile))
      var options = try options(other, teacher: teacher)
      change(&options)
      do {
        try runPoPS(options)
        Issue.record("a checkpoint of another run (\(name)) was resumed")
      } catch let error as ConfigError {
        #expect(error.description.contains(name), "\(error)")
        #expect(error.description.contains(PoPSRun.stageCheckpointFile), "\(error)")
      }
    }
  }

  /// A checkpoint whose contents were edited into nonsense is refused naming
  /// what is wrong, and never traps.
  @Test func anEditedCheckpointIsRefusedNotTrusted() throws {
    let root = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    let teacher = try handMadeTeacherFile(in: root)
    let first = root.appendingPathComponent("first")
    let checkpoint = try checkpointOfARunStopped(in: first, teacher: teacher)
    let original = try TensorArchive.read(from: checkpoint)
    let edits: [(String, (inout TensorArchive) -> Void)] = [
      ("minibatches", { $0.metadata["state"] = $0.metadata["state"]!.replacingOccurrences(of: "\"minibatches\":150", with: "\"minibatches\":-5") }),
      ("refill", { $0.metadata["refills"] = $0.metadata["refills"]!.replacingOccurrences(of: "\"steps\":1500", with: "\"steps\":-1") }),
      ("student", { archive in for key in archive.arrays.keys where key.hasPrefix("student.") { archive.arrays[key] = nil } }),
      ("rmsprop", { $0.arrays["rmsprop.v.0"] = .float([1, 2, 3]) }),
      ("state", { $0.metadata["state"] = "{" }),
    ]
    for (name, edit) in edits {
      var archive = original
      edit(&archive)
      #expect(archive.metadata != original.metadata || archive.arrays != original.arrays, "the \(name) edit changed nothing")
      try archive.write(to: checkpoint)
      do {
        try runPoPS(try options(first, teacher: teacher))
        Issue.record("an edited checkpoint (\(name)) was resumed")
      } catch let error as ConfigError {
        #expect(error.description.contains(name), "\(error)")
      }
    }
  }
}

/// Counts the minibatch boundaries a run passes and asks it to stop at the
/// chosen ones (`PoPSOptions.stopRequested`).
final class StopAt: @unchecked Sendable {
  private let lock = NSLock()
  private var calls = 0
  private let at: Set<Int>
  init(_ at: Set<Int>) { self.at = at }
  func callAsFunction() -> Bool {
    lock.lock()
    defer { lock.unlock() }
    calls += 1
    return at.contains(calls)
  }
}
