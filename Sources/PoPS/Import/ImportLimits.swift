/// The bounds the TF1 and ONNX readers hold a file's numbers to before any
/// arithmetic or allocation, so a forged dimension, offset or count is an
/// error and never an overflow trap or a huge allocation: the same bounds a
/// pops model's architecture is held to (`Architecture.maximumDimension`,
/// 2^24 per dimension, and `Architecture.maximumValues`, 2^31 values per
/// tensor).
enum ImportLimits {
  /// A protobuf int64 or int32 field as the signed number it encodes (a
  /// negative one is sent as the 64-bit two's complement): no trap for any
  /// bit pattern, unlike `Int(UInt64)`.
  static func signed(_ value: UInt64) -> Int { Int(Int64(bitPattern: value)) }

  /// The element count of a tensor shaped `dims`, or nil when a dimension is
  /// negative or over `Architecture.maximumDimension`, or the product over
  /// `Architecture.maximumValues`.
  static func elementCount(_ dims: [Int]) -> Int? {
    var total = 1
    for dim in dims {
      guard dim >= 0, dim <= Architecture.maximumDimension else { return nil }
      let (product, overflow) = total.multipliedReportingOverflow(by: dim)
      guard !overflow, product <= Architecture.maximumValues else { return nil }
      total = product
    }
    return total
  }

  /// Why a tensor of `dims` is refused ("dimension 1 is -1", "more than
  /// 2147483648 values"), or nil when `elementCount` accepts it.
  static func shapeProblem(_ dims: [Int]) -> String? {
    if let bad = dims.firstIndex(where: { $0 < 0 || $0 > Architecture.maximumDimension }) {
      return "dimension \(bad) is \(dims[bad]) (must be in 0...\(Architecture.maximumDimension))"
    }
    return elementCount(dims) == nil ? "more than \(Architecture.maximumValues) values" : nil
  }
}
