import Foundation
import PoPSCore

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

  /// Refuses `url` when it is a symbolic link: the study folder's own
  /// parts (`cells`, `cells/NAME`, `slurm`) are written only as real
  /// folders inside it, never wherever a link planted there points. The
  /// error names the link and its target; `holds` says what would go there.
  public static func refuseLink(_ url: URL, holds: String) throws {
    let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
    guard type == .typeSymbolicLink else { return }
    let kind = FileErrors.kindOfNonRegular(atPath: url.path, followingLinks: false) ?? "a symbolic link"
    throw ConfigError("\(url.path) is \(kind); pops writes \(holds) only into a real folder inside --out, never through a link")
  }

  /// Makes `folder/cells`, refusing one that is a symbolic link (the logs
  /// and the cells' output would be written wherever it points).
  public func makeCellsFolder() throws {
    let cells = folder.appendingPathComponent("cells")
    try Self.refuseLink(cells, holds: "the cells")
    do {
      try FileManager.default.createDirectory(at: cells, withIntermediateDirectories: true)
    } catch {
      throw ConfigError("cannot create \(cells.path): \(FileErrors.reason(error))")
    }
  }

  /// Refuses a cell whose folder, `cells/NAME`, is a symbolic link: its run
  /// would write its results, models and logs wherever the link points.
  public func checkCellFolder(of cell: SweepCell) throws {
    try Self.refuseLink(output(of: cell), holds: "a cell's run")
  }

  /// Opens `cell`'s log for appending (creating it) with `FileOutput`,
  /// which opens only a regular file and never through a symbolic link: one
  /// planted at `cells/NAME.log` would make the log overwrite the file it
  /// points to, outside the output folder, and a FIFO would block the sweep.
  /// Failures are `WriteError`s: "could not write LOG: REASON".
  public func openLog(of cell: SweepCell) throws -> FileOutput {
    try makeCellsFolder()
    return try FileOutput(appendingTo: log(of: cell).path)
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
