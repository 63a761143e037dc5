import Foundation

/// A read-only view of a zip archive's stored (uncompressed) entries: what
/// `torch.save` and Stable-Baselines3 write. Every entry's CRC-32 is checked
/// when it is read; compressed entries and ZIP64 archives are refused with a
/// clear error. So that every zip reader sees the same files, an archive is
/// refused when it names a member twice (pops would read the first, Python's
/// zipfile the last), when a member's local header names another file than
/// its central directory entry, when two members' bytes overlap (one
/// stretch of the file read as many members), or when the central directory
/// does not end exactly where the end records start or holds other entries
/// than the end record counts (Python's zipfile would then shift every
/// member by the gap, or read entries pops does not).
struct ZipArchive {
  struct Entry {
    var name: String
    /// The general-purpose flags (bit 0: encrypted).
    var flags: UInt16
    var method: UInt16
    var crc: UInt32
    var compressedSize: Int
    var size: Int
    var localHeaderOffset: Int
    /// Where the member's bytes start: after its local header, name and extra field.
    var dataOffset: Int
  }

  let data: Data
  /// The file, for errors.
  let path: String
  private(set) var entries: [Entry] = []
  /// Each member's place in `entries`, by name.
  private var positions: [String: Int] = [:]

  /// True when `data` starts like a zip file (a local file header).
  static func looksLikeZip(_ data: Data) -> Bool { data.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

  init(_ data: Data, path: String) throws {
    self.data = data
    self.path = path
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
    // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB, at the end.
    guard data.count >= 22 else { throw fail("truncated zip archive (\(data.count) bytes)") }
    let searchStart = max(0, data.count - 22 - 65_535)
    var end: Int? = nil
    var i = data.count - 22
    while i >= searchStart {
      if u32(i) == 0x0605_4B50 { end = i; break }
      i -= 1
    }
    guard let end else { throw fail("not a complete zip archive (no end-of-central-directory record; truncated?)") }
    let count = Int(u16(end + 10))
    let directorySize = Int(u32(end + 12))
    let directoryOffset = Int(u32(end + 16))
    guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw fail("ZIP64 archives are not supported") }
    // The directory ends at the end record, or at a ZIP64 end record (56 bytes) and its locator (20) just
    // before it, which torch.save writes; Python's zipfile reads the ZIP64 record's numbers when it is there.
    var directoryEnd = end
    if end >= 76, u32(end - 20) == 0x0706_4B50, u32(end - 76) == 0x0606_4B50 {
      directoryEnd = end - 76
      let numbers = [24, 32, 40, 48].map { u64(directoryEnd + $0) }
      guard numbers == [count, count, directorySize, directoryOffset].map(UInt64.init) else {
        throw fail("the zip's ZIP64 end record says \(numbers[1]) entries, \(numbers[2]) bytes at byte \(numbers[3]), its end record \(count), \(directorySize) at \(directoryOffset)")
      }
    }
    guard directoryOffset + directorySize == directoryEnd else {
      throw fail("zip central directory (bytes \(directoryOffset) to \(directoryOffset + directorySize)) does not end where the end record starts (byte \(directoryEnd)): truncated, or data between them")
    }
    var offset = directoryOffset
    for _ in 0..<count {
      guard offset + 46 <= directoryEnd, u32(offset) == 0x0201_4B50 else { throw fail("corrupt zip central directory at byte \(offset)") }
      let nameLength = Int(u16(offset + 28)), extraLength = Int(u16(offset + 30)), commentLength = Int(u16(offset + 32))
      guard offset + 46 + nameLength <= directoryEnd else { throw fail("corrupt zip central directory at byte \(offset)") }
      let name = text(offset + 46, nameLength)
      guard positions.updateValue(entries.count, forKey: name) == nil else {
        throw fail("the zip archive names member '\(name)' twice: zip readers disagree on which one counts, so pops reads neither")
      }
      let size = Int(u32(offset + 24)), localHeaderOffset = Int(u32(offset + 42))
      if size == 0xFFFF_FFFF || localHeaderOffset == 0xFFFF_FFFF { throw fail("ZIP64 archives are not supported") }
      // The local header: it must name the same file, and it says where the bytes start.
      guard localHeaderOffset + 30 <= directoryOffset, u32(localHeaderOffset) == 0x0403_4B50 else {
        throw fail("zip member '\(name)': bad local header at byte \(localHeaderOffset) (truncated archive?)")
      }
      let localNameLength = Int(u16(localHeaderOffset + 26)), localExtraLength = Int(u16(localHeaderOffset + 28))
      guard localHeaderOffset + 30 + localNameLength <= directoryOffset, text(localHeaderOffset + 30, localNameLength) == name else {
        throw fail("zip member '\(name)': its local header at byte \(localHeaderOffset) names another file")
      }
      entries.append(
        Entry(
          name: name, flags: u16(offset + 8), method: u16(offset + 10), crc: u32(offset + 16), compressedSize: Int(u32(offset + 20)), size: size,
          localHeaderOffset: localHeaderOffset, dataOffset: localHeaderOffset + 30 + localNameLength + localExtraLength))
      offset += 46 + nameLength + extraLength + commentLength
    }
    guard offset == directoryEnd else {
      throw fail("zip central directory is not filled by exactly the \(count) entries its end record counts (other readers would see other members)")
    }
    // Each member's header and bytes lie before the central directory, apart from every other member's.
    var previous: Entry? = nil
    for entry in entries.sorted(by: { $0.localHeaderOffset < $1.localHeaderOffset }) {
      if let previous, previous.dataOffset + previous.compressedSize > entry.localHeaderOffset {
        throw fail("zip members '\(previous.name)' and '\(entry.name)' overlap: one stretch of the file read as two members")
      }
      guard entry.dataOffset + entry.compressedSize <= directoryOffset else {
        throw fail("zip member '\(entry.name)': its \(entry.compressedSize) bytes run past the end of the file (truncated archive?)")
      }
      previous = entry
    }
  }

