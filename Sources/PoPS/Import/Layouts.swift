import Foundation

/// What a file's tensor names and shapes cannot say, given by the user or
/// read from the file's side data (Stable-Baselines3's `data`).
struct LayoutHints {
  /// `--architecture`: the layers, in the order their tensors appear.
  var architecture: Architecture?
  /// `--policy`: the prefixes of the policy's tensors, in forward order.
  var prefixes: [String] = []
  /// The activation between hidden dense layers (SB3 PPO/A2C: Tanh).
  var activation: Architecture.Activation?
  /// The observation's shape, when the file records it.
  var observationShape: [Int]?
}

/// A recognised network: its architecture and, for each pops parameter
/// (`layers.N.weight`, `layers.N.bias`), the source tensor's name.
struct ImportedLayout {
  var name: String
  var architecture: Architecture
  var sources: [String]
}

/// Recognises the state-dict layouts of Stable-Baselines3, CleanRL and plain
/// `nn.Sequential` models, or follows `--policy` / `--architecture`.
enum Layouts {
  /// One parameterised layer of the source: `stem.weight` and `stem.bias`,
  /// and the activation that follows it (nil: none, the output layer).
  struct Group {
    var stem: String
    var activation: LayerSpec?
  }

  static func recognise(_ dict: StateDict, hints: LayoutHints, path: String) throws -> ImportedLayout {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    let stems = dict.names.compactMap { $0.hasSuffix(".weight") ? String($0.dropLast(7)) : nil }
    func numbered(_ prefix: String) -> [String] {
      stems.filter { $0.hasPrefix(prefix) && Int($0.dropFirst(prefix.count)) != nil }
        .sorted { Int($0.dropFirst(prefix.count))! < Int($1.dropFirst(prefix.count))! }
    }
    let hidden = (hints.activation ?? .relu).layer
    var name: String
    var groups: [Group] = []
    func add(_ list: [String], activation: LayerSpec?, lastActivation: LayerSpec?) {
      for (i, stem) in list.enumerated() { groups.append(Group(stem: stem, activation: i == list.count - 1 ? lastActivation : activation)) }
    }
    if let architecture = hints.architecture {
      // --architecture names the layers; --policy (or every tensor) gives their weights in order.
      let chosen = hints.prefixes.isEmpty ? stems : hints.prefixes.flatMap { p in stems.filter { $0.hasPrefix(p) } }
      return try assign(architecture, stems: chosen, dict: dict, name: "--architecture", fail: fail)
    } else if !hints.prefixes.isEmpty {
      name = "--policy \(hints.prefixes.joined(separator: ","))"
      let chosen = hints.prefixes.flatMap { p in stems.filter { $0.hasPrefix(p) } }
      add(chosen, activation: hidden, lastActivation: nil)
    } else if !numbered("q_net.q_net.").isEmpty {
      name = "Stable-Baselines3 DQN"
      add(numbered("q_net.features_extractor.cnn."), activation: .relu, lastActivation: .relu)
      add(numbered("q_net.features_extractor.linear."), activation: .relu, lastActivation: .relu)
      add(numbered("q_net.q_net."), activation: hidden, lastActivation: nil)
    } else if stems.contains("action_net") {
      name = "Stable-Baselines3 actor-critic (PPO/A2C)"
      let extractor = stems.contains { $0.hasPrefix("pi_features_extractor.") } ? "pi_features_extractor." : "features_extractor."
      add(numbered(extractor + "cnn."), activation: .relu, lastActivation: .relu)
      add(numbered(extractor + "linear."), activation: .relu, lastActivation: .relu)
      add(numbered("mlp_extractor.policy_net."), activation: hidden, lastActivation: hidden)
      add(["action_net"], activation: nil, lastActivation: nil)
    } else if stems.contains("actor"), !numbered("network.").isEmpty {
      name = "CleanRL PPO (Atari)"
      add(numbered("network."), activation: .relu, lastActivation: .relu)
      add(["actor"], activation: nil, lastActivation: nil)
    } else if !numbered("actor.").isEmpty {
      name = "CleanRL PPO"
      add(numbered("actor."), activation: hints.activation?.layer ?? .tanh, lastActivation: nil)
    } else if !numbered("network.").isEmpty {
      name = "CleanRL DQN"
      add(numbered("network."), activation: hidden, lastActivation: nil)
    } else if !numbered("layers.").isEmpty {
      name = "nn.Sequential (layers.N)"
      add(numbered("layers."), activation: hidden, lastActivation: nil)
    } else if !numbered("").isEmpty {
      name = "nn.Sequential (N)"
      add(numbered(""), activation: hidden, lastActivation: nil)
    } else {
      throw fail(
        "unknown layout: no Stable-Baselines3, CleanRL or nn.Sequential names among \(dict.listing); name the policy's tensors with --policy PREFIX[,PREFIX...] and, if they are not ReLU linear layers in order, --architecture")
    }
    guard !groups.isEmpty else { throw fail("the \(name) layout has no weights in \(dict.listing)") }
    return try build(groups, dict: dict, hints: hints, name: name, fail: fail)
  }

