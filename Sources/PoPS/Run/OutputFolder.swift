import Foundation

/// Whether pops may write into an output folder that exists already. An
/// empty folder, or one pops wrote (it holds one of the command's marker
/// files), is fine; a folder of other files is refused, naming a few of
/// them, so pops never writes its results over files it did not make.
public enum OutputFolder {
  /// What marks a folder of `pops run`, `pops compress` or `pops sweep`: the
  /// lock every such run takes first, its record, or its teacher.
  public static let runMarkers = [RunLock.fileName, "results.json", PoPSRun.teacherFile]
  /// What marks a `pops sweep` study folder: its lock (since the study lock),
  /// the cells it ran, its summary or its Slurm scripts; a study made before
  /// the lock existed has no `.pops.lock` but is still the sweep's own.
  public static let sweepMarkers = [RunLock.fileName, "cells", "summary.json", "slurm"]
  /// What marks a `pops train` folder: files it writes when it starts or ends.
  public static let trainingMarkers = ["evaluations.jsonl", "training.json", "checkpoint.safetensors"]

  /// Throws a `ConfigError` when `folder` is something other than a folder,
  /// or a folder that holds files but none of `markers`. `writes` says what
  /// pops would put there. A folder that does not exist is fine (pops makes
  /// it). The commands check before they write; the library's `PoPSRun`
  /// leaves the choice of folder to its caller.
  public static func check(_ folder: URL, markers: [String], writes: String) throws {
    let path = folder.path
    guard FileManager.default.fileExists(atPath: path) else { return }
    try requireFolder(folder)
    // An unreadable folder is left to the write that follows, which names the reason.
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path), !entries.isEmpty else { return }
    if entries.contains(where: markers.contains) { return }
    let sorted = entries.sorted()
    let shown = sorted.prefix(3).joined(separator: ", ") + (sorted.count > 3 ? " and \(sorted.count - 3) more" : "")
    throw ConfigError(
      "\(path) is not empty and holds no pops output (it has \(shown), and no \(markers.joined(separator: " or "))); pops would write \(writes) there, over files of the same names: choose a new or empty folder")
  }

  /// Throws a `ConfigError` naming what stands where `folder` or one of
  /// its parents should be a folder (a file, a FIFO, a device...).
  public static func requireFolder(_ folder: URL) throws {
    if let problem = FileErrors.notAFolder(folder.path) { throw ConfigError(problem) }
  }
}
