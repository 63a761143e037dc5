import Foundation
import PoPS
import Testing

/// Axis ticks (issue 15): nice values covering the data, labels equal to the
/// gridlines' values.
struct TicksTests {
  @Test func linearTicksAreNiceAndCoverTheData() {
    // sizes.svg's score axis: 191.3-200.4 was labelled 191/194/196/198/200 off its gridlines.
    let scores = Ticks.linear(191.3, 200.4)
    #expect(scores.values == [190, 192, 194, 196, 198, 200, 202])
    #expect(scores.values.map(scores.label) == ["190", "192", "194", "196", "198", "200", "202"])
    let fractions = Ticks.linear(0, 0.137)
    #expect(fractions.lower == 0, "a histogram's axis must not start below 0")
    #expect(fractions.values.map(fractions.label) == ["0.00", "0.05", "0.10", "0.15"])
    let exact = Ticks.linear(0, 200)
    #expect(exact.lower == 0 && exact.upper == 200, "data on nice values end the axis there")
    #expect(Ticks.linear(-21, 21).values.allSatisfy { $0.truncatingRemainder(dividingBy: 10) == 0 })
    let big = Ticks.linear(0, 1_000_000)
    #expect(big.values.map(big.label).last == "1M")
    let flat = Ticks.linear(5, 5)
    #expect(flat.lower < 5 && flat.upper > 5)
    // Every tick a multiple of 1, 2 or 5 x 10^k; the data inside.
    var rng = SeededGenerator(seed: 9)
    for _ in 0..<500 {
      let a = Double(rng.uniform(-1000, 1000)) * pow(10, Double(rng.index(below: 7)) - 3)
      let b = a + Double(rng.uniform(0.001, 100)) * pow(10, Double(rng.index(below: 5)) - 2)
      let t = Ticks.linear(a, b)
      #expect(t.lower <= a && t.upper >= b && t.values.count >= 2 && t.values.count <= 12, "\(a)...\(b): \(t.values)")
      let step = t.values[1] - t.values[0]
      let mantissa = step / pow(10, floor(log10(step) + 1e-9))
      #expect([1, 2, 5, 10].contains { abs(mantissa - $0) < 1e-6 }, "\(a)...\(b): step \(step)")
      // Labels tell the ticks apart.
      #expect(Set(t.values.map(t.label)).count == t.values.count, "\(a)...\(b): \(t.values.map(t.label))")
    }
  }

  @Test func logTicksArePowersOfTenOrOneTwoFive() {
    // sizes.svg's size axis read 0.03/0.20/1.58/12.59.
    let wide = Ticks.logarithmic(0.02, 100)
    #expect(wide.values == [0.01, 0.1, 1, 10, 100])
    #expect(wide.values.map(wide.label) == ["0.01", "0.1", "1", "10", "100"])
    let narrow = Ticks.logarithmic(0.03, 0.9)
    #expect(narrow.values.first! <= 0.03 && narrow.values.last! >= 0.9)
    #expect(narrow.values.allSatisfy { v in [1.0, 2, 5].contains { abs(v / pow(10, floor(log10(v) + 1e-9)) - $0) < 1e-6 } })
    #expect(narrow.values.map(narrow.label) == ["0.02", "0.05", "0.1", "0.2", "0.5", "1"])
  }

  /// Step numbers and counts get whole-number ticks however few there are.
  @Test func integerAxesNeverStepBelowOne() {
    #expect(Ticks.linear(1, 2, integers: true).values == [1, 2])
    #expect(Ticks.linear(0, 3, integers: true).values == [0, 1, 2, 3])
    #expect(Ticks.linear(1, 2).values.count > 2, "a plain axis over [1, 2] steps by 0.2 or 0.5")
    #expect(Ticks.linear(0, 400, integers: true) == Ticks.linear(0, 400))
  }
}
