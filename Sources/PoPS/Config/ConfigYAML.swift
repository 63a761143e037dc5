import Foundation
import Yams

/// An error in a configuration file or override; names the field.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A closed set of named values in a configuration (`teacher.algorithm`):
/// YAML shows the name, and an override must be one of `names`.
public protocol ConfigChoice: Codable {
  static var names: [String] { get }
  var name: String { get }
}

extension ConfigChoice where Self: RawRepresentable, Self.RawValue == String, Self: CaseIterable {
  public static var names: [String] { allCases.map(\.rawValue) }
  public var name: String { rawValue }
}

/// What a leaf field of the configuration holds, for type checks of overrides.
private enum FieldKind {
  case integer, number, boolean, string, integerList, numberList, integerLists
  case choice([String])

  /// The kind of `value`'s type, nil for a nested section.
  init?(of value: Any) {
    // Exact types: an empty [[Int]] would also pass `is [Int]`.
    let type = Swift.type(of: value)
    switch value {
    case is Int, is UInt64: self = .integer
    case is Double, is Float: self = .number
    case is Bool: self = .boolean
    case is String: self = .string
    case let choice as any ConfigChoice: self = .choice(Swift.type(of: choice).names)
    case _ where type == [Int].self: self = .integerList
    case _ where type == [Float].self || type == [Double].self: self = .numberList
    case _ where type == [[Int]].self: self = .integerLists
    default: return nil
    }
  }

  /// How an error message names the kind: "an integer", "one of dqn, ppo".
  var phrase: String {
    switch self {
    case .integer: return "an integer"
    case .number: return "a number"
    case .boolean: return "a boolean"
    case .string: return "a string"
    case .integerList: return "an integer list"
    case .numberList: return "a number list"
    case .integerLists: return "a list of integer lists"
    case .choice(let names): return "one of " + names.joined(separator: ", ")
    }
  }

  func matches(_ value: Any) -> Bool {
    func isInteger(_ v: Any) -> Bool { v is Int && !(v is Bool) }
    func isNumber(_ v: Any) -> Bool { (v is Int || v is Double) && !(v is Bool) }
    switch self {
    case .integer: return isInteger(value)
    case .number: return isNumber(value)
    case .boolean: return value is Bool
    case .string: return value is String
    case .integerList: return (value as? [Any])?.allSatisfy(isInteger) ?? false
    case .numberList: return (value as? [Any])?.allSatisfy(isNumber) ?? false
    case .integerLists: return (value as? [Any])?.allSatisfy { FieldKind.integerList.matches($0) } ?? false
    case .choice(let names): return (value as? String).map(names.contains) ?? false
    }
  }
}

