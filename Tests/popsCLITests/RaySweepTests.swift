import Foundation
import PoPS
import Testing

/// The Ray engine against a real local head: the same tiny study as the
/// local engine, through Ray tasks, gives the same summary.
struct RaySweepTests {
  @Test(.tags(.ray)) func aStudyRunsThroughALocalRayHead() throws {
    let folder = try SweepTests().study(modes: "full, distill-only")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let ray = try GymEnvironment.python().deletingLastPathComponent().appendingPathComponent("ray")
    #expect(FileManager.default.isExecutableFile(atPath: ray.path), "no \(ray.path): run make deps-ray")
    let port = 20_000 + Int.random(in: 0..<10_000)
    let head = Process()
    // Through Python, to clear the signal mask the test thread passes on
    // (SIGTERM would stay blocked in the head and it would never stop).
    head.executableURL = try GymEnvironment.python()
    head.arguments = [
      "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
      ray.path, "start", "--head", "--block", "--num-cpus", "2", "--disable-usage-stats", "--include-dashboard=false",
      // A short temp dir: Ray's socket paths must stay under 108 bytes.
      "--port", String(port), "--temp-dir", "/tmp/pops-ray-\(port)",
    ]
    head.standardOutput = FileHandle.nullDevice
    head.standardError = FileHandle.nullDevice
    try head.run()
    defer {
      head.terminate()  // SIGTERM: with --block, the head stops its processes and exits
      head.waitUntilExit()
      try? FileManager.default.removeItem(atPath: "/tmp/pops-ray-\(port)")
    }
    // Wait until the head answers (at most a minute).
    var ready = false
    for _ in 0..<30 where !ready && head.isRunning {
      let status = Process()
      status.executableURL = ray
      status.arguments = ["status", "--address", "127.0.0.1:\(port)"]
      status.standardOutput = FileHandle.nullDevice
      status.standardError = FileHandle.nullDevice
      try status.run()
      status.waitUntilExit()
      ready = status.terminationStatus == 0
      if !ready { sleep(2) }
    }
    #expect(ready, "the Ray head did not start")
    let result = try pops([
      "sweep", "\(folder)/study.yaml", "--out", "\(folder)/out", "--engine", "ray", "--address", "127.0.0.1:\(port)",
    ])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("4/4 done, 0 failed"), "\(result.output)")
    let rows = try SweepTests().summaryRows(folder)
    #expect(rows.count == 4 && rows.allSatisfy { $0[3] == "done" }, "\(rows)")
  }
}
