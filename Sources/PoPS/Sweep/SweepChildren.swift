import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The processes a sweep has started and not yet reaped: its cells and the
/// Ray driver. Each runs in a process group of its own (a Ctrl-C at the
/// terminal reaches only the sweep, which passes it on once), so when the
/// sweep must end at once (a second signal, SIGQUIT) nothing else would stop
/// them: `endProcess(by:)` kills their groups first.
///
/// The list is fixed slots of atomics, so a signal handler reads it without
/// a lock or an allocation: 4,096 slots, as `pops sweep` runs at most 4,096
/// cells at once (`--workers`); a process beyond them is not listed.
public enum SweepChildren {
  final class Slot: Sendable {
    let pid = Atomic<Int32>(0)
  }

  private static let slots = (0..<4096).map { _ in Slot() }
  /// Starts under way (`start`): a process may exist that is not listed yet.
  private static let starting = Atomic<Int>(0)
  /// The signal `endProcess(by:)` was asked to end the process with, or 0.
  private static let ending = Atomic<Int32>(0)

  /// Starts a process with `body`, which returns its pid, and lists it. An
  /// `endProcess(by:)` meanwhile only records its signal; the end of the
  /// start then kills every listed group, the new one included, and ends
  /// the process, so no child is started and missed.
  static func start(_ body: () throws -> pid_t) throws -> pid_t {
    starting.add(1, ordering: .sequentiallyConsistent)
    defer {
      starting.subtract(1, ordering: .sequentiallyConsistent)
      let signal = ending.load(ordering: .sequentiallyConsistent)
      if signal != 0 { endNow(signal) }
    }
    let pid = try body()
    for slot in slots {
      if slot.pid.compareExchange(expected: 0, desired: pid, ordering: .sequentiallyConsistent).exchanged { break }
    }
    return pid
  }

  /// Takes `pid` off the list (it has ended and been reaped).
  static func remove(_ pid: pid_t) {
    for slot in slots where slot.pid.load(ordering: .sequentiallyConsistent) == pid {
      slot.pid.store(0, ordering: .sequentiallyConsistent)
    }
  }

  /// How many processes are listed. Reading it once before installing a
  /// signal handler that calls `endProcess(by:)` also makes the list, so
  /// the handler never has to.
  public static var count: Int {
    slots.reduce(0) { $0 + ($1.pid.load(ordering: .sequentiallyConsistent) > 0 ? 1 : 0) }
  }

  /// Sends SIGKILL to the group of every listed process (a cell and what it
  /// started, its Gymnasium workers), then ends this process by `signal`'s
  /// default action. Safe in a signal handler (atomics, kill, signal and
  /// raise only): there `signal` is blocked until the handler returns, and
  /// then ends the process. While a start is under way it only records
  /// `signal`, and the start does the rest once its child is listed.
  public static func endProcess(by signal: Int32) {
    _ = ending.compareExchange(expected: 0, desired: signal, ordering: .sequentiallyConsistent)
    if starting.load(ordering: .sequentiallyConsistent) > 0 { return }
    endNow(ending.load(ordering: .sequentiallyConsistent))
  }

  private static func endNow(_ number: Int32) {
    for slot in slots {
      let pid = slot.pid.load(ordering: .sequentiallyConsistent)
      if pid > 0 { kill(-pid, SIGKILL) }
    }
    signal(number, SIG_DFL)
    raise(number)
  }
}
