import Foundation

/// What Foundation's JSON parser lets through and a model file must not
/// have: the same key twice in one object (the parser silently keeps one of
/// them, so two readers could see two different files). Package-wide: the
/// importers hold the JSON inside other formats (SB3's `data`) to it too.
package enum StrictJSON {
  /// The first key that appears twice in one object of `data` (compared
  /// after unescaping, so "a" and "\u0061" are the same key), or nil. Only
  /// meaningful for text the JSON parser accepts.
  package static func duplicateKey(in data: Data) -> String? {
    let bytes = [UInt8](data)
    var i = 0
    // One entry per open container: the keys seen so far, or nil for an array.
    var stack: [Set<String>?] = []
    var expectKey = false
    while i < bytes.count {
      let byte = bytes[i]
      switch byte {
      case UInt8(ascii: "{"):
        stack.append([])
        expectKey = true
        i += 1
      case UInt8(ascii: "["):
        stack.append(nil)
        expectKey = false
        i += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        _ = stack.popLast()
        expectKey = false
        i += 1
      case UInt8(ascii: ","):
        expectKey = stack.last.map { $0 != nil } ?? false
        i += 1
      case UInt8(ascii: "\""):
        guard let (text, end) = string(bytes, from: i) else { return nil }
        if expectKey, var keys = stack.last ?? nil {
          if keys.contains(text) { return text }
          keys.insert(text)
          stack[stack.count - 1] = keys
          expectKey = false
        }
        i = end
      default:
        i += 1
      }
    }
    return nil
  }

  /// The unescaped string starting at the quote at `start`, and the index after its closing quote.
  private static func string(_ bytes: [UInt8], from start: Int) -> (String, Int)? {
    var out: [UInt8] = []
    var units: [UInt16] = []
    func flushUnits() {
      if units.isEmpty { return }
      out.append(contentsOf: Array(String(decoding: units, as: UTF16.self).utf8))
      units = []
    }
    var i = start + 1
    while i < bytes.count {
      let byte = bytes[i]
      if byte == UInt8(ascii: "\"") {
        flushUnits()
        return (String(decoding: out, as: UTF8.self), i + 1)
      }
      if byte == UInt8(ascii: "\\"), i + 1 < bytes.count {
        let escaped = bytes[i + 1]
        if escaped == UInt8(ascii: "u"), i + 5 < bytes.count,
          let unit = UInt16(String(decoding: bytes[(i + 2)...(i + 5)], as: UTF8.self), radix: 16)
        {
          units.append(unit)
          i += 6
          continue
        }
        flushUnits()
        let plain: [UInt8: UInt8] = [
          UInt8(ascii: "n"): 10, UInt8(ascii: "t"): 9, UInt8(ascii: "r"): 13, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12,
        ]
        out.append(plain[escaped] ?? escaped)
        i += 2
        continue
      }
      flushUnits()
      out.append(byte)
      i += 1
    }
    return nil
  }
}
