import Foundation

/// A tensor a torch pickle describes: a view into one of the archive's storages.
struct TorchTensorReference {
  var storage: TorchStorageReference
  var offset: Int
  var shape: [Int]
  var stride: [Int]
}

/// A storage a torch pickle names by its persistent id.
struct TorchStorageReference {
  /// `torch FloatStorage`, ...
  var type: String
  /// The storage's file in the archive: `data/KEY`.
  var key: String
  /// Elements in the storage.
  var count: Int
}

/// What the restricted unpickler builds: the values a PyTorch state dict uses.
indirect enum PickleValue {
  case none
  case bool(Bool)
  case int(Int)
  case float(Double)
  case string(String)
  /// A tuple and how deeply it nests (see `RestrictedUnpickler.maxNesting`).
  case tuple([PickleValue], nesting: Int)
  case list(PickleList)
  case dict(PickleDict)
  case global(String)
  case storage(TorchStorageReference)
  case tensor(TorchTensorReference)

  /// Levels of containers in this value: 0 for a scalar, 1 for a flat tuple,
  /// list or dict, one more for each level of containers inside.
  var nesting: Int {
    switch self {
    case .tuple(_, let nesting): return nesting
    case .list(let list): return list.nesting
    case .dict(let dict): return dict.nesting
    default: return 0
    }
  }

  /// The list or dict this value is, if it is one.
  var container: PickleContainer? {
    switch self {
    case .list(let list): return list
    case .dict(let dict): return dict
    default: return nil
    }
  }
}

/// A list or dict: shared by reference, as in Python (the memo and the
/// stack may hold the same one while it is being filled). `nesting` and
/// `isNested` keep a chain of containers short: Swift frees a value's
/// containers recursively, so a chain thousands deep would overflow the
/// stack when it is freed.
class PickleContainer {
  /// Levels of containers, this one included (see `PickleValue.nesting`).
  var nesting = 1
  /// Set once the container is put inside another; it may not change after
  /// that (`torch.save` fills every container before nesting it), so its
  /// `nesting` stays true and no container can come to hold itself.
  var isNested = false
}

final class PickleList: PickleContainer { var items: [PickleValue] = [] }
final class PickleDict: PickleContainer { var items: [(key: PickleValue, value: PickleValue)] = [] }

/// A small, restricted pickle reader for `torch.save` state dicts. It is not
/// a general unpickler and runs no code: it knows the opcodes of protocols
/// 2-4 that a state dict of tensors uses, accepts only the globals such a
/// file names (OrderedDict, torch's tensor-rebuild functions, the typed
/// storages) and refuses anything else with an error naming the file and
/// the offending opcode or global. Calls are evaluated by this reader, never
/// by Python: `_rebuild_tensor_v2(storage, offset, size, stride, ...)`
/// becomes a `TorchTensorReference` whose bounds are checked.
struct RestrictedUnpickler {
  static let storageTypes: Set<String> = [
    "torch FloatStorage", "torch DoubleStorage", "torch HalfStorage", "torch BFloat16Storage",
    "torch LongStorage", "torch IntStorage", "torch ShortStorage", "torch CharStorage", "torch ByteStorage",
    "torch BoolStorage",
  ]
  static let callables: Set<String> = [
    "collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch._utils _rebuild_parameter",
  ]
  /// The deepest nesting of tuples, lists and dicts a pickle may build. A
  /// state dict nests four levels (the dict, a tensor's `_rebuild_tensor_v2`
  /// arguments, their size tuple; `_metadata`'s dict of dicts); 100 leaves
  /// room and keeps freeing the values, which Swift does recursively, far
  /// inside any thread's stack (a chain of 40,000 tuples overflowed it).
  static let maxNesting = 100
  /// The most dimensions a tensor may have: pops' layers use at most 4, and
  /// the gather walks every dimension for every value.
  static let maxDimensions = 64

  let bytes: [UInt8]
  let path: String
  private var position = 0
  private var stack: [PickleValue] = []
  private var marks: [Int] = []
  private var memo: [Int: PickleValue] = [:]

  init(_ data: Data, path: String) {
    bytes = [UInt8](data)
    self.path = path
  }

  private func fail(_ problem: String) -> ModelFileError {
    ModelFileError(path: path, problem: "data.pkl: \(problem)")
  }

