import Foundation
import PoPS
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C and SIGTERM once a PoPS stage has started: the first asks the stage
/// in progress to write its checkpoint and stop at the next minibatch
/// (`PoPSOptions.stopRequested`); a second ends the process at once, as
/// without the handler. Before the first stage (teacher training has its own
/// checkpoints) they end the process as usual.
///
/// `pops sweep` installs it with `sweep: true`: SIGHUP (a closed terminal or
/// ssh session) counts as SIGTERM, and before the sweep ends at once (a
/// second signal, or SIGQUIT, which never waits) it kills the process groups
/// of the cells still running (`SweepChildren.endProcess(by:)`): they run in
/// groups of their own, so nothing else would stop them.
enum StopSignal {
  private static let received = Atomic<Int32>(0)
  private static let installed = Atomic<Bool>(false)

  /// The first signal received (SIGINT, SIGTERM, or for a sweep SIGHUP), or nil.
  static var number: Int32? {
    let number = received.load(ordering: .acquiring)
    return number == 0 ? nil : number
  }

  /// Installs the handlers (once).
  static func install(sweep: Bool = false) {
    guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
    // Made now, so the handler only reads it.
    _ = SweepChildren.count
    let stopping = sweep ? [SIGINT, SIGTERM, SIGHUP] : [SIGINT, SIGTERM]
    // A parent may have left them blocked (test runners do): unblock them here.
    var set = sigset_t()
    sigemptyset(&set)
    for number in stopping + (sweep ? [SIGQUIT] : []) { sigaddset(&set, number) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for number in stopping {
      signal(number) { number in
        let (exchanged, _) = StopSignal.received.compareExchange(expected: 0, desired: number, ordering: .acquiringAndReleasing)
        if !exchanged { StopSignal.endNow(number) }
      }
    }
    if sweep {
      signal(SIGQUIT) { number in StopSignal.endNow(number) }
    }
  }

  /// Ends the process by `number`'s default action, its running cells
  /// killed first (none outside a sweep); safe in a signal handler.
  private static func endNow(_ number: Int32) {
    SweepChildren.endProcess(by: number)
  }
}
