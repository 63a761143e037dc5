import Foundation
import PoPS
import Testing

/// Writes `torch.save`-shaped files byte by byte, so tests can forge the
/// hostile ones: stored zip archives (with their CRC-32s right, so the
/// reader gets past them) and the protocol-2 pickle of a state dict, laid
/// out as torch writes it.
enum TorchForge {
  /// One tensor of a forged state dict: a view of the float32 storage
  /// `data/<key>`, which the pickle says holds `count` values.
  struct View {
    var name: String
    var key = "0"
    var count: Int
    var offset = 0
    var shape: [Int]
    var stride: [Int]

    /// A contiguous view of a whole storage of `shape`.
    init(_ name: String, key: String = "0", shape: [Int]) {
      self.name = name
      self.key = key
      count = shape.reduce(1, *)
      self.shape = shape
      stride = shape.indices.map { shape[($0 + 1)...].reduce(1, *) }
    }

    init(_ name: String, key: String = "0", count: Int, offset: Int = 0, shape: [Int], stride: [Int]) {
      (self.name, self.key, self.count, self.offset, self.shape, self.stride) = (name, key, count, offset, shape, stride)
    }
  }

  // MARK: Pickles

  /// Pickle opcodes, appended in order.
  struct Pickle {
    var bytes: [UInt8] = [0x80, 0x02]  // PROTO 2

    mutating func op(_ code: UInt8) { bytes.append(code) }

    mutating func global(_ module: String, _ name: String) {
      op(0x63)  // GLOBAL
      bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func string(_ text: String) {
      let utf8 = Array(text.utf8)
      op(0x58)  // BINUNICODE
      bytes += le32(UInt32(utf8.count)) + utf8
    }

    /// BININT1, BININT or LONG1, as Python picks.
    mutating func int(_ n: Int) {
      if (0..<256).contains(n) {
        bytes += [0x4B, UInt8(n)]
      } else if let small = Int32(exactly: n) {
        bytes += [0x4A] + le32(UInt32(bitPattern: small))
      } else {
        bytes += [0x8A, 8] + withUnsafeBytes(of: Int64(n).littleEndian) { Array($0) }
      }
    }

    mutating func tuple(_ items: [Int]) {
      op(0x28)  // MARK
      for n in items { int(n) }
      op(0x74)  // TUPLE
    }

    mutating func memoize() { op(0x94) }
    mutating func recall(_ index: Int) { bytes += [0x6A] + le32(UInt32(index)) }  // LONG_BINGET

    /// `OrderedDict()`, as torch pickles an empty one.
    mutating func orderedDict() {
      global("collections", "OrderedDict")
      op(0x29)  // EMPTY_TUPLE
      op(0x52)  // REDUCE
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    mutating func tensor(_ view: View) {
      global("torch._utils", "_rebuild_tensor_v2")
      op(0x28)  // MARK
      op(0x28)  // MARK: the persistent id
      string("storage")
      global("torch", "FloatStorage")
      string(view.key)
      string("cpu")
      int(view.count)
      op(0x74)  // TUPLE
      op(0x51)  // BINPERSID
      int(view.offset)
      tuple(view.shape)
      tuple(view.stride)
      op(0x89)  // NEWFALSE
      orderedDict()
      op(0x74)  // TUPLE
      op(0x52)  // REDUCE
    }

    mutating func stop() -> [UInt8] {
      op(0x2E)
      return bytes
    }
  }

  /// The data.pkl of a state dict of `views`, with torch's `_metadata`.
  static func statePickle(_ views: [View]) -> [UInt8] {
    var pickle = Pickle()
    pickle.orderedDict()
    pickle.op(0x28)  // MARK
    for view in views {
      pickle.string(view.name)
      pickle.tensor(view)
    }
    pickle.op(0x75)  // SETITEMS
    pickle.op(0x7D)  // EMPTY_DICT: the OrderedDict's attributes
    pickle.string("_metadata")
    pickle.orderedDict()
    pickle.string("")
    pickle.op(0x7D)
    pickle.string("version")
    pickle.int(1)
    pickle.op(0x73)  // SETITEM
    pickle.op(0x73)
    pickle.op(0x73)
    pickle.op(0x62)  // BUILD
    return pickle.stop()
  }

  /// Float32 bytes of `values`, little-endian, as a storage member holds them.
  static func storage(_ values: [Float]) -> [UInt8] {
    values.flatMap { le32($0.bitPattern) }
  }

  /// The members of a torch.save archive in folder `archive/`: data.pkl,
  /// byteorder, then the storages.
  static func torchMembers(pickle: [UInt8], storages: [String: [Float]]) -> [(name: String, bytes: [UInt8])] {
    [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))]
      + storages.keys.sorted().map { ("archive/data/\($0)", storage(storages[$0] ?? [])) }
  }

