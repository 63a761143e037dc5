import Foundation
import PoPS
import PoPSCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `pops sweep` with hostile paths and a hostile output folder (issue 26):
/// the Slurm scripts keep every path a value (quoted for sh, a control
/// character refused, in the current folder's name too, before anything is
/// created; a backslash refused in the study folder), one sweep holds a
/// study folder at a time, and symbolic links planted inside the study
/// folder (a cell's log, `cells`, a cell's folder, `slurm`) are refused.
/// Signals: `SweepSignalTests`.
@Suite(.serialized) struct SweepHostileTests {
  /// Characters sh would act on unquoted: spaces, quotes, command
  /// substitution both ways, `;`, a glob, `#`, `%`, a backslash.
  static let hostileName = "a b'c$(touch m1)`touch m2`;d \"e\" *#%f\\g"

  // MARK: Shell quoting

  @Test func quotingRoundTripsThroughSh() throws {
    let folder = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let values = [Self.hostileName, "", "'", "''", "-n", "~", "$HOME", "\\", "x\ny", "é ü 中", "a\tb", "!event"]
    for value in values {
      // printf with the value as an argument: what sh passes is exactly the value.
      let result = try shell("printf '%s' " + ShellText.quoted(value), in: folder)
      #expect(result.status == 0 && result.output == value, "\(value.debugDescription) came back as \(result.output.debugDescription)")
    }
    let line = try shell("printf '%s\\n' " + ShellText.commandLine(values), in: folder)
    #expect(line.output == values.map { $0 + "\n" }.joined(), "\(line.output.debugDescription)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/m1") && !FileManager.default.fileExists(atPath: "\(folder)/m2"))
    #expect(ControlCharacters.first(in: "a\nb") == "\n" && ControlCharacters.first(in: "a\u{1B}b") == "\u{1B}")
    #expect(ControlCharacters.first(in: "a\u{85}b") == "\u{85}" && ControlCharacters.first(in: "a\u{A0}b") == nil)
    #expect(ControlCharacters.first(in: Self.hostileName) == nil)
  }

  // MARK: Slurm scripts

  @Test func slurmScriptsPassHostilePathsAsValues() throws {
    let root = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let base = "\(root)/\(Self.hostileName)"
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    // A stand-in for pops that prints its arguments, one a line.
    let executable = "\(base)/echo args"
    try "#!/bin/sh\nprintf '%s\\n' \"$@\"\n".write(toFile: executable, atomically: true, encoding: .utf8)
    chmod(executable, 0o755)
    let studyPath = "\(base)/study.yaml"
    let study = try Study(yaml: "environments: [CartPole-v0]\nseeds: [0, 1]\nmodes: [full, prune-only]", source: studyPath)
    // The study folder may hold all of it but a backslash (Slurm's file names: see below).
    let folderBase = "\(root)/\(Self.hostileName.replacingOccurrences(of: "\\", with: ""))"
    let folder = URL(fileURLWithPath: "\(folderBase)/out")
    let script = SlurmScript(
      plan: SweepPlan(study: study, folder: folder), studyPath: studyPath, executable: executable, concurrency: 2, threadsPerRun: 1)
    let submit = try script.write()
    let run = URL(fileURLWithPath: "\(root)/cwd")
    try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
    for (name, indices) in script.arrays {
      let file = folder.appendingPathComponent("slurm/\(name).sbatch").path
      #expect(try shell("bash -n " + ShellText.quoted(file), in: run.path).status == 0)
      // What an array task runs: the stand-in gets the paths back intact.
      let task = try shell("SLURM_ARRAY_TASK_ID=1 sh " + ShellText.quoted(file), in: run.path)
      let expected = ["sweep", studyPath, "--out", folder.path, "--cell", String(indices.lowerBound + 1)]
      #expect(task.output == expected.map { $0 + "\n" }.joined(), "\(name): \(task.output.debugDescription)")
      // sbatch reads the --output directive itself, with its own quotes and escapes.
      let text = try String(contentsOfFile: file, encoding: .utf8)
      let directive = text.split(separator: "\n").first { $0.hasPrefix("#SBATCH --output=") }.map(String.init) ?? ""
      let slurmFolder = folder.appendingPathComponent("slurm").path.replacingOccurrences(of: "%", with: "%%")
      #expect(Self.sbatchArgument(String(directive.dropFirst("#SBATCH ".count))) == "--output=\(slurmFolder)/\(name)-%a.out", "\(directive)")
    }
    // submit.sh with an sbatch that answers a job id: it runs, and runs nothing else.
    let fakeBin = "\(root)/bin"
    try FileManager.default.createDirectory(atPath: fakeBin, withIntermediateDirectories: true)
    try "#!/bin/sh\necho 42\n".write(toFile: "\(fakeBin)/sbatch", atomically: true, encoding: .utf8)
    chmod("\(fakeBin)/sbatch", 0o755)
    #expect(try shell("bash -n " + ShellText.quoted(submit.path), in: run.path).status == 0)
    let submitted = try shell("PATH=\(ShellText.quoted(fakeBin)):\"$PATH\" " + ShellText.quoted(submit.path), in: run.path)
    #expect(submitted.status == 0 && submitted.output.contains("submitted rest: job 42"), "\(submitted.output)")
    for marker in ["m1", "m2"] {
      for place in [run.path, folder.appendingPathComponent("slurm").path, root] {
        #expect(!FileManager.default.fileExists(atPath: "\(place)/\(marker)"), "\(place)/\(marker) was created")
      }
    }
  }

