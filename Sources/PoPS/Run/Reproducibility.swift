import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a reader needs to rerun a run exactly (issue 15), recorded in
/// results.json and the report each time a run starts or resumes: the
/// command line, pops' version and, when built from a checkout, its git
/// commit, the date, the CPU, kernel path and thread count (results depend
/// on it, docs/reliability.md), the Swift version, the seed and the hash of
/// the resolved configuration (results.json holds the configuration itself).
public struct Reproducibility: Codable, Sendable, Equatable {
  public var command: String
  public var popsVersion: String
  public var gitCommit: String?
  public var date: String
  public var cpu: String
  public var kernels: String
  public var threads: Int
  public var swiftVersion: String
  public var seed: UInt64
  public var configSha256: String

  /// The facts of this process for a run of `config` with `seed`.
  public static func current(config: PoPSConfig, seed: UInt64) -> Reproducibility {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let configData = (try? encoder.encode(config)) ?? Data()
    let formatter = ISO8601DateFormatter()
    return Reproducibility(
      command: CommandLine.arguments.map(quoted).joined(separator: " "), popsVersion: PoPSVersion.current,
      gitCommit: gitCommit(), date: formatter.string(from: Date()), cpu: cpuModel(),
      kernels: InstructionSet.active.description, threads: Compute.maxThreads, swiftVersion: swiftVersion,
      seed: seed, configSha256: SHA256.hex(configData))
  }

  static func quoted(_ argument: String) -> String {
    argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) } ? argument
      : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// The Swift compiler that built pops.
  static var swiftVersion: String {
    #if compiler(>=6.3)
      return "6.3 or later"
    #elseif compiler(>=6.2)
      return "6.2"
    #elseif compiler(>=6.1)
      return "6.1"
    #else
      return "6.0"
    #endif
  }

  /// The CPU's model name (Linux: /proc/cpuinfo), else "unknown".
  static func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
    let name = line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    return "\(name ?? "unknown"), \(cores) cores"
  }

  /// The commit checked out in the folder this executable was built in (found
  /// by walking up from the executable to a `.git`, read when the run starts:
  /// a later checkout without a rebuild would show its own commit), or nil.
  static func gitCommit() -> String? {
    // The checkout above the executable, else the one it was built from.
    for start in [Executable.current.deletingLastPathComponent(), Executable.buildCheckout] {
      if let commit = commit(searchingUpFrom: start) { return commit }
    }
    return nil
  }

  /// The commit checked out in `start` or a folder above it.
  static func commit(searchingUpFrom start: URL) -> String? {
    var folder = start
    for _ in 0..<8 {
      let git = folder.appendingPathComponent(".git")
      if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
        let text = head.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("ref: ") else { return text.count == 40 ? text : nil }
        let ref = String(text.dropFirst(5))
        if let commit = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
          return commit.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // A packed ref.
        let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
        return packed.split(separator: "\n").first { $0.hasSuffix(" " + ref) }.map { String($0.prefix(40)) }
      }
      folder.deleteLastPathComponent()
    }
    return nil
  }
}
