import Foundation
import PoPSCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// A sweep stopped by SIGINT, SIGTERM or SIGHUP: the signal, passed on to
/// the cells that were running, which have all ended (a rerun continues them).
public struct SweepStopped: Error, CustomStringConvertible {
  public var signal: Int32
  public var cells: [SweepCell]
  /// What became of the cells when the sweep cannot name them (the Ray engine).
  public var detail: String?

  init(signal: Int32, cells: [SweepCell], detail: String? = nil) {
    self.signal = signal
    self.cells = cells
    self.detail = detail
  }

  public var description: String {
    let stopped = detail ?? (cells.isEmpty ? "no cell was running" : "stopped \(cells.map(\.name).joined(separator: ", "))")
    return "sweep stopped by signal \(signal): \(stopped); run the same command again to continue"
  }
}

/// The `local` engine: a pool of `workers` child processes of the `pops`
/// executable, one per cell, each with `POPS_THREADS` set so the pool does
/// not oversubscribe the cores. Finished cells are skipped; a killed cell
/// resumes (the pipeline's own resume); a failed cell does not stop the others.
/// A stop request (SIGINT, SIGTERM, SIGHUP) is passed on to the running
/// cells, which the sweep then waits for before it returns.
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

  /// Runs every cell not finished yet; returns the failures. `stop` is
  /// asked between polls: a signal number there is sent to every running
  /// cell (SIGHUP as SIGTERM: a closed terminal stops a cell at its
  /// checkpoint as SIGTERM does, where SIGHUP itself would kill it), no cell
  /// starts after it, and once the running ones have ended `SweepStopped`
  /// is thrown with the signal received.
  public func run(stop: () -> Int32? = { nil }, progress: (SweepProgress) -> Void) throws -> [SweepFailure] {
    try plan.makeCellsFolder()
    let cells = plan.study.cells
    var pending = cells.filter { !plan.isFinished($0) }
    var done = cells.count - pending.count
    var running: [(cell: SweepCell, process: CellProcess, started: Date)] = []
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
      if let signal = stop() {
        // Pass the signal on once, then wait for every cell to end.
        for entry in running { entry.process.send(signal == SIGHUP ? SIGTERM : signal) }
        for entry in running { _ = entry.process.wait() }
        throw SweepStopped(signal: signal, cells: running.map(\.cell))
      }
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
      // Wait for any child to end (or a stop request).
      while stop() == nil && !running.isEmpty && !running.contains(where: { $0.process.poll() != nil }) { usleep(50_000) }
      running.removeAll { entry in
        guard let ending = entry.process.poll() else { return false }
        if plan.isFinished(entry.cell) {
          done += 1
          finishedSeconds.append(Date().timeIntervalSince(entry.started))
        } else {
          failedNames.insert(entry.cell.name)
          let how: String
          switch ending {
          case .exited(let status): how = "exited with status \(status)"
          case .signalled(let signal): how = "was killed by signal \(signal)"
          }
          failures.append(SweepFailure(cell: entry.cell, reason: how, logTail: Self.tail(of: plan.log(of: entry.cell))))
        }
        return true
      }
    }
    report()
    return failures
  }

  /// Starts `cell`'s `pops` with its output appended to the cell's log.
  public func launch(_ cell: SweepCell) throws -> CellProcess {
    let (arguments, environment, log) = try prepare(cell)
    defer { try? log.close() }
    return try CellProcess(executable: executable, arguments: arguments, environment: environment, output: log.fileDescriptor)
  }

  /// Runs `cell`'s `pops` in place of this process, its output appended to
  /// the cell's log (`pops sweep --cell`; `CellProcess.replaceCurrentProcess`
  /// says why). `starting` is called with the log once it is open, just
  /// before. Returns only by throwing.
  public func execute(_ cell: SweepCell, starting: (URL) -> Void = { _ in }) throws -> Never {
    let (arguments, environment, log) = try prepare(cell)
    starting(plan.log(of: cell))
    try CellProcess.replaceCurrentProcess(
      executable: executable, arguments: arguments, environment: environment, output: log.fileDescriptor)
  }

  /// What a cell runs: its arguments, its environment (`POPS_THREADS`) and
  /// its log, open for appending, the command line written first. A cell
  /// folder that is a symbolic link is refused.
  func prepare(_ cell: SweepCell) throws -> (arguments: [String], environment: [String: String], log: FileOutput) {
    try plan.checkCellFolder(of: cell)
    let arguments = try plan.arguments(of: cell)
    var environment = ProcessInfo.processInfo.environment
    environment["POPS_THREADS"] = String(threadsPerRun)
    let log = try plan.openLog(of: cell)
    try log.write(Data("$ pops \(ShellText.commandLine(arguments))\n".utf8))
    return (arguments, environment, log)
  }

  /// The last `lines` lines of a log.
  static func tail(of url: URL, lines: Int = 8) -> String {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
  }
}
