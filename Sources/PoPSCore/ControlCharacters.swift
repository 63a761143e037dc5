/// Control characters in text that pops writes into scripts or hands to
/// another program (Slurm scripts, Gymnasium ids): one test for all of them,
/// so every caller refuses the same set.
public enum ControlCharacters {
  /// Whether `scalar` is a control character: C0 (U+0000-U+001F: a newline,
  /// a carriage return, a tab, an escape...), DEL (U+007F) or C1
  /// (U+0080-U+009F, which some terminals read as escapes).
  public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
  }

  /// The first control character in `text`, or nil.
  public static func first(in text: String) -> Unicode.Scalar? {
    text.unicodeScalars.first(where: isControl)
  }

  /// `scalar` as "U+000A" (at least four hex digits), for error messages.
  public static func code(_ scalar: Unicode.Scalar) -> String {
    let hex = String(scalar.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
  }
}
