import Foundation
import PoPSCore

/// Where a sweep stands, for live progress.
public struct SweepProgress: Sendable {
  public var total: Int
  public var done: Int
  public var running: [SweepCell]
  public var failed: Int
  /// Seconds since the sweep started, and the estimate of what is left
  /// (mean wall time of the cells finished in this sweep x cells left / workers).
  public var elapsed: Double
  public var remaining: Double?
}

/// A cell that did not finish: its exit status and the last lines of its log.
public struct SweepFailure: Sendable {
  public var cell: SweepCell
  public var reason: String
  public var logTail: String
}

/// The `local` engine: a pool of `workers` child processes of the `pops`
/// executable, one per cell, each with `POPS_THREADS` set so the pool does
/// not oversubscribe the cores. Finished cells are skipped; a killed cell
/// resumes (the pipeline's own resume); a failed cell does not stop the others.
public struct LocalSweep {
  public let plan: SweepPlan
  public let executable: URL
  public let workers: Int
  public let threadsPerRun: Int

  public init(plan: SweepPlan, executable: URL, workers: Int, threadsPerRun: Int) {
    self.plan = plan
    self.executable = executable
    self.workers = max(1, workers)
    self.threadsPerRun = max(1, threadsPerRun)
  }

  /// Runs every cell not finished yet; returns the failures.
  public func run(progress: (SweepProgress) -> Void) throws -> [SweepFailure] {
    try FileManager.default.createDirectory(
      at: plan.folder.appendingPathComponent("cells"), withIntermediateDirectories: true)
    let cells = plan.study.cells
    var pending = cells.filter { !plan.isFinished($0) }
    var done = cells.count - pending.count
    var running: [(cell: SweepCell, process: Process, started: Date)] = []
    var failures: [SweepFailure] = []
    var failedNames: Set<String> = []
    var finishedSeconds: [Double] = []
    let started = Date()
    var lastState = ""
    func report() {
      // Only changes are reported (a rerun of a finished study prints one line).
      let state = "\(done) \(failures.count) \(running.map(\.cell.name))"
      if state == lastState { return }
      lastState = state
      let left = pending.count + running.count
      let mean = finishedSeconds.isEmpty ? nil : finishedSeconds.reduce(0, +) / Double(finishedSeconds.count)
      progress(SweepProgress(
        total: cells.count, done: done, running: running.map(\.cell), failed: failures.count,
        elapsed: Date().timeIntervalSince(started),
        remaining: mean.map { $0 * Double(left) / Double(min(workers, max(left, 1))) }))
    }
    report()
    while !pending.isEmpty || !running.isEmpty {
      // Start what may start: a free worker, a cell whose dependency is finished.
      var index = 0
      while running.count < workers && index < pending.count {
        let cell = pending[index]
        if let dependency = plan.dependency(of: cell) {
          if failedNames.contains(dependency.name) {
            pending.remove(at: index)
            failedNames.insert(cell.name)
            failures.append(SweepFailure(cell: cell, reason: "its full run \(dependency.name) failed", logTail: ""))
            continue
          }
          if !plan.isFinished(dependency) {
            index += 1
            continue
          }
        }
        pending.remove(at: index)
        do {
          running.append((cell, try launch(cell), Date()))
        } catch {
          failedNames.insert(cell.name)
          failures.append(SweepFailure(cell: cell, reason: "\(error)", logTail: ""))
        }
      }
      report()
      // Wait for any child to end.
      while !running.isEmpty && !running.contains(where: { !$0.process.isRunning }) { usleep(50_000) }
      running.removeAll { entry in
        guard !entry.process.isRunning else { return false }
        let status = entry.process.terminationStatus
        let finished = plan.isFinished(entry.cell)
        if finished {
          done += 1
          finishedSeconds.append(Date().timeIntervalSince(entry.started))
        } else {
          failedNames.insert(entry.cell.name)
          let how = entry.process.terminationReason == .uncaughtSignal ? "was killed by signal \(status)" : "exited with status \(status)"
          failures.append(SweepFailure(cell: entry.cell, reason: how, logTail: Self.tail(of: plan.log(of: entry.cell))))
        }
        return true
      }
    }
    report()
    return failures
  }

  public func launch(_ cell: SweepCell) throws -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = try plan.arguments(of: cell)
    var environment = ProcessInfo.processInfo.environment
    environment["POPS_THREADS"] = String(threadsPerRun)
    process.environment = environment
    let log = plan.log(of: cell)
    let handle: FileHandle
    do {
      try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
      if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
      handle = try FileHandle(forWritingTo: log)
    } catch {
      throw ConfigError("cannot write the log \(log.path): \(FileErrors.reason(error))")
    }
    handle.seekToEndOfFile()
    handle.write(Data("$ pops \(process.arguments!.joined(separator: " "))\n".utf8))
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
  }

  /// The last `lines` lines of a log.
  static func tail(of url: URL, lines: Int = 8) -> String {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
  }
}
