import Foundation

/// What each cell of a study runs, where it writes, and what it waits for.
public struct SweepPlan: Sendable {
  public let study: Study
  /// The study's output folder; cells write `folder/cells/NAME/`.
  public let folder: URL

  public init(study: Study, folder: URL) {
    self.study = study
    self.folder = folder
  }

  public func output(of cell: SweepCell) -> URL {
    folder.appendingPathComponent("cells").appendingPathComponent(cell.name)
  }

  public func log(of cell: SweepCell) -> URL {
    folder.appendingPathComponent("cells").appendingPathComponent(cell.name + ".log")
  }

  /// The cell this one needs finished first: the full run that trains the
  /// shared teacher and finds distill-only's architecture.
  public func dependency(of cell: SweepCell) -> SweepCell? {
    guard cell.mode != .full, study.modes.contains(.full) else { return nil }
    if cell.mode == .distillOnly { return cell.fullCell }
    if case .shared = study.teacher { return cell.fullCell }
    return nil
  }

  /// The record a cell left, if any.
  public func record(of cell: SweepCell) -> PoPSRecord? {
    try? PoPSRecord.read(from: output(of: cell).appendingPathComponent("results.json"))
  }

  public func isFinished(_ cell: SweepCell) -> Bool { record(of: cell)?.status.isFinished ?? false }

  /// The `pops` arguments of `cell` (its dependency must be finished).
  public func arguments(of cell: SweepCell) throws -> [String] {
    var arguments: [String]
    let teacherFile: String?
    switch study.teacher {
    case .files(let files): teacherFile = files[cell.environment]
    case .shared:
      teacherFile = cell.mode == .full || !study.modes.contains(.full)
        ? nil : output(of: cell.fullCell).appendingPathComponent("teacher.safetensors").path
    }
    if let teacherFile {
      arguments = ["compress", "--teacher", teacherFile]
    } else {
      arguments = ["run"]
    }
    arguments += ["--env", cell.environment, "--seed", String(cell.seed), "--out", output(of: cell).path, "--mode", cell.mode.rawValue]
    if cell.mode == .distillOnly {
      guard let full = record(of: cell.fullCell), let final = full.final, !final.hidden.isEmpty else {
        throw ConfigError("\(cell.name): the full run \(cell.fullCell.name) has no final architecture to distil")
      }
      arguments += ["--hidden", final.hidden.map(String.init).joined(separator: ",")]
    }
    for assignment in study.overrides { arguments += ["--set", assignment] }
    return arguments
  }
}
