import Foundation
import PoPSEnvironments

/// The `ray` engine: runs the study's cells as Ray tasks on any reachable
/// Ray cluster through the driver shipped with pops (`ray_driver.py`, run by
/// the bridge's Python, which `make deps-ray` gives the `ray` package). Each
/// task runs `pops sweep STUDY --out DIR --cell I` on a worker node, so DIR,
/// the study and pops must be on storage every node sees.
public struct RaySweep {
  public let plan: SweepPlan
  public let studyPath: String
  public let executable: URL
  public let address: String
  public let threadsPerRun: Int

  public init(plan: SweepPlan, studyPath: String, executable: URL, address: String, threadsPerRun: Int) {
    self.plan = plan
    self.studyPath = studyPath
    self.executable = executable
    self.address = address
    self.threadsPerRun = max(1, threadsPerRun)
  }

  /// The driver script inside pops' resources.
  static func driver() throws -> URL {
    guard let url = Bundle.module.url(forResource: "ray_driver", withExtension: "py") else {
      throw ConfigError("ray_driver.py is missing from the pops resources")
    }
    return url
  }

  /// Runs the cells not finished yet (full ones first); returns the failures.
  public func run(progress: (SweepProgress) -> Void) throws -> [SweepFailure] {
    try plan.makeCellsFolder()
    let cells = plan.study.cells
    let open = cells.indices.filter { !plan.isFinished(cells[$0]) }
    let phases = [open.filter { cells[$0].mode == .full }, open.filter { cells[$0].mode != .full }].filter { !$0.isEmpty }
    var done = cells.count - open.count
    let doneBefore = done
    var failures: [SweepFailure] = []
    let started = Date()
    func report() {
      // The cluster runs cells side by side: the rate so far, over what is left.
      let elapsed = Date().timeIntervalSince(started)
      let ended = done - doneBefore + failures.count
      let left = cells.count - done - failures.count
      progress(SweepProgress(
        total: cells.count, done: done, running: [], failed: failures.count, elapsed: elapsed,
        remaining: ended > 0 ? elapsed / Double(ended) * Double(left) : nil))
    }
    report()
    if phases.isEmpty { return [] }
    let process = Process()
    process.executableURL = try GymEnvironment.python()
    process.arguments = [
      try Self.driver().path, "--address", address, "--pops", executable.path, "--study", studyPath,
      "--out", plan.folder.path, "--threads", String(threadsPerRun),
    ] + phases.flatMap { ["--phase", $0.map(String.init).joined(separator: ",")] }
    let pipe = Pipe()
    process.standardOutput = pipe
    let errors = Pipe()
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try process.run()
    var buffer = Data()
    var last: SweepFailure?
    func handle(_ line: String) {
      let parts = line.split(separator: " ")
      if line.hasPrefix("| "), last != nil {
        last!.logTail += (last!.logTail.isEmpty ? "" : "\n") + String(line.dropFirst(2))
        failures[failures.count - 1] = last!
        return
      }
      guard parts.count >= 2, let index = Int(parts[1]), cells.indices.contains(index) else { return }
      if parts[0] == "done" {
        done += 1
        last = nil
      } else if parts[0] == "failed" {
        last = SweepFailure(cell: cells[index], reason: "exited with status \(parts.count > 2 ? String(parts[2]) : "?") on the cluster", logTail: "")
        failures.append(last!)
      }
      report()
    }
    while true {
      let chunk = pipe.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      buffer.append(chunk)
      while let newline = buffer.firstIndex(of: 0x0A) {
        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
        buffer.removeSubrange(buffer.startIndex...newline)
        handle(line)
      }
    }
    process.waitUntilExit()
    if process.terminationStatus != 0 {
      let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      throw ConfigError("the Ray driver failed (status \(process.terminationStatus)): \(message.split(separator: "\n").suffix(3).joined(separator: " / "))")
    }
    return failures
  }
}
