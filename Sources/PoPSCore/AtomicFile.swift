import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so a reader never sees a half-written one: the bytes go to
/// a temporary file beside the target, which is then renamed over it. A
/// failure (a full disk, a read-only folder, something in the way) throws a
/// `WriteError` naming the target and the reason, removes the temporary
/// file and leaves the old file as it was.
public enum AtomicFile {
  /// Writes `data` to `url`.
  public static func write(_ data: Data, to url: URL) throws {
    try write(to: url) { try $0.write(data) }
  }

  /// Writes what `body` gives the output to `url`; `synchronize` flushes it
  /// to the disk before the rename (checkpoints a crash must not lose).
  public static func write(to url: URL, synchronize: Bool = false, _ body: (FileOutput) throws -> Void) throws {
    let path = url.path
    try checkTarget(path)
    let directory = url.deletingLastPathComponent()
    try makeFolder(directory, for: path)
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
    let output = try FileOutput(creating: temporary, named: path)
    do {
      try body(output)
      if synchronize { try output.synchronize() }
      try output.close()
      guard rename(temporary, path) == 0 else { throw WriteError.fromErrno(path: path) }
    } catch {
      try? output.close()
      unlink(temporary)
      throw error
    }
  }

  /// Refuses a target that exists and is not a regular file: renaming over
  /// a device, FIFO, socket or symbolic link (`/dev/stdout` is one) would
  /// replace it with a plain file, and a folder cannot be replaced.
  public static func checkTarget(_ path: String) throws {
    if let kind = FileErrors.kindOfNonRegular(atPath: path, followingLinks: false) {
      throw WriteError(
        path: path,
        reason: "it is \(kind), not a regular file; pops replaces only regular files (it renames a new file over the old one)")
    }
  }

  /// Makes the folder a file goes into; a failure names the file and, when
  /// a file stands where a folder should, that file.
  static func makeFolder(_ directory: URL, for path: String) throws {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      // A file where a folder should be is the usual cause.
      if let obstacle = FileErrors.notAFolder(directory.path) { throw WriteError(path: path, reason: obstacle) }
      throw WriteError(path: path, error: error)
    }
  }
}

/// A file open for writing whose every failure is a `WriteError` naming the
/// file and the operating system's reason (Foundation's `FileHandle.write(_:)`
/// traps on a full disk instead).
public final class FileOutput {
  /// The file as the user knows it (for a temporary file: its target).
  public let path: String
  private var descriptor: Int32

  /// Creates `file`, which must not exist; failures name `path`.
  init(creating file: String, named path: String) throws {
    self.path = path
    descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else { throw WriteError.fromErrno(path: path) }
  }

  /// Opens `path` to append to it (logs, a lock's pid), creating it if
  /// needed; `readable` opens it for reading too. Only a regular file is
  /// opened, never through a symbolic link: a link planted in an output
  /// folder (`.pops.lock -> ~/.bashrc`) would have pops write to the file it
  /// points to, and a FIFO would block. Anything else is a `WriteError`
  /// naming what is there.
  public init(appendingTo path: String, readable: Bool = false) throws {
    self.path = path
    let access = readable ? O_RDWR : O_WRONLY
    // O_NONBLOCK: a FIFO opens (or fails) at once instead of waiting for a reader.
    descriptor = open(path, access | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      let failure = WriteError.fromErrno(path: path)
      throw FileOutput.notRegular(path) ?? failure
    }
    var info = stat()
    guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      let failure = FileOutput.notRegular(path) ?? WriteError(path: path, reason: "it is not a regular file")
      try? close()
      throw failure
    }
    _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
  }

  /// Writes to `descriptor`, an open file it then owns (and closes);
  /// failures name `path`.
  public init(descriptor: Int32, named path: String) {
    self.path = path
    self.descriptor = descriptor
  }

  /// The open file's descriptor (for `flock`, or a child's output); -1 once closed.
  public var fileDescriptor: Int32 { descriptor }

  /// The refusal of what is at `path` when it is not a regular file.
  static func notRegular(_ path: String) -> WriteError? {
    FileErrors.kindOfNonRegular(atPath: path, followingLinks: false).map {
      WriteError(path: path, reason: "it is \($0), not a regular file; pops writes only regular files, never through a link")
    }
  }

  deinit { try? close() }

  public func write(_ data: Data) throws {
    try data.withUnsafeBytes { try write($0) }
  }

  /// Writes all of `bytes`, continuing after short writes and interruptions.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard descriptor >= 0 else { throw WriteError(path: path, reason: "the file is closed") }
    var offset = 0
    while offset < bytes.count, let base = bytes.baseAddress {
      let written = systemWrite(descriptor, base + offset, min(bytes.count - offset, 1 << 30))
      if written < 0 {
        if errno == EINTR { continue }
        throw WriteError.fromErrno(path: path)
      }
      guard written > 0 else { throw WriteError(path: path, reason: "the device took no more bytes") }
      offset += written
    }
  }

  /// Flushes what was written to the disk.
  public func synchronize() throws {
    guard descriptor >= 0 else { return }
    if fsync(descriptor) != 0 && errno != EINVAL { throw WriteError.fromErrno(path: path) }
  }

  /// Closes the file; a failure (some file systems report a full disk only
  /// here) is thrown. Closing twice does nothing.
  public func close() throws {
    guard descriptor >= 0 else { return }
    let result = systemClose(descriptor)
    descriptor = -1
    if result != 0 && errno != EINTR { throw WriteError.fromErrno(path: path) }
  }
}

// The C library's write and close, which FileOutput's methods shadow.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
  Glibc.write(descriptor, bytes, count)
  #else
  Darwin.write(descriptor, bytes, count)
  #endif
}

private func systemClose(_ descriptor: Int32) -> Int32 {
  #if canImport(Glibc)
  Glibc.close(descriptor)
  #else
  Darwin.close(descriptor)
  #endif
}