  /// The first entry whose name satisfies `matches` (names are unique).
  func entry(where matches: (String) -> Bool) -> Entry? { entries.first { matches($0.name) } }

  /// The entry named `name`, found without a scan (a torch file names a
  /// member for each of its storages).
  func entry(named name: String) -> Entry? { positions[name].map { entries[$0] } }

  /// The bytes of `entry`, CRC-checked.
  func read(_ entry: Entry) throws -> Data {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: "zip entry \(entry.name): \(problem)") }
    guard entry.method == 0 else {
      throw fail("compressed with method \(entry.method); only stored entries (as torch.save and Stable-Baselines3 write) are supported")
    }
    guard entry.flags & 1 == 0 else { throw fail("it is encrypted") }
    // The init checked that the bytes lie inside the file.
    guard entry.size == entry.compressedSize else { throw fail("a stored entry of \(entry.compressedSize) bytes claims \(entry.size)") }
    let bytes = data.subdata(in: data.startIndex + entry.dataOffset..<data.startIndex + entry.dataOffset + entry.size)
    guard CRC32.checksum(bytes) == entry.crc else { throw fail("CRC-32 mismatch: the archive is corrupt") }
    return bytes
  }

  private func text(_ offset: Int, _ length: Int) -> String {
    String(decoding: data[data.startIndex + offset..<data.startIndex + offset + length], as: UTF8.self)
  }

  private func u16(_ offset: Int) -> UInt16 {
    UInt16(data[data.startIndex + offset]) | UInt16(data[data.startIndex + offset + 1]) << 8
  }

  private func u32(_ offset: Int) -> UInt32 {
    UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16
  }

  private func u64(_ offset: Int) -> UInt64 {
    UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32
  }
}

/// CRC-32 (IEEE 802.3, zlib's), as zip archives use.
enum CRC32 {
  private static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func checksum(_ data: Data) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    data.withUnsafeBytes { bytes in
      for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
  }
}
