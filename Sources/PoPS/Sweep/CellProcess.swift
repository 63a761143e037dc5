import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One cell's `pops` child process. It starts in a process group of its
/// own, so a Ctrl-C at the terminal reaches only the sweep, which passes it
/// on once (a cell that got it twice, from the terminal and from the sweep,
/// would stop at once instead of at its stage checkpoint). The sweep waits
/// for it with `poll()`/`wait()` and stops it with `send(_:)`.
///
/// Being in a group of its own, a cell is not reached by what ends the
/// sweep at once (a second Ctrl-C, SIGQUIT): every cell not yet reaped is
/// listed in `SweepChildren`, whose `endProcess(by:)` kills the cells'
/// groups before the sweep itself ends.
public final class CellProcess {
  /// How a child ended.
  public enum Ending: Equatable, Sendable {
    case exited(Int32)
    case signalled(Int32)
  }

  public let pid: pid_t
  /// Set once the child has ended and been reaped.
  public private(set) var ending: Ending?

  /// Starts `executable` with `arguments` and `environment`, standard input
  /// from /dev/null and standard output and error on `output` (a descriptor
  /// the caller keeps and closes). The child starts with no signal blocked
  /// and SIGINT and SIGTERM at their defaults, whatever the sweep inherited
  /// (test runners block them), so the signals the sweep passes on work.
  public init(executable: URL, arguments: [String], environment: [String: String], output: Int32) throws {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGINT)
    sigaddset(&defaults, SIGTERM)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, output, 1)
    posix_spawn_file_actions_adddup2(&actions, output, 2)

    let argv = [executable.path] + arguments
    let envp = environment.map { "\($0.key)=\($0.value)" }
    pid = try SweepChildren.start {
      var pid: pid_t = 0
      let status = Self.withCStrings(argv) { cArgv in
        Self.withCStrings(envp) { cEnvp in
          posix_spawn(&pid, executable.path, &actions, &attributes, cArgv, cEnvp)
        }
      }
      guard status == 0 else {
        throw ConfigError("cannot start \(executable.path): \(String(cString: strerror(status)))")
      }
      return pid
    }
  }

  /// Runs `executable` in place of this process (`execve`): standard input
  /// from /dev/null, standard output and error on `output`, no signal
  /// blocked, SIGINT and SIGTERM at their defaults. `pops sweep --cell`
  /// does this, so the cell is one process: Slurm's `scancel`, which
  /// signals every process of the job, stops it once, at its checkpoint
  /// (a parent passing the signal on would make it two, and a second
  /// signal stops a run at once), and a kill of the task kills the cell.
  /// Returns only by throwing, when the executable cannot be run.
  public static func replaceCurrentProcess(
    executable: URL, arguments: [String], environment: [String: String], output: Int32
  ) throws -> Never {
    fflush(nil)  // what was printed before goes out first
    // Kept (close-on-exec) to put back if the start fails, so the error
    // reaches the console.
    let console = (
      input: fcntl(0, F_DUPFD_CLOEXEC, 3), output: fcntl(1, F_DUPFD_CLOEXEC, 3), error: fcntl(2, F_DUPFD_CLOEXEC, 3))
    func restore() {
      for (saved, target) in [(console.input, Int32(0)), (console.output, 1), (console.error, 2)] where saved >= 0 {
        dup2(saved, target)
        close(saved)
      }
    }
    let null = open("/dev/null", O_RDONLY)
    guard null >= 0, dup2(null, 0) >= 0, dup2(output, 1) >= 0, dup2(output, 2) >= 0 else {
      let reason = String(cString: strerror(errno))
      restore()
      throw ConfigError("cannot start \(executable.path): \(reason)")
    }
    if null > 2 { close(null) }
    var empty = sigset_t()
    sigemptyset(&empty)
    sigprocmask(SIG_SETMASK, &empty, nil)
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
    let argv = [executable.path] + arguments
    let envp = environment.map { "\($0.key)=\($0.value)" }
    let code = withCStrings(argv) { cArgv in
      withCStrings(envp) { cEnvp in
        execve(executable.path, cArgv, cEnvp)
        return errno
      }
    }
    // Said in the cell's log too, then on the console put back.
    let message = "cannot start \(executable.path): \(String(cString: strerror(code)))"
    _ = (message + "\n").withCString { write(2, $0, strlen($0)) }
    restore()
    throw ConfigError(message)
  }

  /// Runs `body` with `strings` as a NULL-terminated array of C strings.
  private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
  }

  /// The ending if the child has ended (reaping it), else nil; never blocks.
  @discardableResult
  public func poll() -> Ending? {
    reap(options: WNOHANG)
  }

  /// Waits until the child ends.
  public func wait() -> Ending {
    while true {
      if let ending = reap(options: 0) { return ending }
    }
  }

  private func reap(options: Int32) -> Ending? {
    if let ending { return ending }
    var status: Int32 = 0
    let result = waitpid(pid, &status, options)
    if result == 0 || (result < 0 && errno == EINTR) { return nil }
    if result < 0 {
      // Not our child any more (cannot happen unless someone else reaped it).
      ending = .exited(-1)
    } else if status & 0x7F == 0 {
      ending = .exited((status >> 8) & 0xFF)
    } else {
      ending = .signalled(status & 0x7F)
    }
    SweepChildren.remove(pid)
    return ending
  }

  /// Sends `signal` to the cell itself, not its group: the cell stops its
  /// own Gymnasium workers after its checkpoint. Nothing once it has ended.
  public func send(_ signal: Int32) {
    if ending == nil && poll() == nil { kill(pid, signal) }
  }
}
