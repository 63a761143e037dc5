import Foundation
import PoPSCore
import PoPSEnvironments
import Testing

/// Returns of the heuristic controller on LunarLander-v3, one episode per seed.
func heuristicReturns(seeds: Range<Int>) throws -> [Double] {
  var env = try Environments.make("LunarLander-v3")
  return try seeds.map { seed in
    var obs = try env.reset(seed: UInt64(seed))
    var total = 0.0
    while true {
      let step = try env.step(taking: LunarLander.heuristicAction(for: obs))
      total += step.reward
      obs = step.observation
      if step.isLast { return total }
    }
  }
}
