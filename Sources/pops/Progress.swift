import Foundation
import PoPS

/// A progress line that rewrites itself on a terminal and prints plain lines
/// (at most one every few seconds, plus every permanent one) elsewhere.
final class ProgressLine {
  /// Lines go to standard error (when stdout carries a --json summary).
  private let toStandardError: Bool
  private let interactive: Bool
  private var lastPrint = Date.distantPast
  private var lastLogged = Date.distantPast
  private var active = false
  /// Where the lines are also appended (a run's run.log), once its folder exists.
  var log: URL?

  init(toStandardError: Bool = false) {
    self.toStandardError = toStandardError
    interactive = isatty(toStandardError ? STDERR_FILENO : STDOUT_FILENO) != 0
  }

  private func emit(_ text: String, terminator: String = "\n") {
    if toStandardError {
      FileHandle.standardError.write(Data((text + terminator).utf8))
    } else {
      print(text, terminator: terminator)
    }
  }

  /// A line of its own (a summary line; on stderr with --json).
  func say(_ text: String) {
    finish()
    emit(text)
    append(text)
  }

  func update(_ text: String, permanent: Bool = false) {
    if interactive {
      emit("\r\u{1B}[K" + text, terminator: permanent ? "\n" : "")
      active = !permanent
    } else if permanent || Date().timeIntervalSince(lastPrint) >= 5 {
      emit(text)
      lastPrint = Date()
    }
    fflush(nil)  // all C streams: stdout is block-buffered when not a terminal
    if permanent || Date().timeIntervalSince(lastLogged) >= 5 {
      append(text)
      lastLogged = Date()
    }
  }

  /// Appends a line to `log` if its folder exists (a run creates it when it
  /// starts). The log only mirrors the console: a line it cannot take (a full
  /// disk, or a link or FIFO in its place, which `FileOutput` refuses) is
  /// dropped, and the run's next file write reports the reason.
  func append(_ text: String) {
    guard let log, FileManager.default.fileExists(atPath: log.deletingLastPathComponent().path),
      let output = try? FileOutput(appendingTo: log.path)
    else { return }
    try? output.write(Data((text + "\n").utf8))
  }

  func finish() {
    if interactive && active { emit("") }
    active = false
  }
}

func formatDuration(_ seconds: Double) -> String {
  guard seconds.isFinite, seconds >= 0 else { return "?" }
  let s = Int(seconds.rounded())
  if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
  if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
  return "\(s)s"
}
