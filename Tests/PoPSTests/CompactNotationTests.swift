import Foundation
import PoPS
import Testing

struct CompactNotationTests {
  @Test(arguments: [
    "4-256-256-128-2", "8-64-64-4/tanh", "4x84x84-c32k8s4-c64k4s2-c64k3s1-512-3", "1x10x10-c16k3s1-64-3", "4-2",
  ])
  func theSummaryReadsBack(_ text: String) throws {
    let architecture = try #require(Architecture(compact: text))
    #expect(architecture.summary == text)
    #expect(architecture.validationError() == nil)
  }

  @Test func nonsenseIsNil() {
    for text in ["", "4", "4-", "x-2", "4-0-2", "4-c8k3s1-2", "4x9x9-c8k12s1-2", "4-8-2/sigmoid", "4x84-8-2"] {
      #expect(Architecture(compact: text) == nil, "\(text)")
    }
    #expect(Architecture(compact: "4x84x84-c32k8s4-c64k4s2-c64k3s1-512-3") == .natureCNN(actions: 3))
  }
}
