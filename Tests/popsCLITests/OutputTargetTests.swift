import Foundation
import PoPS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What pops does with an `--out` it cannot or must not write (issue 26):
/// something that is not a regular file is refused and kept, a folder of
/// someone else's files is refused and left as it was, and a failed write
/// names the file and the operating system's reason, keeps the old file and
/// leaves no temporary file.
struct OutputTargetTests {
  /// A folder holding m.safetensors, a CartPole model of a few kilobytes.
  func modelFolder() throws -> String {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 7)
    let network = Network(.mlp(inputs: 4, hidden: [64, 64], outputs: 2), using: &rng)
    try ModelFile.save(
      Model(network: network, provenance: Provenance(environment: "CartPole-v0")),
      to: URL(fileURLWithPath: "\(folder)/m.safetensors"))
    return folder
  }

  /// Files in `folder` (hidden ones included), sorted.
  func entries(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  @Test func aTargetThatIsNotARegularFileIsRefusedAndKept() throws {
    let folder = try modelFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = "\(folder)/m.safetensors"
    let fifo = "\(folder)/fifo"
    #expect(mkfifo(fifo, 0o644) == 0)
    try "keep".write(toFile: "\(folder)/real.safetensors", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: "\(folder)/link.safetensors", withDestinationPath: "\(folder)/real.safetensors")
    // What /dev/stdout is: a link to the process's descriptor (here inside the test's folder, so nothing real is at stake).
    try FileManager.default.createSymbolicLink(atPath: "\(folder)/stdout", withDestinationPath: "/proc/self/fd/1")
    try FileManager.default.createDirectory(atPath: "\(folder)/dir.onnx", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: "\(folder)/firmware", withIntermediateDirectories: true)
    #expect(mkfifo("\(folder)/firmware/pops_policy.c", 0o644) == 0)
    // A link at NAME.h beside an old NAME.c: neither is written (the .c once was, before the .h was looked at).
    try FileManager.default.createDirectory(atPath: "\(folder)/firmware2", withIntermediateDirectories: true)
    try "old source".write(toFile: "\(folder)/firmware2/pops_policy.c", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: "\(folder)/firmware2/pops_policy.h", withDestinationPath: "\(folder)/real.safetensors")
    let cases: [([String], String, String)] = [
      (["import", model, "--out", fifo], fifo, "it is a FIFO (named pipe), not a regular file"),
      (["export", model, "--format", "onnx", "--out", fifo], fifo, "it is a FIFO (named pipe), not a regular file"),
      (["import", model, "--out", "\(folder)/link.safetensors"], "\(folder)/link.safetensors", "it is a symbolic link (to \(folder)/real.safetensors)"),
      (["import", model, "--out", "\(folder)/stdout"], "\(folder)/stdout", "it is a symbolic link (to /proc/self/fd/1)"),
      (["export", model, "--format", "onnx", "--out", "\(folder)/dir.onnx"], "\(folder)/dir.onnx", "it is a folder, not a regular file"),
      (["export", model, "--format", "c", "--out", "\(folder)/firmware"], "\(folder)/firmware/pops_policy.c", "it is a FIFO (named pipe)"),
      (["export", model, "--format", "c", "--out", "\(folder)/firmware2"], "\(folder)/firmware2/pops_policy.h",
       "it is a symbolic link (to \(folder)/real.safetensors)"),
    ]
    for (arguments, path, reason) in cases {
      let result = try pops(arguments)
      #expect(result.status != 0 && result.output.contains("could not write \(path): \(reason)"), "\(arguments): \(result.output)")
    }
    #expect((try? String(contentsOfFile: "\(folder)/firmware2/pops_policy.c", encoding: .utf8)) == "old source")
    #expect(entries("\(folder)/firmware2") == ["pops_policy.c", "pops_policy.h"])
    var info = stat()
    #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO, "the FIFO was replaced")
    #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/link.safetensors")) == "\(folder)/real.safetensors")
    #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/stdout")) == "/proc/self/fd/1")
    #expect((try? String(contentsOfFile: "\(folder)/real.safetensors", encoding: .utf8)) == "keep")
    #expect(entries("\(folder)/dir.onnx").isEmpty)
    #expect(!entries(folder).contains { $0.hasSuffix(".tmp") }, "\(entries(folder))")
  }

  /// `run`/`compress`, `train` and `sweep` never write into a folder of
  /// someone else's files; an empty folder is fine.
  @Test func aFolderOfOtherFilesIsRefusedAndLeftAsItWas() throws {
    let fixtures = try OutputFolderTests().fixtures()
    defer { try? FileManager.default.removeItem(atPath: fixtures) }
    let user = "\(fixtures)/mine"
    try FileManager.default.createDirectory(atPath: user, withIntermediateDirectories: true)
    for name in ["notes.txt", "data.csv", "results.csv", "plot.svg"] {
      try "mine".write(toFile: "\(user)/\(name)", atomically: true, encoding: .utf8)
    }
    let before = entries(user)
    let study = try SweepTests().study(modes: "full")
    defer { try? FileManager.default.removeItem(atPath: study) }
    let commands: [[String]] = [
      ["compress", "--teacher", "\(fixtures)/a.safetensors", "--env", "CartPole-v0", "--out", user, "--config", "\(fixtures)/tiny.yaml"],
      ["run", "--env", "CartPole-v0", "--out", user, "--config", "\(fixtures)/tiny.yaml"],
      ["train", "--env", "CartPole-v0", "--out", user, "--steps", "100"],
      ["sweep", "\(study)/study.yaml", "--out", user, "--collect"],
    ]
    for arguments in commands {
      let result = try pops(arguments)
      #expect(
        result.status != 0 && result.output.contains("\(user) is not empty and holds no pops output (it has data.csv, notes.txt, plot.svg and 1 more"),
        "\(arguments[0]): \(result.output)")
      #expect(entries(user) == before, "\(arguments[0]) wrote into the folder: \(entries(user))")
      for name in before { #expect((try? String(contentsOfFile: "\(user)/\(name)", encoding: .utf8)) == "mine") }
    }
    // Something else than a folder is named as such.
    let fifo = "\(fixtures)/fifo"
    #expect(mkfifo(fifo, 0o644) == 0)
    let piped = try pops(["run", "--env", "CartPole-v0", "--out", fifo])
    #expect(piped.status != 0 && piped.output.contains("\(fifo) is a FIFO (named pipe), not a folder"), "\(piped.output)")
    // An empty folder is a new one.
    let empty = "\(fixtures)/empty"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    let run = try pops([
      "compress", "--teacher", "\(fixtures)/a.safetensors", "--env", "CartPole-v0", "--out", empty, "--config", "\(fixtures)/tiny.yaml",
    ])
    #expect(run.status == 0 && FileManager.default.fileExists(atPath: "\(empty)/results.json"), "\(run.output)")
    // A study folder written before sweeps took the study lock has a summary and no .pops.lock: still the sweep's own.
    let older = "\(fixtures)/older-study"
    try FileManager.default.createDirectory(atPath: older, withIntermediateDirectories: true)
    try "{}".write(toFile: "\(older)/summary.json", atomically: true, encoding: .utf8)
    let collected = try pops(["sweep", "\(study)/study.yaml", "--out", older, "--collect"])
    #expect(!collected.output.contains("holds no pops output"), "\(collected.output)")
  }

  /// A write the file system refuses names the file and the reason. /dev/full
  /// opens but fails every write with ENOSPC, as a full disk does.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
  func aFullDiskIsNamedWithTheFileAndTheReason() throws {
    let output = FileOutput(descriptor: open("/dev/full", O_WRONLY | O_CLOEXEC), named: "/dev/full")
    let error = #expect(throws: WriteError.self) { try output.write(Data(repeating: 1, count: 100_000)) }
    #expect(error?.description == "could not write /dev/full: No space left on device")
    // What Foundation throws for a full disk reads the same.
    let cocoa = CocoaError(.fileWriteOutOfSpace, userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))])
    #expect(WriteError(path: "/x/y", error: cocoa).description == "could not write /x/y: No space left on device")
  }

  /// A run folder downloaded with `.pops.lock -> ~/.bashrc`: the lock is
  /// refused, naming the link, and the file it points to is not touched.
  @Test func aLinkedLockFileIsRefusedAndTheFileItPointsToKept() throws {
    let root = temporaryFolder()
    try FileManager.default.createDirectory(atPath: "\(root)/out", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let outside = "\(root)/bashrc"
    try "export PATH=keep\n".write(toFile: outside, atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: "\(root)/out/.pops.lock", withDestinationPath: outside)
    let result = try pops(["run", "--env", "CartPole-v0", "--out", "\(root)/out"])
    #expect(
      result.status != 0
        && result.output.contains("could not write \(root)/out/.pops.lock: it is a symbolic link (to \(outside)), not a regular file"),
      "\(result.output)")
    #expect((try? String(contentsOfFile: outside, encoding: .utf8)) == "export PATH=keep\n")
    #expect(entries("\(root)/out") == [".pops.lock"])
  }

  /// Appending (logs, the lock) opens only a regular file: a link, a FIFO
  /// (which would block) or a device is refused, naming what it is.
  @Test func appendingRefusesWhatIsNotARegularFile() throws {
    let root = temporaryFolder()
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "keep".write(toFile: "\(root)/target", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: "\(root)/link", withDestinationPath: "\(root)/target")
    #expect(mkfifo("\(root)/fifo", 0o644) == 0)
    let cases = [
      ("\(root)/link", "it is a symbolic link (to \(root)/target), not a regular file"),
      ("\(root)/fifo", "it is a FIFO (named pipe), not a regular file"),
      ("/dev/null", "it is a character device, not a regular file"),
    ]
    for (path, reason) in cases {
      let error = #expect(throws: WriteError.self) { try FileOutput(appendingTo: path) }
      #expect(error?.description.hasPrefix("could not write \(path): \(reason)") == true, "\(String(describing: error))")
    }
    #expect((try? String(contentsOfFile: "\(root)/target", encoding: .utf8)) == "keep")
    let log = try FileOutput(appendingTo: "\(root)/log")
    try log.write(Data("a line\n".utf8))
    try log.close()
    #expect((try? String(contentsOfFile: "\(root)/log", encoding: .utf8)) == "a line\n")
  }

  /// What a reader says of a file it cannot read uses the writers' words for what is there.
  @Test func readersNameWhatIsThereAsWritersDo() throws {
    let root = temporaryFolder()
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    #expect(mkfifo("\(root)/fifo", 0o644) == 0)
    try "x".write(toFile: "\(root)/file", atomically: true, encoding: .utf8)
    #expect(FileErrors.notARegularFile("\(root)/fifo") == "is not a regular file but a FIFO (named pipe)")
    #expect(FileErrors.notARegularFile("/dev/null") == "is not a regular file but a character device")
    #expect(FileErrors.notARegularFile(root) == "is a folder, not a file")
    #expect(FileErrors.notARegularFile("\(root)/file") == nil)
    let result = try pops(["evaluate", "\(root)/fifo", "--env", "CartPole-v0"])
    #expect(result.status != 0 && result.output.contains("fifo: is not a regular file but a FIFO (named pipe)"), "\(result.output)")
  }

  /// A path ending in `..` under a file (`FILE/x/../m.onnx`) is an error
  /// naming the file; the search for the part in the way once never ended.
  @Test func aPathThroughAFileWithDotDotIsNamed() throws {
    let root = temporaryFolder()
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try "a file".write(toFile: "\(root)/file", atomically: true, encoding: .utf8)
    let target = "\(root)/file/x/../m.onnx"
    let error = #expect(throws: WriteError.self) { try AtomicFile.write(Data("m".utf8), to: URL(fileURLWithPath: target)) }
    #expect(error?.description == "could not write \(target): \(root)/file is a file, not a folder", "\(String(describing: error))")
    #expect(FileErrors.notAFolder("\(root)/file/x/../..") == nil)
    #expect(FileErrors.notAFolder("/../..") == nil)
  }

  /// Through the CLI: a file-size limit (`ulimit -f`) fails the write part
  /// way, as a full disk does; a file where a folder should be fails it at once.
  @Test func aFailedWriteKeepsTheOldFileAndNamesTheReason() throws {
    let folder = try modelFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let target = "\(folder)/old.safetensors"
    try "the old model".write(toFile: target, atomically: true, encoding: .utf8)
    let log = "\(folder)/log.txt"
    FileManager.default.createFile(atPath: log, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", "ulimit -f 1 && exec \"$0\" \"$@\"", popsExecutable().path, "import", "\(folder)/m.safetensors", "--out", target]
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(output)")
    #expect(output.contains("could not write \(target): File too large"), "\(output)")
    #expect((try? String(contentsOfFile: target, encoding: .utf8)) == "the old model")
    #expect(!entries(folder).contains { $0.hasSuffix(".tmp") }, "\(entries(folder))")

    try "a file".write(toFile: "\(folder)/file", atomically: true, encoding: .utf8)
    let under = try pops(["import", "\(folder)/m.safetensors", "--out", "\(folder)/file/sub/m.safetensors"])
    #expect(
      under.status != 0 && under.output.contains("could not write \(folder)/file/sub/m.safetensors: \(folder)/file is a file, not a folder"),
      "\(under.output)")
  }
}
