/// An environment id as `--env`, configs, model files and studies write it,
/// parsed once: a built-in environment of `Environments.specs`, or
/// `gym:ID` for any Gymnasium environment through the bridge.
///
/// Parsing reads the text only: it starts no Python and checks nothing of a
/// Gymnasium id beyond its prefix (the bridge refuses ids it must not hand on).
public enum EnvironmentID: Sendable, Equatable, CustomStringConvertible {
  /// A built-in environment, with the table entry that builds it.
  case builtIn(EnvironmentSpec)
  /// A Gymnasium environment; `id` is Gymnasium's own, without `gym:`
  /// (e.g. `CartPole-v1`, `ALE/Pong-v5?actions=1,2,3`).
  case gymnasium(id: String)

  /// The prefix that marks a Gymnasium id: `gym:CartPole-v1`.
  public static let gymnasiumPrefix = "gym:"
  /// The namespace of Gymnasium's Atari environments (ale-py): `gym:ALE/Pong-v5`.
  public static let atariNamespace = "ALE/"

  /// Parses `text`; an unknown id is an error listing the known ones.
  public init(parsing text: String) throws {
    if text.hasPrefix(Self.gymnasiumPrefix) {
      self = .gymnasium(id: String(text.dropFirst(Self.gymnasiumPrefix.count)))
      return
    }
    guard let spec = Environments.specs.first(where: { $0.id == text }) else {
      throw EnvironmentError(
        description: "unknown environment id '\(text)'; known ids: \(Environments.specs.map(\.id).joined(separator: ", ")), or gym:ID for any Gymnasium environment")
    }
    self = .builtIn(spec)
  }

  /// True for `gym:ID`: the environment runs in a Python worker.
  public var isGymnasium: Bool {
    if case .gymnasium = self { return true }
    return false
  }

  /// True for Gymnasium's Atari environments (`gym:ALE/...`).
  public var isAtari: Bool {
    if case .gymnasium(let id) = self { return id.hasPrefix(Self.atariNamespace) }
    return false
  }

  /// The id as written: `CartPole-v0`, `gym:ALE/Pong-v5`.
  public var description: String {
    switch self {
    case .builtIn(let spec): return spec.id
    case .gymnasium(let id): return Self.gymnasiumPrefix + id
    }
  }
}
