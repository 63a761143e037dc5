import Foundation
import PoPS

// pops-bench: speed figures recorded in BENCHMARKS.md. Not part of the tests.
// Usage: pops-bench [all|gemm|forward|dqn|cartpole|lunar|cnn] (the default "all" runs these),
//        pops-bench teacher [seeds=0,1,2] [key=value ...], pops-bench bridge [GYM_ID],
//        pops-bench cnnforward (the Nature CNN's batch-1 forward alone),
//        pops-bench parts THREADS / cnnparts THREADS (forward, backward and Adam timed apart),
//        pops-bench export (the committed students' batch-1 forward: pops vs their exported C, float and int8),
//        pops-bench peers OUT_DIR (JSON timings for make bench-peers; see Peers.swift).

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Runs `body` repeatedly for about `seconds` after a warm-up and returns the
/// best of `rounds` per-call times.
func measure(seconds: Double = 0.5, rounds: Int = 5, _ body: () -> Void) -> Double {
  for _ in 0..<3 { body() }
  var calls = 1
  var t0 = now()
  body()
  var elapsed = now() - t0
  while elapsed < seconds / Double(rounds) {
    calls *= 2
    t0 = now()
    for _ in 0..<calls { body() }
    elapsed = now() - t0
  }
  var best = elapsed / Double(calls)
  for _ in 1..<rounds {
    t0 = now()
    for _ in 0..<calls { body() }
    best = min(best, (now() - t0) / Double(calls))
  }
  return best
}

func line(_ name: String, _ value: String) {
  print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + value)
  fflush(nil)
}

func benchGEMM() {
  var rng = SeededGenerator(seed: 1)
  let shapes: [(Int, Int, Int, Bool, Bool)] = [
    (128, 256, 256, false, false), (128, 256, 256, false, true), (256, 256, 128, true, false),
    (512, 64, 64, false, false), (32, 512, 3136, false, false), (16, 512, 3136, false, true),
    (32, 512, 3136, false, true), (1024, 1024, 1024, false, false),
  ]
  for threads in [1, 2] {
    Compute.maxThreads = threads
    for (m, n, k, ta, tb) in shapes {
      let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
      let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
      var c = [Float](repeating: 0, count: m * n)
      let t = measure { GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a, b: b, c: &c) }
      let op = "\(ta ? "A^T" : "A")*\(tb ? "B^T" : "B")"
      line("gemm \(m)x\(n)x\(k) \(op) threads=\(threads)", String(format: "%.1f GFLOP/s", 2 * Double(m * n * k) / t / 1e9))
    }
  }
  Compute.maxThreads = 2
}

func benchForward() {
  var rng = SeededGenerator(seed: 2)
  let net = Network(.mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2), using: &rng)
  let x: [Float] = [0.01, -0.02, 0.03, 0.04]
  var sink: Float = 0
  for threads in [1, 2] {
    Compute.maxThreads = threads
    let t = measure { sink += net.predict(x)[0] }
    line("forward 4-256-256-128-2 batch 1 (predict), threads=\(threads)", String(format: "%.2f us", t * 1e6))
  }
  let cache = Network.Cache()
  let t2 = measure { sink += net.forward(x, batch: 1, cache: cache)[0] }
  line("forward 4-256-256-128-2 batch 1 (forward+cache)", String(format: "%.2f us", t2 * 1e6))
  if sink == .infinity { print(sink) }
  Compute.maxThreads = 2
}

func benchDQNUpdate() {
  for threads in [1, 2] {
    Compute.maxThreads = threads
    var rng = SeededGenerator(seed: 3)
    var online = Network(.mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2), using: &rng)
    let target = online
    var adam = Adam()
    let batch = 128
    let states = (0..<(batch * 4)).map { _ in rng.uniform(-1, 1) }
    let next = (0..<(batch * 4)).map { _ in rng.uniform(-1, 1) }
    let actions = (0..<batch).map { _ in rng.index(below: 2) }
    let rewards = [Float](repeating: 1, count: batch)
    let onlineCache = Network.Cache()
    let targetCache = Network.Cache(inferenceOnly: true)
    var grads = online.zeroGradients()
    let t = measure(seconds: 1) {
      let qNext = target.forward(next, batch: batch, cache: targetCache)
      let q = online.forward(states, batch: batch, cache: onlineCache)
      var pred = [Float](repeating: 0, count: batch)
      var tgt = [Float](repeating: 0, count: batch)
      for i in 0..<batch {
        pred[i] = q[i * 2 + actions[i]]
        tgt[i] = rewards[i] + 0.99 * max(qNext[i * 2], qNext[i * 2 + 1])
      }
      let loss = Loss.huber(predictions: pred, targets: tgt)
      var g = [Float](repeating: 0, count: batch * 2)
      for i in 0..<batch { g[i * 2 + actions[i]] = loss.gradient[i] }
      online.backward(g, cache: onlineCache, into: &grads)
      adam.update(&online, along: grads)
    }
    line("DQN update batch 128, 4-256-256-128-2, threads=\(threads)", String(format: "%.0f updates/s", 1 / t))
  }
  Compute.maxThreads = 2
}