  /// Runs the pickle to its STOP and returns the value it built.
  mutating func load() throws -> PickleValue {
    while true {
      let opcodeOffset = position
      let opcode = try byte()
      switch opcode {
      case 0x80: _ = try byte()  // PROTO
      case 0x95: _ = try take(8)  // FRAME
      case 0x2E:  // STOP
        guard let result = stack.last, stack.count == 1, marks.isEmpty else { throw fail("malformed pickle at STOP") }
        return result
      case 0x63:  // GLOBAL "module\nname\n"
        let module = try line(), name = try line()
        try push(global("\(module) \(name)"))
      case 0x93:  // STACK_GLOBAL
        guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
          throw fail("STACK_GLOBAL without two strings")
        }
        try push(global("\(module) \(name)"))
      case 0x71: memo[Int(try byte())] = try top()  // BINPUT
      case 0x72: memo[Int(try uint32())] = try top()  // LONG_BINPUT
      case 0x94: memo[memo.count] = try top()  // MEMOIZE
      case 0x68: try push(recall(Int(try byte())))  // BINGET
      case 0x6A: try push(recall(Int(try uint32())))  // LONG_BINGET
      case 0x28: marks.append(stack.count)  // MARK
      case 0x29: try push(tuple([]))  // EMPTY_TUPLE
      case 0x85: try push(tuple([try pop()]))  // TUPLE1
      case 0x86:  // TUPLE2
        let b = try pop(), a = try pop()
        try push(tuple([a, b]))
      case 0x87:  // TUPLE3
        let c = try pop(), b = try pop(), a = try pop()
        try push(tuple([a, b, c]))
      case 0x74: try push(tuple(try popMark()))  // TUPLE
      case 0x4E: try push(.none)  // NONE
      case 0x88: try push(.bool(true))  // NEWTRUE
      case 0x89: try push(.bool(false))  // NEWFALSE
      case 0x4B: try push(.int(Int(try byte())))  // BININT1
      case 0x4D: try push(.int(Int(try byte()) | Int(try byte()) << 8))  // BININT2
      case 0x4A: try push(.int(Int(Int32(bitPattern: try uint32()))))  // BININT
      case 0x8A: try push(.int(try long1()))  // LONG1
      case 0x47:  // BINFLOAT (big-endian double)
        let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        try push(.float(Double(bitPattern: raw)))
      case 0x58: try push(.string(try text(Int(try uint32()))))  // BINUNICODE
      case 0x8C: try push(.string(try text(Int(try byte()))))  // SHORT_BINUNICODE
      case 0x7D: try push(.dict(PickleDict()))  // EMPTY_DICT
      case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
      case 0x73:  // SETITEM
        let value = try pop(), key = try pop()
        guard case .dict(let dict) = try top() else { throw fail("SETITEM on a value that is not a dict") }
        try admit([key, value], into: dict)
        dict.items.append((key, value))
      case 0x75:  // SETITEMS
        let items = try popMark()
        guard items.count % 2 == 0, case .dict(let dict) = try top() else { throw fail("malformed SETITEMS") }
        try admit(items, into: dict)
        for i in stride(from: 0, to: items.count, by: 2) { dict.items.append((items[i], items[i + 1])) }
      case 0x61:  // APPEND
        let value = try pop()
        guard case .list(let list) = try top() else { throw fail("APPEND on a value that is not a list") }
        try admit([value], into: list)
        list.items.append(value)
      case 0x65:  // APPENDS
        let values = try popMark()
        guard case .list(let list) = try top() else { throw fail("APPENDS on a value that is not a list") }
        try admit(values, into: list)
        list.items += values
      case 0x51:  // BINPERSID
        try push(.storage(try storage(try pop())))
      case 0x52:  // REDUCE
        let arguments = try pop(), callable = try pop()
        guard case .global(let name) = callable, case .tuple(let args, _) = arguments else {
          throw fail("REDUCE of something that is not an allowed global")
        }
        try push(try call(name, args))
      case 0x62:  // BUILD: an OrderedDict's attributes (torch's `_metadata`); kept out of the result
        _ = try pop()
        guard case .dict = try top() else { throw fail("BUILD on a value that is not an OrderedDict") }
      default:
        let hex = String(opcode, radix: 16)
        throw fail("refuses opcode 0x\(hex.count < 2 ? "0" + hex : hex) at byte \(opcodeOffset) (not used by a torch state dict)")
      }
    }
  }

  /// A tuple of `items`, its nesting checked (see `admit`).
  private func tuple(_ items: [PickleValue]) throws -> PickleValue {
    .tuple(items, nesting: try nesting(of: items, around: 1))
  }

  /// Checks that `items` may go into `container` and records it: a container
  /// already inside another may not change (so none can come to hold itself
  /// and every recorded nesting stays true), and none may hold itself.
  private func admit(_ items: [PickleValue], into container: PickleContainer) throws {
    guard !container.isNested, !items.contains(where: { $0.container === container }) else {
      throw fail("a list or dict is filled after it was put inside another, or put inside itself, at byte \(position) (torch.save never does this)")
    }
    container.nesting = try nesting(of: items, around: container.nesting)
  }

  /// The nesting of a container of `nesting` levels once it holds `items`,
  /// refused beyond `maxNesting`; marks the containers among `items` nested.
  private func nesting(of items: [PickleValue], around nesting: Int) throws -> Int {
    let deepest = items.reduce(nesting) { max($0, $1.nesting + 1) }
    guard deepest <= Self.maxNesting else {
      throw fail("tuples, lists and dicts nest more than \(Self.maxNesting) levels deep at byte \(position) (a state dict nests a few)")
    }
    for item in items { item.container?.isNested = true }
    return deepest
  }

  private func global(_ name: String) throws -> PickleValue {
    guard Self.callables.contains(name) || Self.storageTypes.contains(name) else {
      throw fail("refuses global '\(name)': only a state dict of tensors can be imported, and nothing in the file is run")
    }
    return .global(name)
  }

  /// A persistent id: ('storage', StorageType, key, location, numel).
  private func storage(_ id: PickleValue) throws -> TorchStorageReference {
    guard case .tuple(let parts, _) = id, parts.count == 5, case .string("storage") = parts[0],
      case .global(let type) = parts[1], Self.storageTypes.contains(type), case .string(let key) = parts[2],
      case .int(let count) = parts[4], count >= 0
    else { throw fail("unsupported persistent id (expected a torch storage)") }
    return TorchStorageReference(type: type, key: key, count: count)
  }

  /// Evaluates an allowed call.
  private func call(_ name: String, _ args: [PickleValue]) throws -> PickleValue {
    switch name {
    case "collections OrderedDict":
      guard args.isEmpty else { throw fail("OrderedDict called with arguments") }
      return .dict(PickleDict())
    case "torch._utils _rebuild_tensor_v2":
      guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
        case .tuple(let size, _) = args[2], case .tuple(let stride, _) = args[3]
      else { throw fail("_rebuild_tensor_v2 with unexpected arguments") }
      guard size.count <= Self.maxDimensions else {
        throw fail("a tensor with \(size.count) dimensions (at most \(Self.maxDimensions) are read)")
      }
      let shape = try size.map(integer), strides = try stride.map(integer)
      guard shape.count == strides.count, offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
        throw fail("a tensor with a bad shape \(shape), stride \(strides) or offset \(offset)")
      }
      // The last element the view reaches must lie inside the storage.
      if !shape.contains(0) {
        var last = offset
        for (n, s) in zip(shape, strides) {
          let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
          let (sum, o2) = last.addingReportingOverflow(step)
          guard !o1 && !o2 else { throw fail("a tensor's strides overflow") }
          last = sum
        }
        guard last < storage.count else {
          throw fail("a tensor of shape \(shape) at offset \(offset) reaches element \(last) of a storage of \(storage.count)")
        }
      }
      return .tensor(TorchTensorReference(storage: storage, offset: offset, shape: shape, stride: strides))
    case "torch._utils _rebuild_parameter":
      guard let first = args.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
      return first
    default:
      throw fail("refuses to call '\(name)'")
    }
  }

  private func integer(_ value: PickleValue) throws -> Int {
    guard case .int(let n) = value else { throw fail("expected an integer in a tensor's size or stride") }
    return n
  }

  private func recall(_ index: Int) throws -> PickleValue {
    guard let value = memo[index] else { throw fail("memo index \(index) was never stored") }
    return value
  }

  private mutating func push(_ value: PickleValue) throws {
    guard stack.count < 1 << 20 else { throw fail("the pickle's stack grows without bound") }
    stack.append(value)
  }

  private mutating func pop() throws -> PickleValue {
    guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow at byte \(position)") }
    return stack.removeLast()
  }

  private func top() throws -> PickleValue {
    guard let value = stack.last else { throw fail("stack underflow at byte \(position)") }
    return value
  }

  private mutating func popMark() throws -> [PickleValue] {
    guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no MARK to pop at byte \(position)") }
    let items = Array(stack[mark...])
    stack.removeSubrange(mark...)
    return items
  }

  private mutating func byte() throws -> UInt8 {
    guard position < bytes.count else { throw fail("truncated pickle (no STOP)") }
    defer { position += 1 }
    return bytes[position]
  }

  private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
    guard n >= 0, n <= bytes.count - position else { throw fail("truncated pickle: \(n) bytes wanted at byte \(position)") }
    defer { position += n }
    return bytes[position..<position + n]
  }

  private mutating func uint32() throws -> UInt32 {
    try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
  }

  private mutating func long1() throws -> Int {
    let n = Int(try byte())
    guard n <= 8 else { throw fail("an integer of \(n) bytes is too large") }
    let digits = try take(n)
    var value = 0
    for (i, b) in digits.enumerated() { value |= Int(b) << (8 * i) }
    // Two's complement: below 8 bytes, a set top bit makes the number negative (at 8 the shifts already did).
    if n < 8, let top = digits.last, top & 0x80 != 0 { value -= 1 << (8 * n) }
    return value
  }

  private mutating func text(_ n: Int) throws -> String {
    String(decoding: try take(n), as: UTF8.self)
  }

  private mutating func line() throws -> String {
    guard let end = bytes[position..<min(bytes.count, position + 256)].firstIndex(of: 0x0A) else {
      throw fail("a GLOBAL name without an end of line")
    }
    defer { position = end + 1 }
    return String(decoding: bytes[position..<end], as: UTF8.self)
  }
}
