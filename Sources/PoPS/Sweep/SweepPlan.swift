import Foundation
import PoPSCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

  /// Makes `folder/cells`, refusing one that is a symbolic link (the logs
  /// and the cells' output would be written wherever it points).
  public func makeCellsFolder() throws {
    let cells = folder.appendingPathComponent("cells")
    if (try? FileManager.default.destinationOfSymbolicLink(atPath: cells.path)) != nil {
      throw ConfigError("\(cells.path) is a symbolic link; pops writes the cells only into a real folder inside --out")
    }
    do {
      try FileManager.default.createDirectory(at: cells, withIntermediateDirectories: true)
    } catch {
      throw ConfigError("cannot create \(cells.path): \(FileErrors.reason(error))")
    }
  }

  /// Opens `cell`'s log for appending (creating it), never through a
  /// symbolic link: one planted at `cells/NAME.log` would make the log
  /// overwrite the file it points to, outside the output folder. Returns
  /// the descriptor (close-on-exec; the caller closes it). Anything but a
  /// regular file there (a FIFO would block the sweep) is refused too.
  public func openLog(of cell: SweepCell) throws -> Int32 {
    try makeCellsFolder()
    let log = log(of: cell)
    let fd = open(log.path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
    guard fd >= 0 else {
      let reason = errno == ELOOP ? "it is a symbolic link, which pops does not follow" : String(cString: strerror(errno))
      throw ConfigError("cannot write the log \(log.path): \(reason)")
    }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      close(fd)
      throw ConfigError("cannot write the log \(log.path): it is not a regular file")
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return fd
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
