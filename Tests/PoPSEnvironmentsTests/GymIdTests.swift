import Foundation
import PoPSEnvironments
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Ids of the Gymnasium bridge come from model files and studies, not only
/// from the command line (issue 26): `MODULE:ENV`, which makes Gymnasium
/// import MODULE, is refused by pops before any Python starts and by the
/// worker; modules are imported only when the user lists them in
/// POPS_GYM_MODULES.
struct GymIdTests {
  /// A folder with `marker`'s path and a stand-in Python that creates it.
  func plantedPython() throws -> (folder: String, python: URL, marker: String) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-gymid-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let marker = "\(folder)/python-ran"
    let python = "\(folder)/python"
    try "#!/bin/sh\ntouch '\(marker)'\nexit 1\n".write(toFile: python, atomically: true, encoding: .utf8)
    chmod(python, 0o755)
    return (folder, URL(fileURLWithPath: python), marker)
  }

  @Test func anIdWithAModulePartIsRefusedBeforeAnyPythonStarts() throws {
    let planted = try plantedPython()
    defer { try? FileManager.default.removeItem(atPath: planted.folder) }
    for id in ["os:CartPole-v1", "my_envs.evil:Evil-v0", "ALE/Pong-v5:x", "CartPole-v1?actions=0:1"] {
      do {
        _ = try GymEnvironment(id: id, python: planted.python)
        Issue.record("gym:\(id) was accepted")
      } catch {
        #expect("\(error)".contains("gym:\(id): an environment id with a module part ('MODULE:ENV') is refused"), "\(error)")
        #expect("\(error)".contains("POPS_GYM_MODULES"), "\(error)")
      }
    }
    #expect(!FileManager.default.fileExists(atPath: planted.marker), "a Python was started for a refused id")
    // Through the registry, as `evaluate` starts a model's recorded environment.
    #expect(throws: GymBridgeError.self) { _ = try Environments.make("gym:os:CartPole-v1") }
    #expect(throws: GymBridgeError.self) { _ = try Environments.spec(for: "gym:Cart\nPole-v1") }
  }

  /// A control character, C1 (U+0080-U+009F) included, is refused before
  /// any Python starts, with the same check the Slurm scripts use.
  @Test func anIdWithAControlCharacterIsRefusedBeforeAnyPythonStarts() throws {
    let planted = try plantedPython()
    defer { try? FileManager.default.removeItem(atPath: planted.folder) }
    for (id, code) in [("Cart\nPole-v1", "U+000A"), ("Cart\u{7F}Pole-v1", "U+007F"), ("Cart\u{85}Pole-v1", "U+0085"), ("Cart\u{9B}Pole-v1", "U+009B")] {
      do {
        _ = try GymEnvironment(id: id, python: planted.python)
        Issue.record("gym:\(id.debugDescription) was accepted")
      } catch {
        #expect("\(error)".contains("the id holds a control character (\(code))"), "\(error)")
      }
    }
    #expect(!FileManager.default.fileExists(atPath: planted.marker), "a Python was started for an id with a control character")
  }

  /// The worker itself, started by hand as pops would with a forged id: it
  /// answers ERRR and imports nothing (the module here would leave a marker).
  @Test func theWorkerRefusesAModulePartAndImportsOnlyPopsGymModules() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-gymid-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let marker = "\(folder)/imported"
    try "open(\(String(reflecting: marker)), 'w').close()\n".write(toFile: "\(folder)/planted_module.py", atomically: true, encoding: .utf8)
    func worker(_ id: String, modules: String?) throws -> String {
      let process = Process()
      process.executableURL = try GymEnvironment.python()
      let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/PoPSEnvironments/gym_worker.py")
      process.arguments = [script.path, id]
      var environment = ProcessInfo.processInfo.environment
      environment["PYTHONPATH"] = folder
      environment["POPS_GYM_MODULES"] = modules
      process.environment = environment
      let output = Pipe()
      process.standardOutput = output
      process.standardError = FileHandle.nullDevice
      process.standardInput = FileHandle.nullDevice
      try process.run()
      let data = output.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      return String(decoding: data, as: UTF8.self)
    }
    let refused = try worker("planted_module:CartPole-v1", modules: nil)
    #expect(refused.hasPrefix("ERRR") && refused.contains("has a module part"), "\(refused)")
    #expect(!FileManager.default.fileExists(atPath: marker), "the worker imported the module the id named")
    // The user's own list is imported, then the id made.
    let listed = try worker("CartPole-v1", modules: "planted_module")
    #expect(listed.hasPrefix("POPS"), "\(listed)")
    #expect(FileManager.default.fileExists(atPath: marker), "POPS_GYM_MODULES was not imported")
    let malformed = try worker("CartPole-v1", modules: "os; import x")
    #expect(malformed.hasPrefix("ERRR") && malformed.contains("is not a module name"), "\(malformed)")
  }
}
