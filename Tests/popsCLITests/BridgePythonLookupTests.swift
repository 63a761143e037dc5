import Foundation
import PoPSEnvironments
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The bridge's Python never comes from the folder pops is started in
/// (issue 26): a `.venv-gym/bin/python` (or a `python3` reached through a
/// relative PATH entry) planted in a downloaded folder is not run.
struct BridgePythonLookupTests {
  /// The lookup itself, with its inputs given: which Python it chooses.
  /// The relative PATH entries here lead to a folder with a `python3` (from
  /// wherever the tests run), so a lookup that took them would find it.
  @Test func theLookupChoosesOnlyFromAbsoluteFoldersInItsOrder() throws {
    let root = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let script = "#!/bin/sh\nexit 1\n"
    for path in ["\(root)/planted/python3", "\(root)/planted/.venv-gym/bin/python", "\(root)/bin/python3", "\(root)/own/python3"] {
      try FileManager.default.createDirectory(
        atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
      try script.write(toFile: path, atomically: true, encoding: .utf8)
      chmod(path, 0o755)
    }
    // "../../..(up to /)/ROOT/planted": relative, and naming the planted folder.
    let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
    let relative = String(repeating: "../", count: depth) + root.dropFirst() + "/planted"
    try #require(FileManager.default.isExecutableFile(atPath: relative + "/python3"))
    let path = "\(relative)::.:\(root)/bin"
    #expect(try GymEnvironment.python(environment: ["PATH": path], searchFolders: []).path == "\(root)/bin/python3")
    // A `.venv-gym` in a search folder (beside the executable) comes before PATH; POPS_PYTHON before both.
    let planted = [URL(fileURLWithPath: "\(root)/planted")]
    #expect(try GymEnvironment.python(environment: ["PATH": path], searchFolders: planted).path == "\(root)/planted/.venv-gym/bin/python")
    let own = ["PATH": path, "POPS_PYTHON": "\(root)/own/python3"]
    #expect(try GymEnvironment.python(environment: own, searchFolders: planted).path == "\(root)/own/python3")
    // Only relative entries: no Python, not the planted one.
    #expect(throws: GymBridgeError.self) { _ = try GymEnvironment.python(environment: ["PATH": "\(relative):.:"], searchFolders: []) }
  }

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
