extension SIMD8 where Scalar == Float {
  /// Loads 8 floats from `pointer` (no alignment needed).
  @inlinable @inline(__always)
  public static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
  }

  /// Loads 8 floats from `pointer` (no alignment needed).
  @inlinable @inline(__always)
  public static func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
  }

  /// Stores the 8 lanes to `pointer` (no alignment needed).
  @inlinable @inline(__always)
  public func store(_ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: SIMD8<Float>.self)
  }
}
