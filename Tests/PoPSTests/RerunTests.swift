import Foundation
import PoPS
import Testing

struct RerunTests {
  @Test func rerunningAFinishedPruneOnlyRunKeepsItsSparseResult() throws {
    let folder = temporaryRunFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let teacherURL = folder.appendingPathComponent("teacher-in.safetensors")
    try ModelFile.save(Model(network: handMadeTeacher(), provenance: Provenance(environment: "CartPole-v0")), to: teacherURL)
    var options = PoPSOptions(config: try tinyConfig(), output: folder.appendingPathComponent("prune"), seed: 1, teacher: teacherURL)
    options.mode = .pruneOnly
    let first = try runPoPS(options)
    let again = try runPoPS(options)
    #expect(again.final?.nonZeroPerLayer == first.final?.nonZeroPerLayer)
    #expect(again.steps.count == first.steps.count)
  }
}