let which = CommandLine.arguments.dropFirst().first ?? "all"
let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
  .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
  .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
if which != "peers" { print("pops-bench \(PoPSVersion.current) on \(machine), \(ProcessInfo.processInfo.activeProcessorCount) cores, kernels: \(InstructionSet.active)") }
if which == "all" || which == "gemm" { benchGEMM() }
if which == "all" || which == "forward" { benchForward() }
if which == "all" || which == "dqn" { benchDQNUpdate() }
if which == "teacher" { benchTeacher(Array(CommandLine.arguments.dropFirst(2))) }
if which == "export" { benchExport() }
if which == "peers" { benchPeers(Array(CommandLine.arguments.dropFirst(2))) }
if which == "all" || which == "peak" {
  // Each path's peak on one core: register FMAs only, best of 5 runs.
  for isa in InstructionSet.supported {
    var best = 0.0
    for _ in 0..<5 {
      let t0 = now()
      let flops = isa.peakOperations(iterations: 20_000_000)
      best = max(best, flops / (now() - t0) / 1e9)
    }
    line("peak \(isa.rawValue), 1 thread (register FMAs)", String(format: "%.1f GFLOP/s", best))
  }
}
if which == "parts" {
  Compute.maxThreads = Int(CommandLine.arguments[2])!
  var rng = SeededGenerator(seed: 3)
  var online = Network(.mlp(inputs: 4, hidden: [256, 256, 128], outputs: 2), using: &rng)
  let states = (0..<(128 * 4)).map { _ in rng.uniform(-1, 1) }
  let cache = Network.Cache()
  var grads = online.zeroGradients()
  var adam = Adam()
  let g = (0..<(256)).map { _ in rng.uniform(-1, 1) }
  line("forward 128", String(format: "%.1f us", 1e6 * measure { online.forward(states, batch: 128, cache: cache) }))
  line("backward 128", String(format: "%.1f us", 1e6 * measure { online.backward(g, cache: cache, into: &grads) }))
  line("adam", String(format: "%.1f us", 1e6 * measure { adam.update(&online, along: grads) }))
}

func benchCartPole() {
  var direct = CartPole(seed: 1)
  _ = direct.reset(seed: 1)
  var steps = 0
  var action = 0
  let count = 5_000_000
  var t0 = now()
  for _ in 0..<count {
    let s = direct.step(taking: action)
    action ^= 1
    steps += 1
    if s.terminated { _ = direct.reset() }
  }
  line("CartPole steps/s (struct, single thread)", String(format: "%.2f M", Double(count) / (now() - t0) / 1e6))
  let label = "CartPole-v1 steps/s (any Environment + TimeLimit)"
  do {
    var env: any Environment = try Environments.make("CartPole-v1", seed: 1)
    _ = try env.reset(seed: 1)
    t0 = now()
    for _ in 0..<count {
      let s = try env.step(taking: action)
      action ^= 1
      if s.isLast { _ = try env.reset(seed: nil) }
    }
    line(label, String(format: "%.2f M", Double(count) / (now() - t0) / 1e6))
  } catch {
    line(label, "failed: \(error)")
  }
}
if which == "all" || which == "cartpole" { benchCartPole() }

func benchLunarLander() {
  var env = LunarLander(seed: 1)
  var obs = env.reset(seed: 1)
  var returns: [Double] = []
  var total = 0.0
  var steps = 0
  let t0 = now()
  while now() - t0 < 3 {
    let s = env.step(taking: LunarLander.heuristicAction(for: obs))
    total += s.reward
    steps += 1
    obs = s.observation
    if s.terminated {
      returns.append(total)
      total = 0
      obs = env.reset()
    }
  }
  let rate = Double(steps) / (now() - t0)
  line("LunarLander steps/s (heuristic, single thread)", String(format: "%.0f (%d episodes, mean return %.1f)", rate, returns.count, returns.reduce(0, +) / Double(max(1, returns.count))))
}
if which == "all" || which == "lunar" { benchLunarLander() }


