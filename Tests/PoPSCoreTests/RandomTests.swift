import PoPSCore
import Testing

struct RandomTests {
  @Test func sameSeedSameStream() {
    var a = SeededGenerator(seed: 42)
    var b = SeededGenerator(seed: 42)
    var c = SeededGenerator(seed: 43)
    let xs = (0..<100).map { _ in a.next() }
    #expect(xs == (0..<100).map { _ in b.next() })
    #expect(xs != (0..<100).map { _ in c.next() })
  }

  @Test func uniformAndIndexStayInRange() {
    var rng = SeededGenerator(seed: 1)
    var counts = [Int](repeating: 0, count: 5)
    var total: Double = 0
    for _ in 0..<50_000 {
      let u = rng.nextUnitFloat()
      #expect(u >= 0 && u < 1)
      total += Double(u)
      counts[rng.index(below: 5)] += 1
    }
    #expect(abs(total / 50_000 - 0.5) < 0.01)
    #expect(counts.allSatisfy { abs($0 - 10_000) < 500 }, "roughly uniform: \(counts)")
  }
}
