import Foundation
import PoPS

// `pops-bench peers OUT_DIR`: pops' side of `make bench-peers`
// (scripts/bench_peers.py runs PyTorch and ONNX Runtime on the same
// networks, shapes and steps). Prints one JSON object of timings and writes
// the networks as safetensors (for PyTorch to load the same weights) and
// ONNX (for ONNX Runtime) into OUT_DIR.

/// The networks both sides time, with the seeds that draw their weights.
let peerNetworks: [(name: String, architecture: Architecture, seed: UInt64)] = [
  ("mlp", .mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2), 3),
  ("lunar", .mlp(inputs: 8, hidden: [64, 64, 64], outputs: 4), 4),
  ("cnn", .natureCNN(actions: 3), 5),
]

/// A DQN update: target forward, online forward, Huber loss on the taken
/// actions' Q-values, backward, Adam.
func dqnUpdate(_ architecture: Architecture, seed: UInt64, batch: Int) -> () -> Void {
  var rng = SeededGenerator(seed: seed)
  var online = Network(architecture, using: &rng)
  let target = online
  let inputs = architecture.inputCount, actions = architecture.outputCount
  let states = (0..<(batch * inputs)).map { _ in rng.nextUnitFloat() }
  let next = (0..<(batch * inputs)).map { _ in rng.nextUnitFloat() }
  let taken = (0..<batch).map { _ in rng.index(below: actions) }
  var adam = Adam(learningRate: 1e-4)
  let onlineCache = Network.Cache(), targetCache = Network.Cache(inferenceOnly: true)
  var grads = online.zeroGradients()
  return {
    let qNext = target.forward(next, batch: batch, cache: targetCache)
    let q = online.forward(states, batch: batch, cache: onlineCache)
    var pred = [Float](repeating: 0, count: batch), goal = pred
    for i in 0..<batch {
      pred[i] = q[i * actions + taken[i]]
      var best = -Float.infinity
      for a in 0..<actions { best = max(best, qNext[i * actions + a]) }
      goal[i] = 1 + 0.99 * best
    }
    let loss = Loss.huber(predictions: pred, targets: goal)
    var g = [Float](repeating: 0, count: batch * actions)
    for i in 0..<batch { g[i * actions + taken[i]] = loss.gradient[i] }
    online.backward(g, cache: onlineCache, into: &grads)
    adam.update(&online, along: grads)
  }
}

/// A distillation update (PoPS' student step): forward, KL to the teacher's
/// softened outputs, backward, RMSProp.
func distillationUpdate(_ architecture: Architecture, seed: UInt64, batch: Int) -> () -> Void {
  var rng = SeededGenerator(seed: seed)
  var student = Network(architecture, using: &rng)
  let states = (0..<(batch * architecture.inputCount)).map { _ in rng.uniform(-1, 1) }
  let teacher = (0..<(batch * architecture.outputCount)).map { _ in rng.uniform(-1, 1) }
  var optimizer = RMSProp(learningRate: 1e-3, rho: 0.9)
  let cache = Network.Cache()
  var grads = student.zeroGradients()
  return {
    let logits = student.forward(states, batch: batch, cache: cache)
    let loss = Loss.distillation(
      teacher: teacher, student: logits, actionCount: architecture.outputCount, temperature: 0.01, epsilon: 1e-5)
    student.backward(loss.gradient, cache: cache, into: &grads)
    optimizer.update(&student, along: grads)
  }
}

func benchPeers(_ arguments: [String]) {
  let folder = URL(fileURLWithPath: arguments.first ?? "runs/bench-peers")
  try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  var networks: [String: Network] = [:]
  for (name, architecture, seed) in peerNetworks {
    var rng = SeededGenerator(seed: seed)
    let network = Network(architecture, using: &rng)
    networks[name] = network
    let model = Model(network: network, provenance: Provenance(environment: "bench"))
    do {
      try ModelFile.save(model, to: folder.appendingPathComponent("\(name).safetensors"))
      try ONNXExport.write(model, source: "pops-bench", to: folder.appendingPathComponent("\(name).onnx"))
    } catch {
      FileHandle.standardError.write(Data("pops-bench peers: \(error)\n".utf8))
      exit(1)
    }
  }
  Compute.maxThreads = 2
  var results: [String: Double] = [:]
  results["mlp_dqn_update_per_s"] = 1 / measure(seconds: 2, rounds: 3, dqnUpdate(peerNetworks[0].architecture, seed: 3, batch: 128))
  results["lunar_distillation_update_per_s"] = 1 / measure(
    seconds: 2, rounds: 3, distillationUpdate(peerNetworks[1].architecture, seed: 4, batch: 512))
  results["cnn_dqn_update_per_s"] = 1 / measure(seconds: 3, rounds: 3, dqnUpdate(peerNetworks[2].architecture, seed: 5, batch: 32))
  var sink: Float = 0
  for (name, network) in networks {
    var rng = SeededGenerator(seed: 9)
    let x = (0..<network.architecture.inputCount).map { _ in rng.nextUnitFloat() }
    results["\(name)_forward_b1_us"] = 1e6 * measure(seconds: 1, rounds: 5) { sink += network.predict(x)[0] }
  }
  if sink == .infinity { print(sink) }
  results["threads"] = Double(Compute.maxThreads)
  let json = try! JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
  print(String(decoding: json, as: UTF8.self))
}
