/// A dense, contiguous, row-major float32 array with a shape.
///
/// A value type: copies are cheap until written (copy-on-write storage).
public struct Tensor: Equatable, Sendable, CustomStringConvertible {
  /// The extent of each dimension, outermost first (PyTorch order).
  public var shape: [Int]
  /// The elements in row-major order; `scalars.count == shape.product`.
  public var scalars: [Float]

  /// A tensor of `shape` with every element `value`.
  public init(shape: [Int], repeating value: Float = 0) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape must be non-negative, got \(shape)")
    self.shape = shape
    self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
  }

  /// A tensor of `shape` holding `scalars` in row-major order.
  public init(shape: [Int], scalars: [Float]) {
    precondition(
      scalars.count == shape.reduce(1, *),
      "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
    self.shape = shape
    self.scalars = scalars
  }

  /// The number of elements.
  @inlinable public var count: Int { scalars.count }

  /// The number of non-zero elements.
  public var nonZeroCount: Int { scalars.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

  /// True when every element is finite (no NaN or infinity).
  public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

  @inlinable public subscript(index: Int) -> Float {
    get { scalars[index] }
    set { scalars[index] = newValue }
  }

  public var description: String { "Tensor(shape: \(shape))" }
}