func benchCNN() {
  var rng = SeededGenerator(seed: 5)
  var online = Network(.natureCNN(actions: 3), using: &rng)
  let target = online
  let frame = (0..<(4 * 84 * 84)).map { _ in rng.nextUnitFloat() }
  var sink: Float = 0
  Compute.maxThreads = 2
  let t1 = measure(seconds: 1) { sink += online.predict(frame)[0] }
  line("Nature CNN forward batch 1, 2 threads", String(format: "%.2f ms", t1 * 1e3))
  let batch = 32
  let states = (0..<(batch * 4 * 84 * 84)).map { _ in rng.nextUnitFloat() }
  let next = (0..<(batch * 4 * 84 * 84)).map { _ in rng.nextUnitFloat() }
  let actions = (0..<batch).map { _ in rng.index(below: 3) }
  var adam = Adam(learningRate: 1e-4)
  let onlineCache = Network.Cache(), targetCache = Network.Cache(inferenceOnly: true)
  var grads = online.zeroGradients()
  for threads in [1, 2] {
    Compute.maxThreads = threads
    let t = measure(seconds: 3, rounds: 3) {
      let qNext = target.forward(next, batch: batch, cache: targetCache)
      let q = online.forward(states, batch: batch, cache: onlineCache)
      var pred = [Float](repeating: 0, count: batch), tgt = pred
      for i in 0..<batch {
        pred[i] = q[i * 3 + actions[i]]
        tgt[i] = 0.99 * max(qNext[i * 3], qNext[i * 3 + 1], qNext[i * 3 + 2])
      }
      let loss = Loss.huber(predictions: pred, targets: tgt)
      var g = [Float](repeating: 0, count: batch * 3)
      for i in 0..<batch { g[i * 3 + actions[i]] = loss.gradient[i] }
      online.backward(g, cache: onlineCache, into: &grads)
      adam.update(&online, along: grads)
    }
    line("Nature CNN DQN update batch 32, threads=\(threads)", String(format: "%.1f updates/s", 1 / t))
  }
  if sink == .infinity { print(sink) }
  Compute.maxThreads = Compute.defaultThreads
}
if which == "all" || which == "cnn" { benchCNN() }
if which == "cnnforward" {
  // The batch-1 forward alone, for profiling (`perf record pops-bench cnnforward`).
  var rng = SeededGenerator(seed: 5)
  let network = Network(.natureCNN(actions: 3), using: &rng)
  let frame = (0..<(4 * 84 * 84)).map { _ in rng.nextUnitFloat() }
  var sink: Float = 0
  for threads in [1, 2] {
    Compute.maxThreads = threads
    let t = measure(seconds: 2) { sink += network.predict(frame)[0] }
    line("Nature CNN forward batch 1, threads=\(threads)", String(format: "%.1f us", t * 1e6))
  }
  if sink == .infinity { print(sink) }
}
if which == "cnnparts" {
  Compute.maxThreads = Int(CommandLine.arguments[2]) ?? 2
  var rng = SeededGenerator(seed: 5)
  var online = Network(.natureCNN(actions: 3), using: &rng)
  let states = (0..<(32 * 4 * 84 * 84)).map { _ in rng.nextUnitFloat() }
  let cache = Network.Cache()
  var grads = online.zeroGradients()
  let g = (0..<(32 * 3)).map { _ in rng.uniform(-1, 1) }
  var adam = Adam()
  let part = CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : "all"
  line("cnn forward 32", String(format: "%.1f ms", 1e3 * measure(seconds: 2, rounds: 3) { online.forward(states, batch: 32, cache: cache) }))
  let inference = Network.Cache(inferenceOnly: true)
  line("cnn forward 32, inference cache", String(format: "%.1f ms", 1e3 * measure(seconds: 2, rounds: 3) { online.forward(states, batch: 32, cache: inference) }))
  if part == "all" || part == "backward" {
    line("cnn backward 32", String(format: "%.1f ms", 1e3 * measure(seconds: 2, rounds: 3) { online.backward(g, cache: cache, into: &grads) }))
  }
  if part == "all" {
    line("cnn adam", String(format: "%.1f ms", 1e3 * measure(seconds: 1, rounds: 3) { adam.update(&online, along: grads) }))
  }
}

if which == "vector" {
  let args = CommandLine.arguments
  benchVector(args.count > 2 ? args[2] : "ALE/Pong-v5?actions=1,2,3", count: args.count > 3 ? Int(args[3]) ?? 2 : 2)
}
if which == "bridge" { benchBridge(CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "ALE/Pong-v5?actions=1,2,3") }

/// One GEMM shape for profiling: `pops-bench gemmone M N K TA TB THREADS`.
if which == "gemmone" {
  let v = CommandLine.arguments.dropFirst(2).map { Int($0) ?? 0 }
  let (m, n, k) = (v[0], v[1], v[2])
  let (ta, tb) = (v[3] != 0, v[4] != 0)
  var rng = SeededGenerator(seed: 1)
  let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
  let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
  var c = [Float](repeating: 0, count: m * n)
  let t = measure(seconds: 3) {
    GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a, b: b, c: &c, maxThreads: v[5])
  }
  line("gemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb) threads=\(v[5])", String(format: "%.1f GFLOP/s, %.3f ms", 2 * Double(m * n * k) / t / 1e9, t * 1e3))
}