extension PoPSConfig {
  /// The preset for `environment`, then the YAML file `file`, then each
  /// `FIELD=VALUE` of `assignments` (dotted snake_case paths).
  public static func resolved(for environment: String, file: String?, assignments: [String]) throws -> PoPSConfig {
    var config = try PoPSConfig.preset(for: environment)
    if let file {
      let text: String
      do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
        throw ConfigError("\(file): cannot read the file")
      }
      config = try config.overridden(byYAML: text, source: file, validate: false)
    }
    for assignment in assignments {
      let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty else { throw ConfigError("override '\(assignment)': expected FIELD=VALUE") }
      var yaml = ""
      let keys = parts[0].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      if let empty = keys.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
        throw ConfigError("override '\(assignment)': field name part \(empty + 1) of '\(parts[0])' is empty")
      }
      for (depth, key) in keys.enumerated() {
        yaml += String(repeating: "  ", count: depth) + key + ":" + (depth == keys.count - 1 ? " \(parts[1])" : "") + "\n"
      }
      config = try config.overridden(byYAML: yaml, source: "override '\(assignment)'", validate: false)
    }
    // The settings are checked together, so overrides may be given in any order.
    if let problem = config.validationError() {
      let sources = (file.map { [$0] } ?? []) + assignments.map { "override '\($0)'" }
      throw ConfigError("\(sources.isEmpty ? "preset" : sources.joined(separator: ", ")): \(problem)")
    }
    return config
  }

  /// The configuration as YAML, fields in declaration order, snake_case keys.
  public var yaml: String {
    var lines: [String] = []
    Self.emit(self, indent: "", into: &lines)
    return lines.joined(separator: "\n") + "\n"
  }

  private static func emit(_ value: Any, indent: String, into lines: inout [String]) {
    for child in Mirror(reflecting: value).children {
      guard let label = child.label else { continue }
      let key = snakeCase(label)
      if let scalar = yamlScalar(child.value) {
        lines.append("\(indent)\(key): \(scalar)")
      } else {
        lines.append("\(indent)\(key):")
        emit(child.value, indent: indent + "  ", into: &lines)
      }
    }
  }

  private static func yamlScalar(_ value: Any) -> String? {
    switch value {
    case let v as String: return "\"\(v)\""
    case let v as any ConfigChoice: return "\"\(v.name)\""
    case let v as Bool: return v ? "true" : "false"
    case let v as Int: return String(v)
    case let v as UInt64: return String(v)
    case let v as Double: return "\(v)"
    case let v as Float: return "\(v)"
    case let v as [Int]: return "[" + v.map(String.init).joined(separator: ", ") + "]"
    case let v as [Float]: return "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
    case let v as [Double]: return "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
    case let v as [[Int]]: return "[" + v.map { yamlScalar($0)! }.joined(separator: ", ") + "]"
    default: return nil
    }
  }

  /// Foundation's `convertToSnakeCase` rule: `learningRate` -> `learning_rate`,
  /// `doubleQLearning` -> `double_q_learning`, `DQN` -> `dqn`.
  static func snakeCase(_ name: String) -> String {
    let chars = Array(name)
    var out = ""
    for (i, ch) in chars.enumerated() {
      if ch.isUppercase && i > 0 {
        let previousLower = chars[i - 1].isLowercase || chars[i - 1].isNumber
        let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
        if previousLower || (chars[i - 1].isUppercase && nextLower) { out += "_" }
      }
      out += ch.lowercased()
    }
    return out
  }

  /// This configuration with the fields of a YAML document overriding it.
  /// Unknown fields and ill-typed values are errors naming the field.
  public func overridden(byYAML text: String, source: String, validate: Bool = true) throws -> PoPSConfig {
    let parsed: Any?
    do {
      parsed = try Yams.load(yaml: text)
    } catch {
      throw ConfigError("\(source): not valid YAML (\(error))")
    }
    guard let parsed else { return self }
    guard let overrides = parsed as? [String: Any] else {
      throw ConfigError("\(source): the top level must be a mapping of fields")
    }
    return try overridden(by: overrides, source: source, validate: validate)
  }

  /// This configuration with `overrides` (snake_case keys, nested mappings)
  /// applied. Unknown fields and ill-typed values are errors naming the field.
  public func overridden(by overrides: [String: Any], source: String, validate: Bool = true) throws -> PoPSConfig {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let base = try JSONSerialization.jsonObject(with: encoder.encode(self)) as! [String: Any]
    var kinds: [String: FieldKind] = [:]
    Self.fieldKinds(self, prefix: "", into: &kinds)
    let merged = try Self.merge(base, overrides, path: "", source: source, kinds: kinds)
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let config: PoPSConfig
    do {
      config = try decoder.decode(PoPSConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    } catch let DecodingError.typeMismatch(type, context) {
      throw ConfigError("\(source): field '\(Self.path(context.codingPath))' must be \(Self.typeName(type))")
    } catch let DecodingError.dataCorrupted(context) {
      throw ConfigError("\(source): field '\(Self.path(context.codingPath))' has a bad value (\(context.debugDescription))")
    } catch {
      throw ConfigError("\(source): \(error)")
    }
    if validate, let problem = config.validationError() { throw ConfigError("\(source): \(problem)") }
    return config
  }

  /// The kind of every leaf field, by snake_case path.
  private static func fieldKinds(_ value: Any, prefix: String, into kinds: inout [String: FieldKind]) {
    for child in Mirror(reflecting: value).children {
      guard let label = child.label else { continue }
      let path = prefix.isEmpty ? snakeCase(label) : "\(prefix).\(snakeCase(label))"
      if let kind = FieldKind(of: child.value) {
        kinds[path] = kind
      } else {
        fieldKinds(child.value, prefix: path, into: &kinds)
      }
    }
  }

  private static func merge(
    _ base: [String: Any], _ overrides: [String: Any], path: String, source: String, kinds: [String: FieldKind]
  ) throws -> [String: Any] {
    var result = base
    for (key, value) in overrides {
      let field = path.isEmpty ? key : "\(path).\(key)"
      guard let current = base[key] else {
        let known = base.keys.sorted().joined(separator: ", ")
        throw ConfigError("\(source): unknown field '\(field)' (known here: \(known))")
      }
      if let nested = current as? [String: Any] {
        guard let override = value as? [String: Any] else {
          throw ConfigError("\(source): field '\(field)' must be a mapping")
        }
        result[key] = try merge(nested, override, path: field, source: source, kinds: kinds)
      } else {
        if value is [String: Any] { throw ConfigError("\(source): field '\(field)' must be a value, not a mapping") }
        if Self.holdsNonFinite(value) {
          throw ConfigError("\(source): field '\(field)' must be a finite number, got '\(value)'")
        }
        if let kind = kinds[field], !kind.matches(value) {
          throw ConfigError("\(source): field '\(field)' must be \(kind.phrase), got '\(value)'")
        }
        result[key] = value
      }
    }
    return result
  }

  /// Whether `value` is, or (in a list) holds, NaN or an infinity: YAML's
  /// .nan and .inf, which no field accepts.
  private static func holdsNonFinite(_ value: Any) -> Bool {
    if let number = value as? Double { return !number.isFinite }
    if let list = value as? [Any] { return list.contains(where: holdsNonFinite) }
    return false
  }

  private static func path(_ keys: [CodingKey]) -> String {
    keys.map { $0.intValue.map { "[\($0)]" } ?? snakeCase($0.stringValue) }.joined(separator: ".")
      .replacingOccurrences(of: ".[", with: "[")
  }

  private static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is UInt64.Type: return "an integer"
    case is Double.Type, is Float.Type: return "a number"
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    default: return "of type \(type)"
    }
  }
}
