import Foundation
import PoPSEnvironments

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
  ///
  /// `stop` is asked between reads: a signal there is passed on to the
  /// driver as SIGINT (it runs in a process group of its own, so a Ctrl-C
  /// at the terminal reaches only pops), which ends it; once it has ended
  /// `SweepStopped` is thrown. Ray then ends the job's tasks, and with them
  /// (Ray's default on Linux) each task's `pops`: the cells stop without a
  /// checkpoint of that moment, and a rerun resumes them. The driver is
  /// listed with the cells (`SweepChildren`), so what ends the sweep at
  /// once kills its group too.
  public func run(stop: () -> Int32? = { nil }, progress: (SweepProgress) -> Void) throws -> [SweepFailure] {
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
    let driver = try SweepChildren.start {
      try process.run()
      return process.processIdentifier
    }
    defer { SweepChildren.remove(driver) }
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
    // Read the driver's lines, looking for a stop request at least every 0.1 s.
    let input = pipe.fileHandleForReading.fileDescriptor
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var stopped: Int32?
    while true {
      if stopped == nil, let signal = stop() {
        stopped = signal
        kill(driver, SIGINT)
      }
      var ready = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
      let polled = poll(&ready, 1, 100)
      if polled == 0 || (polled < 0 && errno == EINTR) { continue }  // nothing yet, or interrupted
      let count = read(input, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      buffer.append(contentsOf: chunk[0..<count])
      while let newline = buffer.firstIndex(of: 0x0A) {
        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
        buffer.removeSubrange(buffer.startIndex...newline)
        handle(line)
      }
    }
    process.waitUntilExit()
    if let stopped {
      throw SweepStopped(
        signal: stopped, cells: [],
        detail: "the Ray driver was stopped, and Ray ends the job's tasks (their cells stop without a checkpoint of this moment)")
    }
    if process.terminationStatus != 0 {
      let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      throw ConfigError("the Ray driver failed (status \(process.terminationStatus)): \(message.split(separator: "\n").suffix(3).joined(separator: " / "))")
    }
    // A task's `pops sweep --cell` becomes the cell's run, whose output goes
    // to the cell's log: its last lines follow what the task printed.
    return failures.map { failure in
      var failure = failure
      let tail = LocalSweep.tail(of: plan.log(of: failure.cell))
      if !tail.isEmpty { failure.logTail += (failure.logTail.isEmpty ? "" : "\n") + tail }
      return failure
    }
  }
}
