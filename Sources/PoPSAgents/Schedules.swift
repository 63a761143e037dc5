/// A value that changes linearly from `start` to `end` over `duration`
/// steps and stays at `end` afterwards (epsilon-greedy exploration).
public struct LinearSchedule: Sendable, Codable, Equatable {
  public var start: Double
  public var end: Double
  public var duration: Int

  public init(start: Double, end: Double, duration: Int) {
    precondition(duration >= 0, "LinearSchedule: duration must be non-negative, got \(duration)")
    self.start = start
    self.end = end
    self.duration = duration
  }

  public func value(at step: Int) -> Double {
    if duration == 0 || step >= duration { return end }
    return start + (end - start) * Double(max(step, 0)) / Double(duration)
  }
}
