import Foundation
import PoPS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A run's output folder on its own: one open at a time (a second is refused
/// naming the holder's pid), a record of other settings is refused for
/// resume naming what differs, and a fresh folder opens empty.
struct RunFolderTests {
  /// The record a run of `config` (seed 7, full mode, CartPole-v0) starts with.
  func record(_ config: PoPSConfig, seed: UInt64 = 7) -> PoPSRecord {
    PoPSRecord(mode: .full, environment: "CartPole-v0", seed: seed, config: config)
  }

  @Test func aSecondOpenOfTheFolderIsRefusedNamingTheHolder() throws {
    let url = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: url) }
    var first: RunFolder? = try RunFolder(url)
    let refused = #expect(throws: ConfigError.self) { try RunFolder(url) }
    #expect(
      refused?.description == "\(url.path) is in use by another pops run (pid \(getpid())); wait for it, stop it, or choose another output folder",
      "\(String(describing: refused))")
    let lockFile = url.appendingPathComponent(RunLock.fileName)
    #expect(try String(contentsOf: lockFile, encoding: .utf8) == "\(getpid())\n", "the refused open leaves the holder's pid")
    _ = first
    first = nil  // released with the last copy: the folder opens again
    #expect(throws: Never.self) { _ = try RunFolder(url) }
  }

  @Test func aRecordOfOtherSettingsIsRefusedForResumeNamingTheField() throws {
    let url = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: url) }
    let folder = try RunFolder(url)
    let config = try tinyConfig()
    try folder.write(record(config))
    var other = config
    other.acceptanceEpisodes = config.acceptanceEpisodes + 5
    let field = #expect(throws: ConfigError.self) { try folder.recordToContinue(record(other)) }
    #expect(
      field?.description == "\(url.path) holds a run with other settings (mode full, env CartPole-v0, seed 7; acceptance_episodes is \(config.acceptanceEpisodes) there, \(other.acceptanceEpisodes) here); choose another output folder or delete it",
      "\(String(describing: field))")
    // Another seed under the same config names the recorded seed and no field.
    let seed = #expect(throws: ConfigError.self) { try folder.recordToContinue(record(config, seed: 8)) }
    #expect(
      seed?.description == "\(url.path) holds a run with other settings (mode full, env CartPole-v0, seed 7); choose another output folder or delete it",
      "\(String(describing: seed))")
    // The same settings continue the recorded run.
    var recorded = record(config)
    recorded.steps = []
    recorded.wallSeconds = 12.5
    try folder.write(recorded)
    let continued = try #require(try folder.recordToContinue(record(config)))
    #expect(continued.wallSeconds == 12.5 && continued.seed == 7 && continued.config == config)
  }

  @Test func aFreshFolderOpensWithNoRecordAndIsRemovedIfAbandoned() throws {
    let url = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(!FileManager.default.fileExists(atPath: url.path))
    let folder = try RunFolder(url)
    #expect(folder.url == url && folder.file("results.json") == url.appendingPathComponent("results.json"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: url.path) == [RunLock.fileName], "only the lock is written")
    #expect(try folder.recordToContinue(record(try tinyConfig())) == nil)
    folder.abandon()
    #expect(!FileManager.default.fileExists(atPath: url.path), "a failed start leaves no folder it made")
  }
}