  /// The architecture of `groups`: dense layers from 2-D weights, convs from
  /// 4-D ones (the Nature CNN's strides, 4/2/1 for kernels 8/4/3), a flatten
  /// before the first dense layer after a conv, and each group's activation.
  private static func build(
    _ groups: [Group], dict: StateDict, hints: LayoutHints, name: String, fail: (String) -> ModelFileError
  ) throws -> ImportedLayout {
    var layers: [LayerSpec] = []
    var sources: [String] = []
    var convolutional = false
    var flattened = false
    for group in groups {
      guard let weight = dict.tensors[group.stem + ".weight"] else { throw fail("\(group.stem).weight is missing") }
      let bias = dict.tensors[group.stem + ".bias"]
      // Sizes checked before the geometry search below multiplies them.
      guard weight.shape.allSatisfy({ (1...Architecture.maximumDimension).contains($0) }) else {
        throw fail("\(group.stem).weight has shape \(weight.shape): each size must be in 1...\(Architecture.maximumDimension)")
      }
      switch weight.shape.count {
      case 4:
        guard !flattened else { throw fail("\(group.stem) is a convolution after a dense layer") }
        let (out, inChannels, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let natureStride = [8: 4, 4: 2, 3: 1]
        guard kh == kw, let stride = natureStride[kh] else {
          throw fail("\(group.stem) is a \(kh)x\(kw) convolution whose stride cannot be read from the file; give --architecture")
        }
        layers.append(.conv2d(.init(inChannels: inChannels, outChannels: out, kernel: kh, stride: stride)))
        convolutional = true
      case 2:
        if convolutional && !flattened {
          layers.append(.flatten)
          flattened = true
        }
        layers.append(.linear(inputs: weight.shape[1], outputs: weight.shape[0]))
      default:
        throw fail("\(group.stem).weight has shape \(weight.shape): only dense [out, in] and conv [out, in, kh, kw] weights can be imported")
      }
      guard let bias, bias.shape == [weight.shape[0]] else {
        throw fail("\(group.stem).bias is missing or not shaped [\(weight.shape[0])] (layers without a bias are not supported)")
      }
      sources += [group.stem + ".weight", group.stem + ".bias"]
      if let activation = group.activation { layers.append(activation) }
    }
    let inputShape = try self.inputShape(layers, known: hints.observationShape, fail: fail)
    let architecture = Architecture(inputShape: inputShape, layers: layers)
    if let problem = architecture.validationError() { throw fail("the \(name) layout does not chain: \(problem)") }
    return ImportedLayout(name: name, architecture: architecture, sources: sources)
  }

  /// The observation shape: the one given, else the first dense layer's
  /// inputs, else for convolutions the square [C, H, H] whose flattened
  /// feature map matches the first dense layer.
  private static func inputShape(_ layers: [LayerSpec], known: [Int]?, fail: (String) -> ModelFileError) throws -> [Int] {
    if let known, !known.isEmpty { return known }
    guard case .conv2d(let first) = layers.first else {
      guard case .linear(let inputs, _) = layers.first else { throw fail("the network starts with no weights") }
      return [inputs]
    }
    guard let dense = layers.firstIndex(where: { if case .linear = $0 { return true } else { return false } }),
      case .linear(let features, _) = layers[dense]
    else { throw fail("a convolutional network without a dense layer") }
    for side in 1...1024 {
      let candidate = Architecture(inputShape: [first.inChannels, side, side], layers: Array(layers[..<dense]))
      if candidate.outputShapes.allSatisfy({ $0.allSatisfy { $0 > 0 } }), candidate.outputWidths.last == features {
        return [first.inChannels, side, side]
      }
    }
    throw fail("no square image gives the \(features) features the first dense layer expects; give --env or --architecture")
  }

  /// `architecture`'s parameterised layers filled from `stems` in order.
  private static func assign(
    _ architecture: Architecture, stems: [String], dict: StateDict, name: String, fail: (String) -> ModelFileError
  ) throws -> ImportedLayout {
    if let problem = architecture.validationError() { throw fail("--architecture: \(problem)") }
    let shapes = architecture.parameterShapes
    guard stems.count * 2 == shapes.count else {
      throw fail("--architecture has \(shapes.count / 2) layers with weights but the file gives \(stems.count): \(stems.joined(separator: ", "))")
    }
    var sources: [String] = []
    for (i, stem) in stems.enumerated() {
      for (j, suffix) in [".weight", ".bias"].enumerated() {
        guard let tensor = dict.tensors[stem + suffix] else { throw fail("\(stem + suffix) is missing") }
        guard tensor.shape == shapes[2 * i + j] else {
          throw fail("\(stem + suffix) has shape \(tensor.shape) but --architecture needs \(shapes[2 * i + j])")
        }
        sources.append(stem + suffix)
      }
    }
    return ImportedLayout(name: name, architecture: architecture, sources: sources)
  }
}
