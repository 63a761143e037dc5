import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What signals do to a sweep and its cells (issue 26). The cells run in
/// process groups of their own, so the sweep is their only link to the
/// terminal: a stop signal (SIGINT, SIGTERM, SIGHUP) is passed on and waited
/// for; what ends the sweep at once (a second signal, SIGQUIT) kills the
/// cells first. No cell outlives its sweep. `pops sweep --cell` becomes the
/// cell's run, so a Slurm `scancel` (one signal to every process of the
/// task) stops it once, at its checkpoint.
@Suite(.serialized) struct SweepSignalTests {
  @Test func sigtermStopsTheRunningCellsAndExits143() throws {
    try stopTest(signal: SIGTERM, status: 143)
  }

  /// A closed terminal or ssh session: the cells are stopped as by SIGTERM.
  @Test func sighupStopsTheRunningCellsAndExits129() throws {
    try stopTest(signal: SIGHUP, status: 129)
  }

  /// Sends `signal` to a sweep with two running cells: it names the cells
  /// it stopped, exits `status`, and no cell is left.
  func stopTest(signal: Int32, status expected: Int32) throws {
    let root = try longStudy()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sweep = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out", "--workers", "2"], in: root)
    let cells = sweep.children(atLeast: 2)
    defer { cells.forEach { kill($0, SIGKILL) } }
    // The signal must find cells running, or the test proves nothing.
    try #require(cells.count == 2 && cells.allSatisfy(Self.isAlive), "the cells did not start: \(sweep.output)")
    kill(sweep.pid, signal)
    let status = sweep.finish()
    #expect(status == expected, "\(sweep.output)")
    #expect(sweep.output.contains("sweep stopped by signal \(signal): stopped CartPole-v0__full__0, CartPole-v0__full__1"), "\(sweep.output)")
    for pid in cells {
      #expect(Self.endsSoon(pid), "cell pid \(pid) is still running after the sweep ended")
    }
  }

  /// A second signal ends the sweep at once, and kills its cells' groups
  /// first. Both are sent together, before the sweep's loop (which looks
  /// every 50 ms) passes the first on: without the kill, the cells (which
  /// train their teachers for minutes) would outlive the sweep.
  @Test func aSecondSignalKillsTheCellsBeforeTheSweepEnds() throws {
    let root = try longStudy()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let sweep = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out", "--workers", "2"], in: root)
    let cells = sweep.children(atLeast: 2)
    defer { cells.forEach { kill($0, SIGKILL) } }
    try #require(cells.count == 2 && cells.allSatisfy(Self.isAlive), "the cells did not start: \(sweep.output)")
    // Two different signals, so neither merges into the other while pending.
    kill(sweep.pid, SIGTERM)
    kill(sweep.pid, SIGINT)
    let status = sweep.finish()
    #expect(status == 130 || status == 143, "\(sweep.output)")
    for pid in cells {
      #expect(Self.endsSoon(pid), "cell pid \(pid) outlived the sweep")
    }
  }

  /// SIGQUIT ends the sweep at once (it never waits), its cells killed first.
  @Test func sigquitKillsTheCellsAndEndsTheSweep() throws {
    let root = try longStudy()
    defer { try? FileManager.default.removeItem(atPath: root) }
    // No core file from the sweep's SIGQUIT (the limit is inherited).
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    limit.rlim_cur = 0
    setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    let sweep = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out", "--workers", "2"], in: root)
    let cells = sweep.children(atLeast: 2)
    defer { cells.forEach { kill($0, SIGKILL) } }
    try #require(cells.count == 2 && cells.allSatisfy(Self.isAlive), "the cells did not start: \(sweep.output)")
    kill(sweep.pid, SIGQUIT)
    let status = sweep.finish()
    #expect(status == 128 + SIGQUIT, "\(sweep.output)")
    for pid in cells {
      #expect(Self.endsSoon(pid), "cell pid \(pid) outlived the sweep")
    }
  }

