import Foundation
import PoPS
import Testing

struct DistillerTests {
  /// One minibatch on a one-entry buffer, checked against the KL gradient
  /// and the RMSProp step written out by hand for a 2-2 linear student.
  @Test func oneStepFollowsTheHandComputedKLGradient() throws {
    let w: [Float] = [0.5, -0.25, 0.125, 0.75]  // [out, in]
    let bias: [Float] = [0.1, -0.2]
    var student = Network(.mlp(inputs: 2, hidden: [], outputs: 2), parameters: [
      Tensor(shape: [2, 2], scalars: w), Tensor(shape: [2], scalars: bias),
    ])
    student.masks[0] = Tensor(shape: [2, 2], scalars: [1, 1, 0, 1])  // weight (1, 0) is pruned
    student.applyMasks()
    let x: [Float] = [1, -2]
    let teacherOutput: [Float] = [2, 0]
    var buffer = ExperienceBuffer(capacity: 1, observationCount: 2, actionCount: 2)
    buffer.add(state: x, teacherOutput: teacherOutput, action: 0)
    var config = try PoPSConfig.preset(for: "CartPole-v0").distillation
    config.temperature = 1
    config.epsilon = 1e-5
    config.batchSize = 3
    config.rho = 0.9
    let lr: Float = 0.01
    var distiller = Distiller(student: student, config: config, learningRate: lr)
    var rng = SeededGenerator(seed: 1)
    let loss = distiller.step(on: buffer, using: &rng)

    // By hand: z = W x + b, p_T = softmax(t / tau) + eps, p_S = softmax(z) + eps.
    let masked: [Double] = [0.5, -0.25, 0, 0.75]
    let z = [masked[0] * 1 + masked[1] * -2 + 0.1, masked[2] * 1 + masked[3] * -2 - 0.2]
    func softmax(_ v: [Double]) -> [Double] {
      let e = v.map { exp($0 - v.max()!) }
      return e.map { $0 / e.reduce(0, +) }
    }
    let q = softmax(z)
    let pT = softmax([2, 0]).map { $0 + 1e-5 }
    let pS = q.map { $0 + 1e-5 }
    let klPerSample = zip(pT, pS).map { $0 * log($0 / $1) }.reduce(0, +)
    #expect(abs(Double(loss) - 3 * klPerSample) < 1e-4, "the loss sums the KL over the batch")
    // dKL/dz_j = sum_i (-pT_i / pS_i) * q_i * (delta_ij - q_j)
    let dz = (0..<2).map { j in (0..<2).map { i in -pT[i] / pS[i] * q[i] * ((i == j ? 1 : 0) - q[j]) }.reduce(0, +) }
    let gradW = [3 * dz[0] * 1, 3 * dz[0] * -2, 3 * dz[1] * 1, 3 * dz[1] * -2]
    let gradB = [3 * dz[0], 3 * dz[1]]
    func rmsprop(_ p: Double, _ g: Double) -> Double { p - Double(lr) * g / ((0.1 * g * g).squareRoot() + 1e-7) }
    let expectedW = zip(masked, gradW).map(rmsprop)
    let expectedB = zip(bias.map(Double.init), gradB).map(rmsprop)
    let after = distiller.student.parameters
    for j in 0..<4 where j != 2 {
      #expect(abs(Double(after[0][j]) - expectedW[j]) < 1e-5, "weight \(j): \(after[0][j]) vs \(expectedW[j])")
    }
    #expect(after[0][2] == 0, "a pruned weight stays zero")
    for j in 0..<2 { #expect(abs(Double(after[1][j]) - expectedB[j]) < 1e-5, "bias \(j)") }
    // The step moves the student towards the teacher.
    let newZ = distiller.student.predict(x).map(Double.init)
    let newKL = zip(pT, softmax(newZ).map { $0 + 1e-5 }).map { $0 * log($0 / $1) }.reduce(0, +)
    #expect(newKL < klPerSample)
  }
}
