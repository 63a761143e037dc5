import Foundation

/// The `slurm` engine: job-array scripts, written, not run (no Slurm is
/// needed to make them). Full cells form one array; the other modes a second
/// array that starts after the first (they take its teachers and
/// architectures). Each array task runs `pops sweep STUDY --out DIR --cell I`.
/// DIR must be on storage every node sees.
public struct SlurmScript {
  public let plan: SweepPlan
  /// The study file and the pops executable as the nodes will see them.
  public let studyPath: String
  public let executable: String
  /// At most this many tasks of an array run at once (the `%` limit).
  public let concurrency: Int
  public let threadsPerRun: Int

  public init(plan: SweepPlan, studyPath: String, executable: String, concurrency: Int, threadsPerRun: Int) {
    self.plan = plan
    self.studyPath = studyPath
    self.executable = executable
    self.concurrency = max(1, concurrency)
    self.threadsPerRun = max(1, threadsPerRun)
  }

  /// The cells' indices (into `study.cells`) of each array: full runs, then the rest.
  public var arrays: [(name: String, indices: Range<Int>)] {
    let cells = plan.study.cells
    let fullCount = cells.filter { $0.mode == .full }.count
    var arrays: [(String, Range<Int>)] = []
    if fullCount > 0 { arrays.append(("full", 0..<fullCount)) }
    if fullCount < cells.count { arrays.append(("rest", fullCount..<cells.count)) }
    return arrays
  }

  /// A value of an `#SBATCH` line, which sbatch reads itself (sh sees a
  /// comment): in double quotes (spaces and `#` stay in the value), with `\`
  /// before each `\` and `"` (sbatch's escape), and `%` doubled (Slurm's
  /// file-name patterns read `%%` as one `%`).
  static func directiveQuoted(_ text: String) -> String {
    var escaped = ""
    for character in text {
      switch character {
      case "\\", "\"": escaped += "\\\(character)"
      case "%": escaped += "%%"
      default: escaped.append(character)
      }
    }
    return "\"" + escaped + "\""
  }

  /// One sbatch script per array: SLURM_ARRAY_TASK_ID runs cell offset + id.
  /// The paths are quoted for sh (`ShellText.quoted`); `write()` refuses
  /// any with a control character, and a study folder with a backslash.
  public func script(name: String, indices: Range<Int>) -> String {
    let output = Self.directiveQuoted(plan.folder.appendingPathComponent("slurm").path + "/") + "\(name)-%a.out"
    return """
      #!/bin/bash
      #SBATCH --job-name=pops-\(name)
      #SBATCH --array=0-\(indices.count - 1)%\(concurrency)
      #SBATCH --cpus-per-task=\(threadsPerRun)
      #SBATCH --output=\(output)
      # Cells \(indices.lowerBound)..\(indices.upperBound - 1) of the study (pops sweep --list shows them).
      export POPS_THREADS=\(threadsPerRun)
      exec \(ShellText.quoted(executable)) sweep \(ShellText.quoted(studyPath)) --out \(ShellText.quoted(plan.folder.path)) --cell $((\(indices.lowerBound) + SLURM_ARRAY_TASK_ID))

      """
  }

  /// Submits the arrays, the second after the first has ended (whatever its
  /// cells' outcome: a failed full cell fails only its own dependants).
  public var submitScript: String {
    var lines = ["#!/bin/bash", "# Submits the study's job arrays; then `pops sweep \(ShellText.quoted(studyPath)) --out \(ShellText.quoted(plan.folder.path)) --collect`.", "set -euo pipefail", "cd \"$(dirname \"$0\")\""]
    var previous: String?
    for (name, _) in arrays {
      let dependency = previous.map { " --dependency=afterany:$\($0)" } ?? ""
      lines.append("\(name)=$(sbatch --parsable\(dependency) \(name).sbatch)")
      lines.append("echo \"submitted \(name): job $\(name)\"")
      previous = name
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Refuses paths the scripts cannot hold: a control character in any of
  /// them (a newline would start a command line of its own), or a backslash
  /// in the study folder, which the `#SBATCH --output` file name holds: in
  /// a Slurm file name a backslash turns every `%` pattern off, so `%a`
  /// would stay literal and every array task would write one file. Callers
  /// check before they create anything (`pops sweep` before the study lock).
  public static func check(folder: String, studyPath: String, executable: String) throws {
    try ShellText.checkPrintable(folder, option: "--out")
    try ShellText.checkPrintable(studyPath, option: "the study path")
    try ShellText.checkPrintable(executable, option: "the pops executable's path")
    if folder.contains("\\") {
      throw ConfigError(
        "--out must not contain a backslash with --engine slurm, found in \(folder.debugDescription): in a Slurm output file name a backslash turns the %a pattern off, and every array task would write the same log file")
    }
  }

  /// Writes DIR/slurm/{full,rest}.sbatch and submit.sh; returns the submit
  /// script's path. `DIR/slurm` must be a real folder: a symbolic link there
  /// is refused (the scripts would be written wherever it points).
  public func write() throws -> URL {
    try Self.check(folder: plan.folder.path, studyPath: studyPath, executable: executable)
    let folder = plan.folder.appendingPathComponent("slurm")
    try SweepPlan.refuseLink(folder, holds: "the Slurm scripts")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (name, indices) in arrays {
      try AtomicFile.write(Data(script(name: name, indices: indices).utf8), to: folder.appendingPathComponent("\(name).sbatch"))
    }
    let submit = folder.appendingPathComponent("submit.sh")
    try AtomicFile.write(Data(submitScript.utf8), to: submit)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: submit.path)
    return submit
  }
}
