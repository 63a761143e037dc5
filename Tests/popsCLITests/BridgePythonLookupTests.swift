import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The bridge's Python never comes from the folder pops is started in
/// (issue 26): a `.venv-gym/bin/python` (or a `python3` reached through a
/// relative PATH entry) planted in a downloaded folder is not run.
struct BridgePythonLookupTests {
  @Test func aPythonPlantedInTheCurrentFolderIsNotRun() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let marker = "\(folder)/planted-python-ran"
    let script = "#!/bin/sh\ntouch '\(marker)'\nexit 1\n"
    try FileManager.default.createDirectory(atPath: "\(folder)/.venv-gym/bin", withIntermediateDirectories: true)
    for path in ["\(folder)/.venv-gym/bin/python", "\(folder)/python3"] {
      try script.write(toFile: path, atomically: true, encoding: .utf8)
      chmod(path, 0o755)
    }
    var environment = ProcessInfo.processInfo.environment
    environment["POPS_PYTHON"] = nil
    // An empty and a relative PATH entry both name the current folder.
    environment["PATH"] = ":.:" + (environment["PATH"] ?? "/usr/bin")
    // `config show` of a gym id starts the bridge to read the id's spec.
    let run = try PopsProcess(["config", "show", "gym:CartPole-v1"], in: folder, environment: environment)
    _ = run.finish()
    #expect(!FileManager.default.fileExists(atPath: marker), "pops ran a Python from the current folder: \(run.output)")
  }
}
