import ArgumentParser
import Foundation
import PoPS

struct Sweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a study: environments x seeds x modes, one pops run per cell, and summarise it.",
    discussion: """
      STUDY.yaml (docs/sweep.md):
        environments: [CartPole-v0, LunarLander-v3]
        seeds: [0, 1, 2]
        modes: [full, prune-only, distill-only]
        teacher: shared
        set: ["pruning.end_step=20000"]
      Each cell writes DIR/cells/ENV__MODE__SEED/; a rerun skips finished cells and resumes killed ones.
      DIR/summary.csv, summary.json and summary.html hold the results.

      Examples:
        pops sweep study.yaml --out runs/study --workers 2
        pops sweep study.yaml --out /shared/study --engine slurm --workers 20 && /shared/study/slurm/submit.sh
        pops sweep study.yaml --out /shared/study --collect
        pops sweep study.yaml --out /shared/study --engine ray --address head-node:6379
      """)

  enum Engine: String, ExpressibleByArgument, CaseIterable { case local, slurm, ray }

  @Argument(help: "The study file (YAML).")
  var study: String

  @Option(help: "Output folder of the study.")
  var out: String

  @Option(help: "local: run the cells here; slurm: write job-array scripts into DIR/slurm; ray: run them as tasks on a Ray cluster (--address).")
  var engine = Engine.local

  @Option(help: "The Ray cluster's head, HOST:PORT (--engine ray; 'auto' finds a local one).")
  var address: String?

  @Option(parsing: .unconditional, help: "Cells at once (local: default cores / 1 thread each; slurm: the array's % limit, default 16).")
  var workers: Int?

  @Option(parsing: .unconditional, help: "Threads per cell (POPS_THREADS of each run; default cores / workers).")
  var threads: Int?

  @Flag(help: "Only write the summary of the cells there are (after a Slurm array).")
  var collect = false

  @Flag(help: "List the cells with their index and state, and exit.")
  var list = false

  @Option(parsing: .unconditional, help: "Run only cell number N of --list (what a Slurm array task does).")
  var cell: Int?

  func validate() throws {
    if out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out must name a folder, got an empty path") }
    // Both are written into the Slurm scripts, absolute (a relative path
    // takes the current folder's name): a newline there would run as a
    // command. Checked here, before anything is created.
    do {
      let folder = URL(fileURLWithPath: out).path, studyPath = URL(fileURLWithPath: study).path
      try ShellText.checkPrintable(folder, option: "--out")
      try ShellText.checkPrintable(studyPath, option: "the study path")
      if engine == .slurm && !collect && !list && cell == nil {
        try SlurmScript.check(folder: folder, studyPath: studyPath, executable: Self.executable.path)
      }
    } catch { throw ValidationError("\(error)") }
    if let workers, workers <= 0 || workers > 4096 { throw ValidationError("--workers must be in 1...4096, got \(workers)") }
    if let threads, threads <= 0 || threads > 1024 { throw ValidationError("--threads must be in 1...1024, got \(threads)") }
    if let cell, cell < 0 { throw ValidationError("--cell must be >= 0, got \(cell)") }
    if engine == .ray && address == nil && !collect && !list && cell == nil {
      throw ValidationError("--engine ray needs --address HOST:PORT of the Ray head (or auto)")
    }
  }

  func run() throws {
    let text: String
    do {
      text = try String(contentsOfFile: study, encoding: .utf8)
    } catch {
      throw ValidationError("cannot read the study \(study): \(FileErrors.reason(error))")
    }
    let plan = SweepPlan(study: try Study(yaml: text, source: study), folder: URL(fileURLWithPath: out))
    let cells = plan.study.cells
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    if list {
      for (index, cell) in cells.enumerated() {
        let state = plan.record(of: cell)?.status.rawValue ?? "not run"
        print("\(index)\t\(cell.name)\t\(state)")
      }
      return
    }
    if let index = cell {
      guard index < cells.count else { throw ValidationError("--cell \(index): the study has cells 0...\(cells.count - 1)") }
      try runOne(cells[index], plan: plan)
      return
    }
    // One sweep (or collect) per study folder at a time: a second one would
    // start the same cells and append to their logs. `--cell` runs of a
    // Slurm array share the folder; each cell's own run locks its folder.
    try OutputFolder.check(plan.folder, markers: OutputFolder.sweepMarkers, writes: "cells, logs and summaries")
    let lock = try RunLock(folder: plan.folder)
    defer { withExtendedLifetime(lock) {} }
    if collect {
      try writeSummary(plan, failed: [])
      return
    }
    switch engine {
    case .slurm:
      let workers = self.workers ?? 16
      let script = SlurmScript(
        plan: plan, studyPath: URL(fileURLWithPath: study).path, executable: Self.executable.path,
        concurrency: workers, threadsPerRun: threads ?? 1)
      let submit = try script.write()
      for (name, indices) in script.arrays {
        print("\(name).sbatch: array of \(indices.count) cells (\(indices.lowerBound)...\(indices.upperBound - 1)), at most \(workers) at once")
      }
      print("submit with \(ShellText.quoted(submit.path)); then: pops sweep \(ShellText.commandLine([study, "--out", out, "--collect"]))")
    case .ray:
      let sweep = RaySweep(
        plan: plan, studyPath: URL(fileURLWithPath: study).path, executable: Self.executable, address: address ?? "auto",
        threadsPerRun: threads ?? 1)
      print("pops sweep: \(cells.count) cells on the Ray cluster at \(address ?? "auto"), \(threads ?? 1) thread(s) each -> \(out)")
      let line = ProgressLine()
      // Ctrl-C, SIGTERM and SIGHUP stop the driver; a second signal or SIGQUIT kills it (StopSignal).
      StopSignal.install(sweep: true)
      let failures: [SweepFailure]
      do {
        failures = try sweep.run(stop: { StopSignal.number }) { progress in
          let eta = progress.remaining.map { " ETA \(formatDuration($0))" } ?? ""
          line.update(
            "[\(formatDuration(progress.elapsed))] \(progress.done)/\(progress.total) done, \(progress.failed) failed\(eta)",
            permanent: progress.done + progress.failed == progress.total)
        }
      } catch let stopped as SweepStopped {
        line.finish()
        print("pops sweep: \(stopped)")
        throw ExitCode(128 + stopped.signal)
      }
      line.finish()
      try finish(plan, failures: failures)
    case .local:
      let workers = self.workers ?? max(1, cores / (threads ?? 1))
      let threads = self.threads ?? max(1, cores / workers)
      let sweep = LocalSweep(plan: plan, executable: Self.executable, workers: workers, threadsPerRun: threads)
      let line = ProgressLine()
      print("pops sweep: \(cells.count) cells (\(plan.study.environments.count) environments x \(plan.study.seeds.count) seeds x \(plan.study.modes.count) modes), \(workers) at once, \(threads) thread(s) each -> \(out)")
      // Ctrl-C, SIGTERM and SIGHUP are passed on to the running cells, which
      // are waited for; a second signal or SIGQUIT kills them (StopSignal).
      StopSignal.install(sweep: true)
      let failures: [SweepFailure]
      do {
        failures = try sweep.run(stop: { StopSignal.number }) { progress in
          let eta = progress.remaining.map { " ETA \(formatDuration($0))" } ?? ""
          let running = progress.running.map(\.name).joined(separator: ", ")
          line.update(
            "[\(formatDuration(progress.elapsed))] \(progress.done)/\(progress.total) done, \(progress.running.count) running, \(progress.failed) failed\(eta)\(running.isEmpty ? "" : " | \(running)")",
            permanent: progress.running.isEmpty && progress.done + progress.failed == progress.total)
        }
      } catch let stopped as SweepStopped {
        line.finish()
        print("pops sweep: \(stopped)")
        throw ExitCode(128 + stopped.signal)
      }
      line.finish()
      try finish(plan, failures: failures)
    }
  }

  /// Reports the failures with their logs' tails, writes the summary, and
  /// exits 1 if any cell failed.
  func finish(_ plan: SweepPlan, failures: [SweepFailure]) throws {
    for failure in failures {
      print("failed: \(failure.cell.name): \(failure.reason)")
      if !failure.logTail.isEmpty {
        print(failure.logTail.split(separator: "\n").map { "  | \($0)" }.joined(separator: "\n"))
      }
    }
    try writeSummary(plan, failed: Set(failures.map(\.cell.name)))
    if !failures.isEmpty { throw ExitCode(1) }
  }

  func runOne(_ cell: SweepCell, plan: SweepPlan) throws {
    if plan.isFinished(cell) {
      print("\(cell.name): finished already")
      return
    }
    if let dependency = plan.dependency(of: cell), !plan.isFinished(dependency) {
      throw ValidationError("\(cell.name) needs \(dependency.name) finished first (its teacher and architecture)")
    }
    let sweep = LocalSweep(plan: plan, executable: Self.executable, workers: 1, threadsPerRun: threads ?? Compute.defaultThreads)
    // The cell's run replaces this process: one process, which whatever
    // stops the task (Slurm's scancel signals every process of the job, a
    // terminal its foreground group) reaches once, and stops at its
    // checkpoint; no signal is passed on, so none arrives twice.
    try sweep.execute(cell) { log in print("\(cell.name): running; its output goes to \(log.path)") }
  }

  func writeSummary(_ plan: SweepPlan, failed: Set<String>) throws {
    let summary = SweepSummary(plan: plan, failed: failed)
    try summary.write(to: plan.folder, title: "pops sweep: \(URL(fileURLWithPath: study).lastPathComponent)")
    print("summary: \(plan.folder.appendingPathComponent("summary.html").path) (and summary.csv, summary.json)")
  }

  /// This pops executable (the cells run it).
  static var executable: URL { Executable.current }
}
