import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Human text for file-system errors (no NSCocoaError dumps).
public enum FileErrors {
  public static func reason(_ error: Error) -> String {
    if let write = error as? WriteError { return write.reason }
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      return describe(errno: Int32(underlying.code))
    }
    if nsError.domain == NSPOSIXErrorDomain { return describe(errno: Int32(nsError.code)) }
    switch CocoaError.Code(rawValue: nsError.code) {
    case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
    case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
    case .fileWriteFileExists: return "a file of that name exists"
    case .fileWriteOutOfSpace: return describe(errno: ENOSPC)
    case .fileWriteVolumeReadOnly: return describe(errno: EROFS)
    default: return nsError.localizedDescription
    }
  }

  /// The operating system's text for `errno` ("No space left on device").
  public static func describe(errno code: Int32) -> String { String(cString: strerror(code)) }
}

extension FileErrors {
  /// Why `path` cannot be read as a file, if it is a folder or not a
  /// regular file (a FIFO would block a read, a folder gives "error 256"):
  /// "is a folder, not a file", "is not a regular file but a FIFO (named pipe)".
  public static func notARegularFile(_ path: String) -> String? {
    guard let kind = kindOfNonRegular(atPath: path, followingLinks: true) else { return nil }  // reading it names the reason
    return kind == "a folder" ? "is a folder, not a file" : "is not a regular file but \(kind)"
  }

  /// Why no folder can be made or used at `folder`: "PATH is a file, not a
  /// folder" for the first part of the path (the folder itself or a parent)
  /// that exists and is not a folder; nil when that part is a folder. `.`
  /// and `..` are resolved by name (`FILE/x/..` is FILE), and the walk up
  /// drops one component a step, so it ends at `/`.
  public static func notAFolder(_ folder: String) -> String? {
    let absolute = folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
    var parts: [Substring] = []
    for part in absolute.split(separator: "/") where part != "." {
      if part == ".." { _ = parts.popLast() } else { parts.append(part) }
    }
    while true {
      let path = "/" + parts.joined(separator: "/")
      var isFolder: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
        guard !isFolder.boolValue else { return nil }
        return "\(path) is \(kindOfNonRegular(atPath: path, followingLinks: true) ?? "a file"), not a folder"
      }
      guard parts.popLast() != nil else { return nil }
    }
  }

  /// What is at `path` when it exists and is not a regular file: "a folder",
  /// "a FIFO (named pipe)", "a character device", "a symbolic link (to
  /// TARGET)"...; nil for a regular file or nothing. `followingLinks: false`
  /// looks at the name itself, so a link is named as one.
  public static func kindOfNonRegular(atPath path: String, followingLinks: Bool) -> String? {
    var info = stat()
    guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFDIR: return "a folder"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    case S_IFLNK:
      let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { " (to \($0))" } ?? ""
      return "a symbolic link\(target)"
    default: return "not a regular file"
    }
  }
}

/// A file pops could not write, named with the operating system's reason:
/// "could not write PATH: No space left on device". Every write of a file
/// (`AtomicFile`, `FileOutput`) fails with this error.
public struct WriteError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file as the user named it (not the temporary file beside it).
  public let path: String
  /// Why: the operating system's text, or what is in the way.
  public let reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  /// `error` (a Foundation or POSIX error, or a `WriteError` about another
  /// name such as the temporary file) as a failure to write `path`.
  public init(path: String, error: Error) {
    self.init(path: path, reason: FileErrors.reason(error))
  }

  /// The failure the last system call left in `errno`.
  public static func fromErrno(path: String) -> WriteError {
    WriteError(path: path, reason: FileErrors.describe(errno: errno))
  }

  public var description: String { "could not write \(path): \(reason)" }
}
