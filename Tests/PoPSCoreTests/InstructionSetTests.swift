import PoPSCore
import Testing

struct InstructionSetTests {
  @Test func pathsAreNamedAndCheckedBeforeUse() throws {
    #expect(InstructionSet.supported.contains(.generic))
    #expect(InstructionSet.supported.contains(InstructionSet.best))
    #expect(try InstructionSet.requested(environment: [:]) == InstructionSet.best)
    #expect(try InstructionSet.requested(environment: ["POPS_ISA": "GENERIC"]) == .generic)
    #expect(throws: InstructionSetError.unknown("sse9")) { try InstructionSet.requested(environment: ["POPS_ISA": "sse9"]) }
    for isa in InstructionSet.allCases where !isa.isSupported {
      #expect(throws: InstructionSetError.unsupported(isa)) {
        try InstructionSet.requested(environment: ["POPS_ISA": isa.rawValue])
      }
    }
  }
}
