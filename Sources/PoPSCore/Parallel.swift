import CPoPSKernels
import Foundation

/// Process-wide settings for the compute kernels.
public enum Compute {
  /// The most threads a kernel may use: the `POPS_THREADS` environment
  /// variable if set, else the number of active cores. Kernels use one thread
  /// for small shapes, where dispatch would cost more than it saves.
  nonisolated(unsafe) public static var maxThreads: Int = defaultThreads

  /// `POPS_THREADS` if it holds a positive integer, else the active core count.
  public static var defaultThreads: Int {
    if let text = ProcessInfo.processInfo.environment["POPS_THREADS"], let n = Int(text), n > 0 { return n }
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
  }

  /// Runs `body(i)` for `i` in `0..<count`, in parallel when `count > 1`,
  /// on the calling thread and up to `count - 1` pool workers
  /// (`pops_parallel_for` in Sources/CPoPSKernels/pool.c: workers spin
  /// briefly between jobs, indices are claimed dynamically so a busy core
  /// never holds the caller up). Nested calls run serially.
  public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
      if count == 1 { body(0) }
      return
    }
    withoutActuallyEscaping(body) { body in
      var task = body
      withUnsafeMutablePointer(to: &task) { pointer in
        pops_parallel_for(count, count, { context, index in
          context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
        }, pointer)
      }
    }
  }
}

/// Wraps a value the caller guarantees is used safely across threads (the
/// kernels hand each thread disjoint rows).
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
  @usableFromInline let value: Value
  @usableFromInline init(_ value: Value) { self.value = value }
}