  /// A torch.save archive of `views` over `storages`.
  static func torchFile(_ views: [View], storages: [String: [Float]]) -> [UInt8] {
    zip(torchMembers(pickle: statePickle(views), storages: storages))
  }

  // MARK: Zip archives

  /// A stored zip of `members`, in order, with a central directory.
  static func zip(_ members: [(name: String, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [], directory: [UInt8] = []
    for (name, bytes) in members {
      directory += centralEntry(name, bytes, localHeaderAt: out.count)
      out += localHeader(name, bytes) + bytes
    }
    return out + directory + endRecord(count: members.count, directorySize: directory.count, directoryAt: out.count)
  }

  /// A local file header of a stored member (its bytes follow it).
  static func localHeader(_ name: String, _ bytes: [UInt8]) -> [UInt8] {
    let utf8 = Array(name.utf8)
    let size = le32(UInt32(bytes.count))
    return joined([le32(0x0403_4B50), le16(20), le16(0), le16(0), le32(0), le32(crc32(bytes)), size, size, le16(UInt16(utf8.count)), le16(0), utf8])
  }

  /// A central directory entry of a stored member whose local header is at `offset`.
  static func centralEntry(_ name: String, _ bytes: [UInt8], localHeaderAt offset: Int) -> [UInt8] {
    let utf8 = Array(name.utf8)
    let size = le32(UInt32(bytes.count))
    return joined([
      le32(0x0201_4B50), le16(20), le16(20), le16(0), le16(0), le32(0), le32(crc32(bytes)), size, size,
      le16(UInt16(utf8.count)), le16(0), le16(0), le16(0), le16(0), le32(0), le32(UInt32(offset)), utf8,
    ])
  }

  static func endRecord(count: Int, directorySize: Int, directoryAt offset: Int) -> [UInt8] {
    joined([le32(0x0605_4B50), le16(0), le16(0), le16(UInt16(count)), le16(UInt16(count)), le32(UInt32(directorySize)), le32(UInt32(offset)), le16(0)])
  }

  /// The members of a stored zip, read through its central directory: lets
  /// a test take a fixture apart, change one member and zip it again.
  static func members(of zip: [UInt8]) throws -> [(name: String, bytes: [UInt8])] {
    func u16(_ at: Int) -> Int { Int(zip[at]) | Int(zip[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
    let end = try #require((0...(zip.count - 22)).reversed().first { u32($0) == 0x0605_4B50 })
    var offset = u32(end + 16), members: [(name: String, bytes: [UInt8])] = []
    for _ in 0..<u16(end + 10) {
      let nameLength = u16(offset + 28), size = u32(offset + 20), header = u32(offset + 42)
      let name = String(decoding: zip[offset + 46..<offset + 46 + nameLength], as: UTF8.self)
      let start = header + 30 + u16(header + 26) + u16(header + 28)
      members.append((name, Array(zip[start..<start + size])))
      offset += 46 + nameLength + u16(offset + 30) + u16(offset + 32)
    }
    return members
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    return ~crc
  }

  /// The parts one after another (one call, not a chain of `+`, which the type checker finds slow).
  static func joined(_ parts: [[UInt8]]) -> [UInt8] { parts.flatMap { $0 } }

  static func le16(_ n: UInt16) -> [UInt8] { [UInt8(n & 0xFF), UInt8(n >> 8)] }
  static func le32(_ n: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } }
  static func le64(_ n: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } }

  // MARK: Files

  /// A scratch folder for forged files; `remove()` when done.
  struct Folder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pops-torch-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }

    /// `bytes` written as `name` in the folder.
    func write(_ bytes: [UInt8], as name: String) throws -> URL {
      let file = url.appendingPathComponent(name)
      try Data(bytes).write(to: file)
      return file
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
  }

  /// The message `TeacherImport.load` throws for `bytes` saved as `name`:
  /// a ModelFileError's, or an issue recorded (and "") for anything else.
  static func error(_ bytes: [UInt8], as name: String, in folder: Folder, options: ImportOptions = ImportOptions()) throws -> String {
    let file = try folder.write(bytes, as: name)
    do {
      _ = try TeacherImport.load(file, options: options)
      Issue.record("\(name) loaded")
    } catch let error as ModelFileError {
      #expect(error.path.hasPrefix(file.path), "the error names the file: \(error)")
      return error.description
    } catch {
      Issue.record("\(name): not a ModelFileError: \(error)")
    }
    return ""
  }
}
