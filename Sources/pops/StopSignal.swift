import Foundation
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
enum StopSignal {
  private static let received = Atomic<Int32>(0)
  private static let installed = Atomic<Bool>(false)

  /// The first signal received (SIGINT or SIGTERM), or nil.
  static var number: Int32? {
    let number = received.load(ordering: .acquiring)
    return number == 0 ? nil : number
  }

  /// Installs the handlers (once).
  static func install() {
    guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
    // A parent may have left them blocked (test runners do): unblock them here.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for number in [SIGINT, SIGTERM] {
      signal(number) { number in
        let (exchanged, _) = StopSignal.received.compareExchange(expected: 0, desired: number, ordering: .acquiringAndReleasing)
        if !exchanged {
          signal(number, SIG_DFL)
          raise(number)
        }
      }
    }
  }
}
