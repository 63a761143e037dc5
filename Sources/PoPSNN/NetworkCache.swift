import PoPSCore

extension Network {
  /// Activations kept by `forward` for `backward`, reused across calls so a
  /// training loop allocates nothing once warm. One cache per network in use
  /// (online, target, ...); not shared between threads.
  public final class Cache: @unchecked Sendable {
    public private(set) var batch = 0
    var architecture: Architecture?
    var widest = 0
    var input = Buffer(0)
    /// The output of each layer for the last batch.
    var outputs: [Buffer] = []
    var gradientA = Buffer(0)
    var gradientB = Buffer(0)
    /// Per-chunk partial parameter gradients (chunks after the first).
    var partials: [[Buffer]] = []
    /// Per-chunk scratch for the convolutions (packed weights, the phase
    /// planes and the extended output forward; the planes, their gradient and
    /// the packed operands backward).
    var scratch: [Buffer] = []
    var scratchSize = 0

    /// Whether this cache serves forward passes only (a target network, a
    /// policy being evaluated); `backward` refuses it.
    public let inferenceOnly: Bool
    /// Large dense layers' weights packed once per pass and shared by the
    /// batch chunks (by layer; W^T for forward, W for the input gradient).
    var packedForward: [Int: GEMM.PackedB] = [:]
    var packedBackward: [Int: GEMM.PackedB] = [:]
    /// The `Network.weightsVersion` `packedForward` was packed from.
    var packedForwardVersion = -1
    /// Output gradients [batch, outputs] of the large dense layers whose
    /// weight gradient is computed once over the whole batch after the
    /// chunks (by layer), instead of per chunk and summed.
    var deferred: [Int: Buffer] = [:]

    public init(inferenceOnly: Bool = false) {
      self.inferenceOnly = inferenceOnly
    }

    func prepare(_ architecture: Architecture, batch: Int) {
      if self.batch == batch && self.architecture == architecture { return }
      if self.architecture != architecture {
        // Packs are keyed by layer index: another network's are never reused.
        packedForward = [:]
        packedBackward = [:]
        packedForwardVersion = -1
        deferred = [:]
      }
      self.batch = batch
      self.architecture = architecture
      widest = max(architecture.inputCount, architecture.outputWidths.max() ?? 0)
      input = Buffer(batch * architecture.inputCount)
      outputs = architecture.outputWidths.map { Buffer(batch * $0) }
      gradientA = Buffer(batch * widest)
      gradientB = Buffer(batch * widest)
      partials = []
      scratch = []
      scratchSize = 0
    }

    /// Makes sure every one of `chunks` threads has its own convolution scratch.
    func ensureScratch(_ chunks: Int) {
      guard let architecture else { return }
      let size = architecture.convolutionScratch(forwardOnly: inferenceOnly)
      if size == 0 { return }
      if size > scratchSize {
        scratch = []
        scratchSize = size
      }
      while scratch.count < chunks { scratch.append(Buffer(scratchSize)) }
    }

    /// The network output for the last batch, row-major [batch, outputs].
    public var output: [Float] { outputs.last.map { Array($0.pointer) } ?? [] }
  }
}
