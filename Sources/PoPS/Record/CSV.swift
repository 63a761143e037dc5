/// Comma-separated text as RFC 4180 describes it: pops writes results.csv,
/// summary.csv and metrics.csv with it and reads metrics.csv back with it.
///
/// A field is written as it is unless it holds a comma, a double quote, a
/// carriage return or a line feed; then it is enclosed in double quotes and
/// each quote inside is doubled (`a,"b"` becomes `"a,""b"""`). So plain
/// values (numbers, architectures such as `4-64-64-2`) are written bare and a
/// file of them is the same bytes as before this writer existed.
///
/// One deliberate difference from RFC 4180: lines end with a line feed
/// ("\n"), not CRLF. pops has always written LF, its committed results stay
/// byte for byte valid, and the readers that matter (Python's `csv` module,
/// pandas, spreadsheets, `records(in:)` here) take either ending.
public enum CSV {
  /// `text` as one field of a line: bare, or quoted when it holds a comma,
  /// a double quote, CR or LF.
  public static func field(_ text: String) -> String {
    // Scalars, not Characters: "\r\n" is one Character and would hide its LF.
    guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else {
      return text
    }
    var quoted = String.UnicodeScalarView()
    quoted.append("\"")
    for scalar in text.unicodeScalars {
      quoted.append(scalar)
      if scalar == "\"" { quoted.append("\"") }
    }
    quoted.append("\"")
    return String(quoted)
  }

  /// One record: its fields, each as `field(_:)` writes it, joined by
  /// commas, without a line end. A record of one empty field is `""`, so it
  /// is not read as an empty line (Python's `csv.writer` does the same).
  public static func line(_ fields: [String]) -> String {
    fields == [""] ? "\"\"" : fields.map(field).joined(separator: ",")
  }

  /// A whole file: the header line, then one line per row, each ended by "\n".
  public static func text(header: [String], rows: [[String]]) -> String {
    ([header] + rows).map { line($0) + "\n" }.joined()
  }

  /// The records of CSV `text`, each a list of fields with the quoting
  /// undone. Quoted fields may hold commas, doubled quotes and line breaks;
  /// lines may end with LF or CRLF; empty lines are skipped. A quote inside
  /// a bare field is kept as a character, as Python's `csv` module does, and
  /// a quoted field left open runs to the end of the text.
  public static func records(in text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = String.UnicodeScalarView()
    // Whether the current field has begun (a character or an opening quote).
    var begun = false
    var inQuotes = false
    let scalars = Array(text.unicodeScalars)
    var i = 0
    func endField() {
      record.append(String(field))
      field = String.UnicodeScalarView()
      begun = false
    }
    func endRecord() {
      if begun || !record.isEmpty { endField() }
      if !record.isEmpty { records.append(record) }
      record = []
    }
    while i < scalars.count {
      let c = scalars[i]
      i += 1
      if inQuotes {
        if c != "\"" {
          field.append(c)
        } else if i < scalars.count && scalars[i] == "\"" {
          field.append(c)
          i += 1
        } else {
          inQuotes = false
        }
        continue
      }
      switch c {
      case "\"" where !begun:
        inQuotes = true
        begun = true
      case ",":
        endField()
      case "\n":
        endRecord()
      case "\r":
        if i < scalars.count && scalars[i] == "\n" { i += 1 }
        endRecord()
      default:
        field.append(c)
        begun = true
      }
    }
    endRecord()
    return records
  }
}
