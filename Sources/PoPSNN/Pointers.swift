import PoPSCore

// Pointer helpers of the kernels: manual buffers and the storage of
// parameter lists as pointer arrays.

/// A manually managed float buffer that lives as long as its owner.
final class Buffer: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>
  let count: Int

  init(_ count: Int) {
    self.count = count
    base = .allocate(capacity: max(count, 1))
    base.initialize(repeating: 0, count: max(count, 1))
  }

  deinit { base.deallocate() }

  var pointer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: base, count: count) }
}

struct UncheckedBox<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// Calls `body` with a pointer to each tensor's storage, valid during the call.
func withParameterPointers<R>(_ tensors: [Tensor], _ body: ([UnsafePointer<Float>]) -> R) -> R {
  var pointers: [UnsafePointer<Float>] = []
  pointers.reserveCapacity(tensors.count)
  func go(_ i: Int) -> R {
    if i == tensors.count { return body(pointers) }
    return tensors[i].scalars.withUnsafeBufferPointer { p in
      pointers.append(p.baseAddress!)
      return go(i + 1)
    }
  }
  return go(0)
}

/// Calls `body` with a mutable pointer to each tensor's storage.
func withMutablePointers<R>(_ tensors: inout [Tensor], _ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
  var pointers: [UnsafeMutablePointer<Float>] = []
  pointers.reserveCapacity(tensors.count)
  return tensors.withUnsafeMutableBufferPointer { all in
    func go(_ i: Int) -> R {
      if i == all.count { return body(pointers) }
      return all[i].scalars.withUnsafeMutableBufferPointer { p in
        pointers.append(p.baseAddress!)
        return go(i + 1)
      }
    }
    return go(0)
  }
}
