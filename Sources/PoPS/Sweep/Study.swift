import Foundation
import Yams

/// A study for `pops sweep`: environments x seeds x modes, each cell one
/// `pops run`/`pops compress` (docs/sweep.md). Unknown fields are errors.
///
///     environments: [CartPole-v0, LunarLander-v3]
///     seeds: [0, 1, 2]
///     modes: [full, prune-only, distill-only]
///     teacher: shared
///     set: ["pruning.end_step=20000"]
public struct Study: Equatable, Sendable {
  public var environments: [String]
  public var seeds: [UInt64]
  public var modes: [PoPSMode]
  /// Where each environment's teacher comes from.
  public var teacher: TeacherSource
  /// Overrides for every cell, in `--set` syntax.
  public var overrides: [String]

  public enum TeacherSource: Equatable, Sendable {
    /// One teacher per environment and seed, trained by the `full` cell (or,
    /// without a full cell, by the first cell) and reused by the others.
    case shared
    /// A trained teacher file per environment.
    case files([String: String])
  }

  public static let fields: Set<String> = ["environments", "seeds", "modes", "teacher", "set"]

  /// Parses and checks a study; errors name `source` and the field.
  public init(yaml text: String, source: String) throws {
    func fail(_ problem: String) -> ConfigError { ConfigError("\(source): \(problem)") }
    let parsed: Any?
    do { parsed = try Yams.load(yaml: text) } catch { throw fail("not valid YAML (\(error))") }
    guard let root = parsed as? [String: Any] else { throw fail("expected a mapping of \(Self.fields.sorted().joined(separator: ", "))") }
    if let unknown = root.keys.sorted().first(where: { !Self.fields.contains($0) }) {
      throw fail("unknown field '\(unknown)' (known: \(Self.fields.sorted().joined(separator: ", ")))")
    }
    guard let environments = root["environments"] as? [String], !environments.isEmpty,
      environments.allSatisfy({ !$0.isEmpty })
    else { throw fail("'environments' must be a non-empty list of environment ids") }
    guard let seedValues = root["seeds"] as? [Any], !seedValues.isEmpty else {
      throw fail("'seeds' must be a non-empty list of non-negative integers")
    }
    var seeds: [UInt64] = []
    for value in seedValues {
      guard let seed = value as? Int, seed >= 0 else { throw fail("'seeds' must be non-negative integers, got '\(value)'") }
      seeds.append(UInt64(seed))
    }
    let modeNames = root["modes"] as? [String] ?? [PoPSMode.full.rawValue]
    var modes: [PoPSMode] = []
    for name in modeNames {
      guard let mode = PoPSMode(rawValue: name) else {
        throw fail("'modes' has '\(name)'; the modes are \(PoPSMode.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      if !modes.contains(mode) { modes.append(mode) }
    }
    if modes.isEmpty { throw fail("'modes' must not be empty") }
    if modes.contains(.distillOnly) && !modes.contains(.full) {
      throw fail("distill-only takes the architecture the full run found for the same environment and seed: add 'full' to 'modes'")
    }
    var teacher = TeacherSource.shared
    switch root["teacher"] {
    case nil: break
    case let text as String where text == "shared": break
    case let files as [String: String]:
      if let missing = environments.first(where: { files[$0] == nil }) { throw fail("'teacher' names no file for \(missing)") }
      teacher = .files(files)
    default:
      throw fail("'teacher' must be 'shared' or a mapping from environment id to a teacher file")
    }
    let overrides = root["set"] as? [String] ?? []
    if root["set"] != nil && root["set"] as? [String] == nil { throw fail("'set' must be a list of FIELD=VALUE strings") }
    if Set(seeds).count != seeds.count { throw fail("'seeds' lists a seed twice") }
    if Set(environments).count != environments.count { throw fail("'environments' lists an environment twice") }
    self.environments = environments
    self.seeds = seeds
    self.modes = modes
    self.teacher = teacher
    self.overrides = overrides
  }

  /// Every cell, full runs first (the others take their teacher or architecture from them).
  public var cells: [SweepCell] {
    let order: [PoPSMode] = [.full, .pruneOnly, .distillOnly].filter(modes.contains)
    return order.flatMap { mode in
      environments.flatMap { env in seeds.map { SweepCell(environment: env, mode: mode, seed: $0) } }
    }
  }
}

/// One run of a study.
public struct SweepCell: Hashable, Sendable, Codable {
  public var environment: String
  public var mode: PoPSMode
  public var seed: UInt64

  public init(environment: String, mode: PoPSMode, seed: UInt64) {
    self.environment = environment
    self.mode = mode
    self.seed = seed
  }

  /// The cell's folder name, ENV__MODE__SEED, with characters a path
  /// cannot hold (`gym:ALE/Pong-v5?actions=1,2,3`) replaced by '_'.
  public var name: String {
    let safe = String(environment.map { $0.isLetter || $0.isNumber || "-._".contains($0) ? $0 : "_" })
    return "\(safe)__\(mode.rawValue)__\(seed)"
  }

  /// The full cell of the same environment and seed (teacher and architecture source).
  public var fullCell: SweepCell { SweepCell(environment: environment, mode: .full, seed: seed) }
}
