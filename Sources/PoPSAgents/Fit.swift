import PoPSEnvironments
import PoPSNN

extension Network {
  /// Throws unless this network takes `environment`'s observations and gives
  /// one output per action; `id` names the environment in the error.
  public func checkFits(_ environment: any Environment, id: String) throws {
    let observations = environment.observationSpace.low.count
    let actions = environment.actionSpace.count
    guard architecture.inputCount == observations, architecture.outputCount == actions else {
      throw EnvironmentError(
        description: "network \(architecture.summary) does not fit \(id) (observations \(observations), actions \(actions))")
    }
  }
}
