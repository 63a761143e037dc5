import Foundation
import PoPS
import Testing

/// `pops export --quantize int8` whose environment fails while the int8
/// check plays: pops says so, naming the model and the environment, and
/// writes nothing (a dead Gymnasium worker used to end the process from
/// inside the bridge with exit status 1 and no word from pops).
struct ExportEnvironmentFailureTests {
  /// A stand-in for gym_worker.py (`POPS_GYM_WORKER`): it answers the
  /// handshake as CartPole-v1 would, then exits with status 3 on the first
  /// request, as a worker that crashed would.
  static let dyingWorker = """
    import json, struct, sys
    info = json.dumps({"obs_shape": [4], "obs_dtype": "float32", "actions": 2,
                       "max_episode_steps": 500, "reward_threshold": 475.0}).encode()
    sys.stdout.buffer.write(b"POPS" + struct.pack("<II", 1, len(info)) + info)
    sys.stdout.buffer.flush()
    sys.stdin.buffer.read(1)
    sys.exit(3)

    """

  /// `pops export --quantize int8 --episodes 2` of a small CartPole-v1
  /// model saved in `folder`, its check played by `folder/worker.py`.
  func exportChecking(in folder: String) throws -> (model: String, run: (status: Int32, output: String)) {
    var rng = SeededGenerator(seed: 2)
    let network = Network(.mlp(inputs: 4, hidden: [8], outputs: 2), using: &rng)
    let model = "\(folder)/model.safetensors"
    try ModelFile.save(Model(network: network, provenance: Provenance(environment: "gym:CartPole-v1")), to: URL(fileURLWithPath: model))
    let run = try pops(
      ["export", model, "--out", "\(folder)/c", "--quantize", "int8", "--episodes", "2"],
      environment: ["POPS_GYM_WORKER": "\(folder)/worker.py"])
    return (model, run)
  }

  @Test func aWorkerThatDiesInTheInt8CheckIsAnErrorAndNothingIsWritten() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try Data(Self.dyingWorker.utf8).write(to: URL(fileURLWithPath: "\(folder)/worker.py"))
    let (model, run) = try exportChecking(in: folder)
    #expect(run.status == 1, "\(run.output)")
    #expect(
      run.output.contains(
        "Error: \(model): the int8 check could not play gym:CartPole-v1: gym:CartPole-v1: the worker exited (status 3)"),
      "\(run.output)")
    #expect(run.output.contains("; nothing written"), "\(run.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/c"))
  }

  /// A worker that cannot start (it exits before its handshake) is the same
  /// export error naming the model, and nothing is written.
  @Test func aWorkerThatCannotStartIsAnErrorNamingTheModel() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try Data("import sys\nsys.exit(4)\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/worker.py"))
    let (model, run) = try exportChecking(in: folder)
    #expect(run.status == 1, "\(run.output)")
    #expect(run.output.contains("Error: \(model): the int8 check could not play gym:CartPole-v1: gym:CartPole-v1: "), "\(run.output)")
    #expect(run.output.contains("; nothing written"), "\(run.output)")
    #expect(!FileManager.default.fileExists(atPath: "\(folder)/c"))
  }

  /// A worker that closes its output but does not exit (a hung shutdown) is
  /// stopped: the error says so, and no worker is left behind.
  @Test func aWorkerThatClosesItsOutputButLivesOnIsStopped() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let worker = Self.dyingWorker.replacingOccurrences(
      of: "sys.exit(3)",
      with: "import os, time\nopen(sys.argv[0] + '.pid', 'w').write(str(os.getpid()))\nos.close(1)\ntime.sleep(20)")
    try Data(worker.utf8).write(to: URL(fileURLWithPath: "\(folder)/worker.py"))
    let (model, run) = try exportChecking(in: folder)
    #expect(run.status == 1, "\(run.output)")
    #expect(run.output.contains("gym:CartPole-v1: the worker (pid "), "\(run.output)")
    #expect(run.output.contains(") stopped answering and was stopped; nothing written"), "\(run.output)")
    let pid = try #require(Int32(try String(contentsOfFile: "\(folder)/worker.py.pid", encoding: .utf8)))
    // Gone, or a zombie waiting for its parent's end to be reaped.
    let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
    #expect(state == nil || state == "Z", "the worker \(pid) is still running (state \(state ?? "-"))")
  }
}

