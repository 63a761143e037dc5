/// How an environment's observations enter a network: the values the
/// environment produces (`dtype`) and the factor that maps them to the
/// network's inputs (`scale`). Atari frames are bytes scaled by 1/255; vector
/// observations are float32, unscaled. Recorded in every model file so a
/// pops teacher, an imported one and an exported student agree on inputs.
public struct ObservationEncoding: Codable, Equatable, Sendable {
  /// What an observation's values are before scaling.
  public enum DType: String, Codable, Sendable {
    case float32
    case uint8
  }

  public var dtype: DType
  /// network input = observation * scale.
  public var scale: Float

  public init(dtype: DType, scale: Float) {
    self.dtype = dtype
    self.scale = scale
  }

  /// Float observations fed as they are.
  public static let float32 = ObservationEncoding(dtype: .float32, scale: 1)
  /// Byte images scaled to [0, 1] (Stable-Baselines3, CleanRL, pops' Atari).
  public static let bytes = ObservationEncoding(dtype: .uint8, scale: 1 / 255)
}
