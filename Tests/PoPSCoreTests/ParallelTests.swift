import Foundation
import Testing

import PoPSCore

/// The kernels' thread pool (Compute.parallelFor over pool.c): every index
/// runs exactly once per job, whoever claims it, also when jobs are nested
/// or come from several threads at once.
@Suite struct ParallelTests {
  /// Counts how often each index ran, from any thread.
  final class Tally: @unchecked Sendable {
    let lock = NSLock()
    var counts: [Int]
    init(_ n: Int) { counts = Array(repeating: 0, count: n) }
    func hit(_ i: Int) { lock.lock(); counts[i] += 1; lock.unlock() }
  }

  struct Pointer: @unchecked Sendable { let value: UnsafeMutablePointer<Int> }

  @Test func everyIndexRunsOnceInManyBackToBackJobs() {
    for count in [2, 3, 5, 16, 100] {
      for _ in 0..<200 {
        let tally = Tally(count)
        Compute.parallelFor(count) { tally.hit($0) }
        #expect(tally.counts == Array(repeating: 1, count: count), "count \(count)")
      }
    }
  }

  @Test func jobsAfterTheWorkersFellAsleepStillRun() {
    let tally = Tally(4)
    Compute.parallelFor(4) { tally.hit($0) }
    Thread.sleep(forTimeInterval: 0.01)  // longer than the workers spin
    Compute.parallelFor(4) { tally.hit($0) }
    #expect(tally.counts == [2, 2, 2, 2])
  }

  @Test func nestedJobsRunEveryInnerIndex() {
    let tally = Tally(4 * 6)
    Compute.parallelFor(4) { outer in
      Compute.parallelFor(6) { inner in tally.hit(outer * 6 + inner) }
    }
    #expect(tally.counts == Array(repeating: 1, count: 24))
  }

  @Test func concurrentCallersEachGetTheirWholeJob() {
    let callers = 4, count = 7, rounds = 300
    let tally = Tally(callers * count)
    DispatchQueue.concurrentPerform(iterations: callers) { caller in
      for _ in 0..<rounds {
        Compute.parallelFor(count) { tally.hit(caller * count + $0) }
      }
    }
    #expect(tally.counts == Array(repeating: rounds, count: callers * count))
  }

  @Test func resultsAreWrittenBeforeTheCallReturns() {
    // Each index writes its slot without a lock: the caller must see them all.
    for _ in 0..<500 {
      var slots = [Int](repeating: 0, count: 8)
      slots.withUnsafeMutableBufferPointer { buffer in
        let base = Pointer(value: buffer.baseAddress!)
        Compute.parallelFor(8) { base.value[$0] = $0 + 1 }
      }
      #expect(slots == Array(1...8))
    }
  }
}
