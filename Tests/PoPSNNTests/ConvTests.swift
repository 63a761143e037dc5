import Foundation
import PoPSCore
import PoPSNN
import Testing

struct ConvTests {
  @Test func shapesFollowPyTorchAndTensorFlowRules() {
    let arch = smallConvNet()
    #expect(arch.validationError() == nil, "\(arch.validationError() ?? "")")
    #expect(arch.outputShapes[0] == [3, 4, 3], "same padding: ceil(7/2) x ceil(6/2)")
    #expect(arch.outputShapes[2] == [4, 3, 2], "valid: (4-2)/1+1 x (3-2)/1+1")
    #expect(arch.outputShapes[4] == [24])
    #expect(arch.parameterShapes[0] == [3, 2, 3, 3])
    let nature = Architecture(
      inputShape: [4, 84, 84],
      layers: [
        .conv2d(.init(inChannels: 4, outChannels: 32, kernel: 8, stride: 4)), .relu,
        .conv2d(.init(inChannels: 32, outChannels: 64, kernel: 4, stride: 2)), .relu,
        .conv2d(.init(inChannels: 64, outChannels: 64, kernel: 3, stride: 1)), .relu,
        .flatten, .linear(inputs: 3136, outputs: 512), .relu, .linear(inputs: 512, outputs: 3),
      ])
    #expect(nature.validationError() == nil)
    #expect(nature.outputShapes[4] == [64, 7, 7])
    #expect(nature.summary == "4x84x84-c32k8s4-c64k4s2-c64k3s1-512-3")
    #expect(Architecture.natureCNN(actions: 3) == nature, "the library's Nature CNN is this one")
    let bad = Architecture(inputShape: [2, 7, 6], layers: [.conv2d(.init(inChannels: 3, outChannels: 1, kernel: 3))])
    #expect(bad.validationError()?.contains("expects 3 channels") == true)
  }

  @Test(arguments: [1, 3, 40])
  func backwardMatchesFiniteDifferences(batch: Int) {
    var rng = SeededGenerator(seed: UInt64(10 + batch))
    let net = Network(smallConvNet(), biasInit: 0.05, using: &rng)
    let x = (0..<(batch * 84)).map { _ in rng.uniform(-1, 1) }
    let target = (0..<(batch * 3)).map { _ in rng.uniform(-1, 1) }
    expectBackwardMatchesFiniteDifferences(net, x: x, target: target, batch: batch, tolerance: 3e-2, "conv net")
  }

  /// Valid padding with stride 2 in a layer that needs its input gradient
  /// takes the unchecked im2col / col2im paths.
  @Test(arguments: [1, 40])
  func stridedValidConvolutionMatchesFiniteDifferences(batch: Int) {
    let arch = Architecture(
      inputShape: [2, 9, 8],
      layers: [
        .conv2d(.init(inChannels: 2, outChannels: 3, kernel: 2, stride: 1, padding: .valid)), .relu,
        .conv2d(.init(inChannels: 3, outChannels: 2, kernel: 3, stride: 2, padding: .valid)), .relu,
        .flatten, .linear(inputs: 2 * 3 * 3, outputs: 3),
      ])
    #expect(arch.validationError() == nil && arch.outputShapes[2] == [2, 3, 3])
    var rng = SeededGenerator(seed: UInt64(30 + batch))
    let net = Network(arch, biasInit: 0.05, using: &rng)
    let x = (0..<(batch * 144)).map { _ in rng.uniform(-1, 1) }
    let target = (0..<(batch * 3)).map { _ in rng.uniform(-1, 1) }
    expectBackwardMatchesFiniteDifferences(net, x: x, target: target, batch: batch, tolerance: 3e-2, "strided conv net")
  }

  /// Input gradients through "same" padding (taps in the zero border) and
  /// through a stride-3 window that leaves inputs no output reads.
  @Test(arguments: [1, 40])
  func paddedAndUncoveredInputsMatchFiniteDifferences(batch: Int) {
    let arch = Architecture(
      inputShape: [2, 9, 8],
      layers: [
        .conv2d(.init(inChannels: 2, outChannels: 3, kernel: 2, stride: 1, padding: .valid)), .relu,
        .conv2d(.init(inChannels: 3, outChannels: 2, kernel: 3, stride: 2, padding: .same)), .relu,
        .conv2d(.init(inChannels: 2, outChannels: 3, kernel: 2, stride: 3, padding: .valid)), .relu,
        .flatten, .linear(inputs: 3, outputs: 2),
      ])
    #expect(arch.validationError() == nil && arch.outputShapes[2] == [2, 4, 4] && arch.outputShapes[4] == [3, 1, 1])
    var rng = SeededGenerator(seed: UInt64(50 + batch))
    let net = Network(arch, biasInit: 0.05, using: &rng)
    let x = (0..<(batch * 144)).map { _ in rng.uniform(-1, 1) }
    let target = (0..<(batch * 2)).map { _ in rng.uniform(-1, 1) }
    expectBackwardMatchesFiniteDifferences(net, x: x, target: target, batch: batch, tolerance: 3e-2, "padded conv net")
  }

  @Test func predictEqualsBatchForwardAndFilesRoundTrip() throws {
    var rng = SeededGenerator(seed: 6)
    let net = Network(smallConvNet(), using: &rng)
    let x = (0..<(2 * 84)).map { _ in rng.uniform(-1, 1) }
    let batch = net.forward(x, batch: 2, cache: Network.Cache())
    for r in 0..<2 {
      let single = net.predict(Array(x[(r * 84)..<((r + 1) * 84)]))
      #expect(zip(single, batch[(r * 3)..<((r + 1) * 3)]).allSatisfy { abs($0 - $1) < 1e-5 })
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pops-conv-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try ModelFile.save(Model(network: net, provenance: Provenance()), to: url)
    let loaded = try ModelFile.load(from: url)
    #expect(loaded.network == net)
    let data = try Data(contentsOf: url)
    let header = try safetensorsHeader(data)
    #expect((header["layers.0.weight"] as! [String: Any])["shape"] as! [Int] == [3, 2, 3, 3], "PyTorch's [out, in, kh, kw]")
  }

  @Test func convolutionsArePrunedPerKernelTensor() {
    var rng = SeededGenerator(seed: 2)
    var net = Network(smallConvNet(), using: &rng)
    net.pruneByMagnitude(sparsity: 0.5)
    #expect(net.nonZeroWeightsPerLayer == [27, 24, 60, 8])
  }
}

func smallConvNet() -> Architecture {
  Architecture(
    inputShape: [2, 7, 6],
    layers: [
      .conv2d(.init(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, padding: .same)), .relu,
      .conv2d(.init(inChannels: 3, outChannels: 4, kernel: 2, stride: 1, padding: .valid)), .relu,
      .flatten, .linear(inputs: 4 * 3 * 2, outputs: 5), .relu, .linear(inputs: 5, outputs: 3),
    ])
}
