import Foundation

/// Stable-Baselines3 `.zip` models. Only `policy.pth` (a torch state dict)
/// and plain JSON fields of `data` are read; `data`'s cloudpickled fields
/// are never unpickled (their bytes are only searched for an activation
/// class name).
enum StableBaselines3 {
  static func stateDict(_ data: Data, path: String, hints: LayoutHints) throws -> (StateDict, LayoutHints, [String]) {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    let zip = try ZipArchive(data, path: path)
    guard let policy = zip.entry(named: "policy.pth") else {
      throw fail("no policy.pth in the zip: not a Stable-Baselines3 model")
    }
    let dict = try TorchFile.stateDict(try zip.read(policy), path: path + "/policy.pth")
    var hints = hints
    var warnings = [
      "VecNormalize statistics are not stored in a Stable-Baselines3 zip: if the policy was trained with VecNormalize, its observations must be normalised the same way, which pops does not do"
    ]
    if let entry = zip.entry(named: "data") {
      // A corrupt `data` would silently change the shape and activation pops infers: it is an error.
      let bytes = try zip.read(entry)
      guard let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
        throw fail("its data member is not the JSON object Stable-Baselines3 writes")
      }
      // Python's json keeps the last of two equal keys, Foundation one of them: refused, as in a pops model.
      if let key = StrictJSON.duplicateKey(in: bytes) { throw fail("its data member names \"\(key)\" twice") }
      if hints.observationShape == nil, let space = object["observation_space"] as? [String: Any],
        let shape = space["_shape"] as? [Int], !shape.isEmpty
      {
        // Images are channel-last in the space SB3 saves unless transposed; the network takes [C, H, W].
        hints.observationShape = shape.count == 3 && shape[2] <= 4 && shape[0] > 4 ? [shape[2], shape[0], shape[1]] : shape
        if (space["dtype"] as? String) == "uint8" {
          warnings.append("the policy divides its uint8 image observations by 255 (SB3's CnnPolicy): feed it frames scaled to [0, 1]")
        }
      }
      if hints.activation == nil { hints.activation = activation(object, dict: dict) }
    }
    return (dict, hints, warnings)
  }

  /// The hidden activation: the class named in `policy_kwargs.activation_fn`
  /// (found in its serialized bytes, never unpickled), else SB3's default:
  /// ReLU for DQN, Tanh for the actor-critic policies (PPO, A2C).
  static func activation(_ data: [String: Any], dict: StateDict) -> Architecture.Activation {
    if let kwargs = data["policy_kwargs"] as? [String: Any], let fn = kwargs["activation_fn"] as? [String: Any],
      let serialized = fn[":serialized:"] as? String, let bytes = Data(base64Encoded: serialized)
    {
      let text = String(decoding: bytes, as: UTF8.self)
      if text.contains("Tanh") { return .tanh }
      if text.contains("ReLU") { return .relu }
    }
    return dict.names.contains { $0.hasPrefix("action_net.") } ? .tanh : .relu
  }
}
