import Foundation
import PoPSCore

/// Values written into the shell scripts `pops sweep --engine slurm` makes
/// (and the command line a cell's log starts with). A path there is user
/// text: unquoted, a space splits it and `$(...)`, backticks or `;` run
/// commands when the script runs; a newline ends the line it is on, even
/// inside a comment. So every value is quoted one way, and a value with a
/// control character is refused before anything is written.
public enum ShellText {
  /// `text` as one POSIX sh word: inside single quotes sh expands nothing
  /// (no `$`, backtick, backslash, glob or word splitting), and a single
  /// quote, which cannot appear there, is written `'\''` (end the quotes,
  /// an escaped quote, reopen them). `sh -c 'printf %s ' + quoted(x)` prints x.
  public static func quoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// `words` quoted and joined by spaces: a command line sh splits back into `words`.
  public static func commandLine(_ words: [String]) -> String {
    words.map(quoted).joined(separator: " ")
  }

  /// Throws an error naming `option` (`--out`, `the study path`) when
  /// `text` holds a control character: no script may hold one.
  public static func checkPrintable(_ text: String, option: String) throws {
    guard let character = ControlCharacters.first(in: text) else { return }
    throw ConfigError(
      "\(option) must not contain a control character (a newline, tab, escape...): found \(ControlCharacters.code(character)) in \(text.debugDescription)")
  }
}
