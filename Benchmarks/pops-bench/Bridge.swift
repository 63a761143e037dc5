import Foundation
import PoPS

// `pops-bench bridge` and `pops-bench vector`: what stepping a Gymnasium
// environment through the worker bridge costs.

/// Bridge overhead: the same Gymnasium environment stepped inside Python and
/// through `gym:ID` (`pops-bench bridge [ID]`, default the 3-action Pong), in
/// alternating 2-second rounds; the best round of each is reported, so a
/// burst of load on the VM does not land on one side only.
func benchBridge(_ id: String) {
  do {
    var env = try Environments.make("gym:\(id)")
    _ = try env.reset(seed: 0)
    var rng = SeededGenerator(seed: 1)
    let actions = env.actionSpace.count
    // The same loop inside the worker's Python, timed there, one round per "go" line.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ".venv-gym/bin/python")
    process.arguments = ["-c", """
      import gymnasium as gym, numpy as np, time, sys, importlib.util
      spec = importlib.util.spec_from_file_location("w", sys.argv[1])
      w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)
      env_id, _, query = sys.argv[2].partition("?")
      amap = [int(a) for a in dict(p.split("=") for p in query.split("&") if "=" in p).get("actions", "").split(",") if a]
      kwargs = {}
      if env_id.startswith("ALE/"):
          import ale_py; gym.register_envs(ale_py); kwargs = {"frameskip": 1, "repeat_action_probability": 0.0}
      env = gym.make(env_id, **kwargs)
      if env_id.startswith("ALE/"): env = w.deepmind_wrappers(gym, np, env)
      env.reset(seed=0)
      for line in sys.stdin:
          n = 0; t = time.time()
          while time.time() - t < 2:
              a = np.random.randint(len(amap) if amap else env.action_space.n)
              o, r, te, tr, _ = env.step(amap[a] if amap else a); n += 1
              if te or tr: env.reset()
          print((time.time() - t) / n, flush=True)
      """, Bundle.main.bundleURL.appendingPathComponent("pops_PoPSEnvironments.resources/gym_worker.py").path, id]
    let toPython = Pipe(), fromPython = Pipe()
    process.standardInput = toPython
    process.standardOutput = fromPython
    try process.run()
    var bridgedTimes: [Double] = [], nativeTimes: [Double] = []
    var pending = Data()
    for _ in 0..<4 {
      var steps = 0
      let t0 = now()
      while now() - t0 < 2 {
        let s = try env.step(taking: rng.index(below: actions))
        steps += 1
        if s.isLast { _ = try env.reset(seed: nil) }
      }
      bridgedTimes.append((now() - t0) / Double(steps))
      try toPython.fileHandleForWriting.write(contentsOf: Data("go\n".utf8))
      while !pending.contains(UInt8(ascii: "\n")) {
        let chunk = fromPython.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        pending.append(chunk)
      }
      guard let end = pending.firstIndex(of: UInt8(ascii: "\n")),
        let native = Double(String(decoding: pending[pending.startIndex..<end], as: UTF8.self))
      else {
        print("bridge: could not time Gymnasium directly: \(String(decoding: pending, as: UTF8.self))")
        return
      }
      nativeTimes.append(native)
      pending = Data(pending[(end + 1)...])
    }
    try toPython.fileHandleForWriting.close()
    process.waitUntilExit()
    let bridged = bridgedTimes.min()!, native = nativeTimes.min()!
    line("\(id): step through the bridge", String(format: "%.1f us", bridged * 1e6))
    line("\(id): step inside Python", String(format: "%.1f us", native * 1e6))
    line("bridge overhead per step", String(format: "%.1f us (%.1f%%)", (bridged - native) * 1e6, 100 * (bridged - native) / native))
  } catch {
    print("bridge: \(error)")
  }
}
/// Steps per second of N bridge workers stepping as one vector environment
/// against one worker (`pops-bench vector [ID] [N]`).
func benchVector(_ id: String, count: Int) {
  do {
    for n in [1, count] {
      var vector = try VectorEnvironment("gym:\(id)", count: n)
      _ = try vector.reset(seed: 0)
      var rng = SeededGenerator(seed: 1)
      var steps = 0
      let t0 = now()
      while now() - t0 < 5 {
        let results = try vector.step(taking: (0..<n).map { _ in rng.index(below: vector.actionSpace.count) })
        steps += n
        for (i, r) in results.enumerated() where r.isLast { _ = try vector.reset(i, seed: nil) }
      }
      line("gym:\(id) x\(n) workers", String(format: "%.0f steps/s", Double(steps) / (now() - t0)))
    }
  } catch {
    print("vector: \(error)")
  }
}
