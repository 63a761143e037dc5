import CPoPSKernels

/// The optimisers' element-wise updates, in C per kernel path
/// (Sources/CPoPSKernels): one call updates `count` parameters in place.
public enum OptimizerKernels {
  /// One Adam step (bias correction folded in: `stepSize` = lr / (1 - beta1^t),
  /// `rootC2` = sqrt(1 - beta2^t)), as `torch.optim.Adam`.
  @inlinable
  public static func adam(
    count: Int, parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
    m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
    stepSize: Float, beta1: Float, beta2: Float, epsilon: Float, rootC2: Float, isa: InstructionSet = .active
  ) {
    pops_adam(isa.code, count, parameters, gradients, m, v, stepSize, beta1, beta2, epsilon, rootC2)
  }

  /// One RMSProp step, as `torch.optim.RMSprop` without momentum.
  @inlinable
  public static func rmsProp(
    count: Int, parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
    v: UnsafeMutablePointer<Float>, learningRate: Float, rho: Float, epsilon: Float, isa: InstructionSet = .active
  ) {
    pops_rmsprop(isa.code, count, parameters, gradients, v, learningRate, rho, epsilon)
  }
}
