import Foundation
import PoPS
import Testing
import PoPSCore
#if canImport(Glibc)
import Glibc
#endif

/// The built `pops` executable (a sibling of the test bundle).
func popsExecutable() -> URL {
  var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: url.appendingPathComponent("pops").path) && url.path != "/" {
    url.deleteLastPathComponent()
  }
  return url.appendingPathComponent("pops")
}

/// Runs the built `pops` executable.
func pops(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
  let process = Process()
  process.executableURL = popsExecutable()
  process.arguments = arguments
  if !environment.isEmpty {
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  }
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  // Read until EOF, retrying reads a signal interrupted (EINTR), which
  // `readDataToEndOfFile` would turn into a crash of the test runner.
  var data = Data()
  var interruptions = 0
  while true {
    do {
      guard let chunk = try pipe.fileHandleForReading.read(upToCount: 1 << 16), !chunk.isEmpty else { break }
      data.append(chunk)
    } catch {
      interruptions += 1
      if interruptions > 100 { throw error }
    }
  }
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

func temporaryFolder() -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent("pops-cli-\(UUID().uuidString)").path
}

/// A `pops` process started in the background, its output in a file, with
/// a deadline on everything the test waits for (a hang fails the test, it
/// does not stall the run).
final class PopsProcess {
  let process = Process()
  let outputFile: String
  var pid: Int32 { process.processIdentifier }

  init(_ arguments: [String], in folder: String, environment: [String: String]? = nil) throws {
    outputFile = "\(folder)/pops-\(UUID().uuidString).out"
    FileManager.default.createFile(atPath: outputFile, contents: nil)
    process.executableURL = popsExecutable()
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    if let environment { process.environment = environment }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try handle.close()
  }

  var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }

  /// The pids of this process's children once there are `count` (at most a
  /// minute; fewer if they did not come).
  func children(atLeast count: Int) -> [Int32] {
    var found: [Int32] = []
    for _ in 0..<1200 {
      let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
      found = text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
      if found.count >= count || !process.isRunning { break }
      usleep(50_000)
    }
    return found
  }

  /// Waits for the end (at most two minutes, then SIGKILL); the exit status,
  /// or 128 + the signal that ended it.
  func finish() -> Int32 {
    for _ in 0..<2400 where process.isRunning { usleep(50_000) }
    if process.isRunning {
      Issue.record("pops \(process.arguments ?? []) did not end within two minutes; killed")
      kill(pid, SIGKILL)
    }
    process.waitUntilExit()
    return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
  }
}

extension Tag {
  /// Tests that start a Ray head (`make deps-ray` installs ray in the bridge's venv).
  @Tag static var ray: Self
}

/// The repository's root folder (where Package.swift is).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// Runs the tests' Python (`.venv-gym/bin/python`, which `make test` makes)
/// with `arguments`, in `folder` when given, and returns its standard output
/// and error; a failed requirement showing them when it does not exit 0.
func runTestPython(_ arguments: [String], in folder: URL? = nil) throws -> Data {
  let process = Process()
  process.executableURL = repositoryRoot.appendingPathComponent(".venv-gym/bin/python")
  process.arguments = arguments
  if let folder { process.currentDirectoryURL = folder }
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let output = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  try #require(process.terminationStatus == 0, "\(String(decoding: output, as: UTF8.self))")
  return output
}