  /// Slurm's `scancel` sends SIGTERM to every process of the task. The
  /// task `pops sweep --cell 0` is the cell's run itself (one process, no
  /// child that would get the signal a second time from its parent and end
  /// at once): it stops at its stage checkpoint and exits 143.
  @Test func aCellTaskStopsOnceAtItsCheckpointWhenEveryProcessIsSignalled() throws {
    let fixtures = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: fixtures) }
    // A given teacher and a long IPP: the cell is inside a stage within seconds, for minutes.
    let overrides = [
      "objective=9", "lower_bound=5", "acceptance_score=9", "acceptance_episodes=5", "experience.refill_steps=300",
      "experience.capacity=600", "pruning.end_step=100000", "pruning.minibatches_per_iteration=50000",
      "pruning.evaluation_interval=50", "pruning.evaluation_episodes=3", "pruning.max_iterations=3",
    ]
    try """
      environments: [CartPole-v0]
      seeds: [0]
      modes: [full]
      teacher: {CartPole-v0: \(fixtures)/a.safetensors}
      set: [\(overrides.map { "\"\($0)\"" }.joined(separator: ", "))]
      """.write(toFile: "\(fixtures)/study.yaml", atomically: true, encoding: .utf8)
    let task = try PopsProcess(["sweep", "\(fixtures)/study.yaml", "--out", "\(fixtures)/out", "--cell", "0"], in: fixtures)
    let log = "\(fixtures)/out/cells/CartPole-v0__full__0.log"
    // Inside IPP (a few minutes at most on a loaded machine).
    var inside = false
    for _ in 0..<6000 where task.process.isRunning {
      if ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("IPP on") {
        inside = true
        break
      }
      usleep(50_000)
    }
    let processes = Self.descendants(of: task.pid) + [task.pid]
    defer { processes.forEach { kill($0, SIGKILL) } }
    try #require(inside, "the cell did not reach IPP: \(task.output)\n\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    #expect(processes == [task.pid], "the task has more than one process: \(processes)")
    let command = (try? String(contentsOfFile: "/proc/\(task.pid)/cmdline", encoding: .utf8)) ?? ""
    #expect(command.contains("compress"), "the task is not the cell's run: \(command.debugDescription)")
    // scancel: every process of the task, each once.
    processes.forEach { kill($0, SIGTERM) }
    let status = task.finish()
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(status == 143, "\(task.output)\n\(text)")
    #expect(text.contains("stopped at a stage checkpoint"), "\(text)")
    #expect(task.output.contains("CartPole-v0__full__0: running; its output goes to \(log)"), "\(task.output)")
  }

  /// The Ray engine: the driver runs in a process group of its own, so the
  /// sweep passes a stop signal on to it (a stand-in here: a driver that
  /// would otherwise wait ten minutes), waits for it, and exits 143.
  @Test func sigtermReachesTheRayDriver() throws {
    let root = try longStudy()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "#!/bin/sh\nexec sleep 600\n".write(toFile: "\(root)/python", atomically: true, encoding: .utf8)
    chmod("\(root)/python", 0o755)
    var environment = ProcessInfo.processInfo.environment
    environment["POPS_PYTHON"] = "\(root)/python"
    let sweep = try PopsProcess(
      ["sweep", "\(root)/study.yaml", "--out", "\(root)/out", "--engine", "ray", "--address", "127.0.0.1:1"], in: root,
      environment: environment)
    let drivers = sweep.children(atLeast: 1)
    defer { drivers.forEach { kill($0, SIGKILL) } }
    try #require(drivers.count == 1 && drivers.allSatisfy(Self.isAlive), "the driver did not start: \(sweep.output)")
    kill(sweep.pid, SIGTERM)
    let status = sweep.finish()
    #expect(status == 143, "\(sweep.output)")
    #expect(sweep.output.contains("sweep stopped by signal 15: the Ray driver was stopped"), "\(sweep.output)")
    #expect(Self.endsSoon(drivers[0]), "the driver outlived the sweep")
  }

  // MARK: Helpers

  /// A study whose cells train a CartPole teacher with the preset: minutes
  /// each, so they are still running when the test acts on the sweep.
  func longStudy() throws -> String {
    let root = temporaryFolder()
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    try "environments: [CartPole-v0]\nseeds: [0, 1]\nmodes: [full]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    return root
  }

  /// Whether `pid` is a process that has not ended (a zombie has ended).
  static func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
  }

  /// Whether `pid` has ended, or ends within a minute (a killed process
  /// ends at once; the wait only absorbs a loaded machine).
  static func endsSoon(_ pid: Int32) -> Bool {
    for _ in 0..<1200 {
      if !isAlive(pid) { return true }
      usleep(50_000)
    }
    return false
  }

  /// Every process below `pid` (children of any of its threads, recursively).
  static func descendants(of pid: Int32) -> [Int32] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    let children = tasks.flatMap { task in
      ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
        .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    return children.flatMap { descendants(of: $0) + [$0] }
  }
}
