import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run per output folder: an exclusive `flock` on `FOLDER/.pops.lock`,
/// held while the run is open and released by the kernel when the process
/// ends, however it ends (so a killed run never leaves a stale lock). The
/// file holds the owner's pid for the message a second run gets.
public final class RunLock {
  public static let fileName = ".pops.lock"
  public let folder: URL
  /// The lock file, open while the lock is held (closing it releases the lock).
  private let file: FileOutput
  /// Whether this lock made the folder (a failed start then removes it).
  private let createdFolder: Bool

  /// Takes the folder's lock, creating the folder if needed. (The commands
  /// refuse a folder of other files first: `OutputFolder.check`.) The lock
  /// file must be a regular file: a symbolic link there is refused, never
  /// followed, so a downloaded folder cannot make pops write over the file
  /// it points to.
  public init(folder: URL) throws {
    self.folder = folder
    try OutputFolder.requireFolder(folder)
    let existed = FileManager.default.fileExists(atPath: folder.path)
    do {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    } catch {
      throw ConfigError("cannot create the output folder \(folder.path): \(FileErrors.reason(error))")
    }
    createdFolder = !existed
    let path = folder.appendingPathComponent(Self.fileName).path
    file = try FileOutput(appendingTo: path, readable: true)
    let fd = file.fileDescriptor
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      var buffer = [UInt8](repeating: 0, count: 32)
      let count = pread(fd, &buffer, 31, 0)
      let owner = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
      throw ConfigError(
        "\(folder.path) is in use by another pops run (pid \(owner)); wait for it, stop it, or choose another output folder")
    }
    // The file is opened for appending: after the truncation the pid is its only line.
    _ = ftruncate(fd, 0)
    try? file.write(Data("\(getpid())\n".utf8))
  }

  /// For a start that failed: removes the lock file, and the folder too if
  /// this lock created it and nothing else was written there.
  public func abandon() {
    try? FileManager.default.removeItem(at: folder.appendingPathComponent(Self.fileName))
    if createdFolder, let left = try? FileManager.default.contentsOfDirectory(atPath: folder.path), left.isEmpty {
      try? FileManager.default.removeItem(at: folder)
    }
  }
}

