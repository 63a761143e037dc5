import ArgumentParser
import Foundation
import PoPS

struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rewrite a run's report.html, optionally next to baseline runs on the same teacher.",
    discussion: """
      Reads RUN/results.json and its models and writes RUN/report.html and the plots again. Each --baseline
      is another finished run (typically --mode prune-only, or --mode distill-only with --hidden set to
      this run's final widths) whose teacher.safetensors is byte for byte RUN's: the report then compares
      their results with this run's at the same size.

      Examples:
        pops report runs/cartpole
        pops run --env CartPole-v0 --out runs/prune --mode prune-only --teacher runs/cartpole/teacher.safetensors
        pops report runs/cartpole --baseline runs/prune --baseline runs/distill
      """)

  @Argument(help: "The output folder of `pops run` or `pops compress`.")
  var folder: String

  @Option(name: .customLong("baseline"), help: "A finished run of another mode on the same teacher (repeatable).")
  var baselines: [String] = []

  func run() throws {
    let folder = URL(fileURLWithPath: self.folder)
    let record = try PoPSRecord.read(from: folder.appendingPathComponent("results.json"))
    let teacherURL = folder.appendingPathComponent("teacher.safetensors")
    let teacherBytes = try Data(contentsOf: teacherURL)
    let teacher = try ModelFile.load(from: teacherURL).network
    let finalURL = folder.appendingPathComponent(PoPSRecord.finalFile)
    let final = FileManager.default.fileExists(atPath: finalURL.path) ? try ModelFile.load(from: finalURL).network : teacher
    var compared: [Baseline] = []
    for path in baselines {
      let other = URL(fileURLWithPath: path)
      let theirs = try PoPSRecord.read(from: other.appendingPathComponent("results.json"))
      guard theirs.status.isFinished else {
        throw ValidationError("--baseline \(path): the run is not finished (status \(theirs.status.rawValue))")
      }
      let theirTeacher = other.appendingPathComponent("teacher.safetensors")
      guard (try? Data(contentsOf: theirTeacher)) == teacherBytes else {
        throw ValidationError("--baseline \(path): its teacher.safetensors is not \(teacherURL.path); compare runs on the same teacher")
      }
      compared.append(Baseline(folder: other, record: theirs))
    }
    try writeReport(record, teacher: teacher, final: final, to: folder, baselines: compared)
    print("report: \(folder.appendingPathComponent("report.html").path)")
  }
}
