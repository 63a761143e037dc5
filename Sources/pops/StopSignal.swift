import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C and SIGTERM during a PoPS run: the first asks the stage in progress
/// to write its checkpoint and stop (`PoPSOptions.stopRequested`); a second
/// Ctrl-C ends the process at once, as without the handler.
enum StopSignal {
  nonisolated(unsafe) private static var count: sig_atomic_t = 0

  static var received: Bool { count > 0 }

  static func install() {
    // A parent may have left them blocked (test runners do): unblock them here.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for number in [SIGINT, SIGTERM] {
      signal(number) { number in
        StopSignal.count += 1
        if StopSignal.count > 1 {
          signal(number, SIG_DFL)
          raise(number)
        }
      }
    }
  }
}
