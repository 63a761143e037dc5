import Foundation
import PoPS

// `pops-bench export`: the committed students in pops against their exported C.

/// The committed students' batch-1 forward in pops against the C that
/// `pops export` writes for them (cc -std=c99 -O2), float and int8.
func benchExport() {
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  for name in ["cartpole-v0", "lunarlander-v3"] {
    guard let model = try? ModelFile.load(from: root.appendingPathComponent("docs/results/\(name)/final.safetensors")) else {
      print("\(name): no committed student")
      continue
    }
    let x = [Float](repeating: 0.1, count: model.network.architecture.inputCount)
    let pops = measure { _ = model.network.predict(x) } * 1e6
    let summary = model.network.architecture.summary
    line("\(summary) batch-1 forward, pops predict", String(format: "%.3f us", pops))
    for int8 in [false, true] {
      let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pops-bench-c-\(UUID().uuidString)")
      defer { try? FileManager.default.removeItem(at: folder) }
      do {
        try CExport.write(model, name: "student", int8: int8, source: name, to: folder)
        guard let c = try CExport.measureLatency(folder: folder, name: "student", observation: x) else {
          print("no C compiler")
          return
        }
        line("\(summary) batch-1 forward, C \(int8 ? "int8" : "float")", String(format: "%.3f us (%.1fx pops)", c, pops / c))
      } catch {
        print("\(name): \(error)")
      }
    }
  }
}