  @Test func aControlCharacterInAPathIsRefusedBeforeAnythingIsWritten() throws {
    let root = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "environments: [CartPole-v0]\nseeds: [0]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    let out = "\(root)/x\ntouch \(root)/injected"
    let refused = try pops(["sweep", "\(root)/study.yaml", "--out", out, "--engine", "slurm"])
    #expect(refused.status != 0 && refused.output.contains("--out must not contain a control character"), "\(refused.output)")
    #expect(refused.output.contains("U+000A"), "\(refused.output)")
    let study = try pops(["sweep", "\(root)/s\ty.yaml", "--out", "\(root)/out"])
    #expect(study.status != 0 && study.output.contains("the study path must not contain a control character"), "\(study.output)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["study.yaml"])
    // The library refuses too, for callers other than the CLI.
    let plan = SweepPlan(study: try Study(yaml: "environments: [CartPole-v0]\nseeds: [0]", source: "s"), folder: URL(fileURLWithPath: out))
    #expect(throws: ConfigError.self) {
      _ = try SlurmScript(plan: plan, studyPath: "\(root)/study.yaml", executable: "/bin/true", concurrency: 1, threadsPerRun: 1).write()
    }
    #expect(!FileManager.default.fileExists(atPath: out))
  }

  /// A relative --out or study path takes the current folder's name: a
  /// control character there is refused too, before the study lock or
  /// any folder is created.
  @Test func aControlCharacterInTheCurrentFolderIsRefusedBeforeAnythingIsCreated() throws {
    let root = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "environments: [CartPole-v0]\nseeds: [0]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    let here = "\(root)/x\ny"
    try FileManager.default.createDirectory(atPath: here, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: "\(root)/study.yaml", toPath: "\(here)/study.yaml")
    let cases: [([String], String)] = [
      (["\(root)/study.yaml", "--out", "rel", "--engine", "slurm"], "--out must not contain a control character"),
      (["\(root)/study.yaml", "--out", "rel"], "--out must not contain a control character"),
      (["study.yaml", "--out", "\(root)/out", "--engine", "slurm"], "the study path must not contain a control character"),
    ]
    for (arguments, message) in cases {
      let run = try PopsProcess(["sweep"] + arguments, in: here)
      let status = run.finish()
      #expect(status != 0 && run.output.contains(message) && run.output.contains("U+000A"), "\(arguments): \(run.output)")
      // Only the study and the test's own record of the output are there: no rel, no .pops.lock.
      let created = try FileManager.default.contentsOfDirectory(atPath: here).filter { !$0.hasPrefix("pops-") && $0 != "study.yaml" }
      #expect(created.isEmpty, "\(arguments): created \(created)")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["study.yaml", "x\ny"])
  }

  /// In a Slurm file name a backslash turns the `%a` pattern off (every
  /// array task would write one log): the study folder may not hold one.
  @Test func aBackslashInTheStudyFolderIsRefusedForSlurm() throws {
    let root = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "environments: [CartPole-v0]\nseeds: [0]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    for out in ["\(root)/back\\slash", "back\\slash"] {
      let run = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", out, "--engine", "slurm"], in: root)
      let status = run.finish()
      #expect(status != 0 && run.output.contains("--out must not contain a backslash with --engine slurm"), "\(run.output)")
      #expect(run.output.contains("the %a pattern off"), "\(run.output)")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix("pops-") } == ["study.yaml"])
    // The library refuses too; the local engine takes the folder.
    let plan = SweepPlan(
      study: try Study(yaml: "environments: [CartPole-v0]\nseeds: [0]", source: "s"), folder: URL(fileURLWithPath: "\(root)/back\\slash"))
    #expect(throws: ConfigError.self) {
      _ = try SlurmScript(plan: plan, studyPath: "\(root)/study.yaml", executable: "/bin/true", concurrency: 1, threadsPerRun: 1).write()
    }
    #expect(!FileManager.default.fileExists(atPath: "\(root)/back\\slash"))
    let list = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/back\\slash", "--list"], in: root)
    #expect(list.finish() == 0, "\(list.output)")
  }

  /// One argument of an `#SBATCH` line as sbatch reads it: `\` escapes the
  /// next character, quotes group, whitespace and an unquoted `#` end it.
  static func sbatchArgument(_ line: String) -> String {
    var result = "", quote: Character?, escaped = false
    for character in line {
      if escaped {
        escaped = false
      } else if character == "\\" {
        escaped = true
        continue
      } else if let open = quote {
        if character == open { quote = nil; continue }
      } else if character == "\"" || character == "'" {
        quote = character
        continue
      } else if character == "#" || character == " " || character == "\t" {
        break
      }
      result.append(character)
    }
    return result
  }

  // MARK: The study lock, links

  @Test func aSecondSweepOnTheSameFolderIsRefusedNamingThePid() throws {
    let root = try longStudy()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let first = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out", "--workers", "1"], in: root)
    let cells = first.children(atLeast: 1)
    defer {
      kill(first.pid, SIGTERM)
      _ = first.finish()
      cells.forEach { kill($0, SIGKILL) }
    }
    #expect(cells.count == 1, "the first sweep's cell did not start: \(first.output)")
    let second = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out", "--workers", "1"], in: root)
    let status = second.finish()
    #expect(status != 0 && second.output.contains("is in use by another pops run (pid \(first.pid))"), "\(second.output)")
    // The second sweep started nothing: the running cell's log has one command line.
    let log = try String(contentsOfFile: "\(root)/out/cells/CartPole-v0__full__0.log", encoding: .utf8)
    #expect(log.components(separatedBy: "$ pops ").count == 2, "\(log)")
  }

  @Test func aPlantedSymlinkAtACellLogIsNotFollowed() throws {
    let root = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "environments: [CartPole-v0]\nseeds: [0]\nset: [\"objective=9\"]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    let victim = "\(root)/victim.txt"
    try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
    // A study folder a sweep wrote before (its lock file), with a link planted in it.
    try FileManager.default.createDirectory(atPath: "\(root)/out/cells", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: "\(root)/out/.pops.lock", contents: nil)
    try FileManager.default.createSymbolicLink(atPath: "\(root)/out/cells/CartPole-v0__full__0.log", withDestinationPath: victim)
    for arguments in [["--workers", "1"], ["--cell", "0"]] {
      let result = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out"] + arguments, in: root)
      let status = result.finish()
      #expect(status == 1 && result.output.contains("symbolic link"), "\(arguments): \(result.output)")
      #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "\(arguments): the file outside was changed")
    }
    #expect(!FileManager.default.fileExists(atPath: "\(root)/out/cells/CartPole-v0__full__0"), "the cell ran")
    // A `cells` folder that is a link to elsewhere is refused too.
    let elsewhere = "\(root)/elsewhere"
    try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: "\(root)/out2", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: "\(root)/out2/.pops.lock", contents: nil)
    try FileManager.default.createSymbolicLink(atPath: "\(root)/out2/cells", withDestinationPath: elsewhere)
    let linked = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out2"], in: root)
    let status = linked.finish()
    #expect(status != 0 && linked.output.contains("cells is a symbolic link"), "\(linked.output)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
  }

  /// Links planted at a cell's folder or at `slurm` are refused naming
  /// the link; nothing is written where they point.
  @Test func linksAtACellFolderOrAtSlurmAreRefused() throws {
    let root = try makeFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "environments: [CartPole-v0]\nseeds: [0]\nset: [\"objective=9\"]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    let elsewhere = "\(root)/elsewhere"
    try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
    // A study folder a sweep wrote before (its lock file), with links planted in it.
    try FileManager.default.createDirectory(atPath: "\(root)/out/cells", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: "\(root)/out/.pops.lock", contents: nil)
    let cellLink = "\(root)/out/cells/CartPole-v0__full__0"
    try FileManager.default.createSymbolicLink(atPath: cellLink, withDestinationPath: elsewhere)
    try FileManager.default.createSymbolicLink(atPath: "\(root)/out/slurm", withDestinationPath: elsewhere)
    for arguments in [["--workers", "1"], ["--cell", "0"], ["--engine", "slurm"]] {
      let run = try PopsProcess(["sweep", "\(root)/study.yaml", "--out", "\(root)/out"] + arguments, in: root)
      let status = run.finish()
      let link = arguments == ["--engine", "slurm"] ? "\(root)/out/slurm" : cellLink
      #expect(status != 0 && run.output.contains("\(link) is a symbolic link (to \(elsewhere))"), "\(arguments): \(run.output)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty, "\(arguments): written through the link")
    }
  }

  // MARK: Helpers

  func makeFolder() throws -> String {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
  }

  /// A study whose cells train a CartPole teacher with the preset: minutes
  /// each, so they are still running when the test acts on the sweep.
  func longStudy() throws -> String {
    let root = try makeFolder()
    try "environments: [CartPole-v0]\nseeds: [0, 1]\nmodes: [full]".write(toFile: "\(root)/study.yaml", atomically: true, encoding: .utf8)
    return root
  }

  /// Runs `command` with `sh -c` in `folder`; stdout only.
  func shell(_ command: String, in folder: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
