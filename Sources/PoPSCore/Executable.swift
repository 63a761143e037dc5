import Foundation

/// Where the running pops came from: found in one place for the Gymnasium
/// bridge's Python, the commit in a run's record and the sweep's workers.
public enum Executable {
  /// The running executable (via /proc/self/exe, so a `pops` found on PATH
  /// is the installed file, not the bare name in argv[0]).
  public static var current: URL {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      return URL(fileURLWithPath: path)
    }
    return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().standardizedFileURL.absoluteURL
  }

  /// The checkout pops was built from (this file's package root), where
  /// `make deps-gym` makes `.venv-gym`: an installed copy still finds it.
  public static var buildCheckout: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  /// Folders to look in for files that live beside pops (the bridge's
  /// `.venv-gym`): the executable's folder and those above it, the build
  /// checkout. Not the current folder: what pops runs must not depend on
  /// where it is started (a `.venv-gym/bin/python` planted in a downloaded
  /// folder would run there).
  public static var searchFolders: [URL] {
    var folders: [URL] = []
    var dir = current.deletingLastPathComponent()
    for _ in 0..<5 {
      folders.append(dir)
      dir = dir.deletingLastPathComponent()
    }
    folders.append(buildCheckout)
    return folders
  }
}
