import Foundation

/// A read-only view of a zip archive's stored (uncompressed) entries: what
/// `torch.save` and Stable-Baselines3 write. Every entry's CRC-32 is checked
/// when it is read; compressed entries and ZIP64 archives are refused with a
/// clear error.
struct ZipArchive {
  struct Entry {
    var name: String
    var method: UInt16
    var crc: UInt32
    var compressedSize: Int
    var size: Int
    var localHeaderOffset: Int
  }

  let data: Data
  /// The file, for errors.
  let path: String
  private(set) var entries: [Entry] = []

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
    guard directoryOffset + directorySize <= end else { throw fail("zip central directory lies outside the file (truncated?)") }
    var offset = directoryOffset
    for _ in 0..<count {
      guard offset + 46 <= end, u32(offset) == 0x0201_4B50 else { throw fail("corrupt zip central directory at byte \(offset)") }
      let nameLength = Int(u16(offset + 28)), extraLength = Int(u16(offset + 30)), commentLength = Int(u16(offset + 32))
      guard offset + 46 + nameLength <= end else { throw fail("corrupt zip central directory at byte \(offset)") }
      let name = String(decoding: data[data.startIndex + offset + 46..<data.startIndex + offset + 46 + nameLength], as: UTF8.self)
      let entry = Entry(
        name: name, method: u16(offset + 10), crc: u32(offset + 16), compressedSize: Int(u32(offset + 20)),
        size: Int(u32(offset + 24)), localHeaderOffset: Int(u32(offset + 42)))
      if entry.size == 0xFFFF_FFFF || entry.localHeaderOffset == 0xFFFF_FFFF { throw fail("ZIP64 archives are not supported") }
      entries.append(entry)
      offset += 46 + nameLength + extraLength + commentLength
    }
  }

  /// The first entry whose name satisfies `matches`.
  func entry(where matches: (String) -> Bool) -> Entry? { entries.first { matches($0.name) } }

  /// The bytes of `entry`, CRC-checked.
  func read(_ entry: Entry) throws -> Data {
    func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: "zip entry \(entry.name): \(problem)") }
    guard entry.method == 0 else {
      throw fail("compressed with method \(entry.method); only stored entries (as torch.save and Stable-Baselines3 write) are supported")
    }
    let header = entry.localHeaderOffset
    guard header + 30 <= data.count, u32(header) == 0x0403_4B50 else { throw fail("bad local header (truncated archive?)") }
    let start = header + 30 + Int(u16(header + 26)) + Int(u16(header + 28))
    guard entry.size == entry.compressedSize, start + entry.size <= data.count else {
      throw fail("its \(entry.size) bytes run past the end of the file (truncated archive?)")
    }
    let bytes = data.subdata(in: data.startIndex + start..<data.startIndex + start + entry.size)
    guard CRC32.checksum(bytes) == entry.crc else { throw fail("CRC-32 mismatch: the archive is corrupt") }
    return bytes
  }

  private func u16(_ offset: Int) -> UInt16 {
    UInt16(data[data.startIndex + offset]) | UInt16(data[data.startIndex + offset + 1]) << 8
  }

  private func u32(_ offset: Int) -> UInt32 {
    UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16
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
