import Foundation
import PoPS
import PoPSNN
import Testing

/// report.html as a browser shows it: headless Chromium (make deps-browser)
/// renders a screenshot, and every file the page links or embeds exists.
struct ReportBrowserTests {
  /// The relative files `src="..."` and `href="..."` in `html` name.
  static func linkedFiles(_ html: String) -> [String] {
    let pattern = try! NSRegularExpression(pattern: ##"(?:src|href)="([^"#:]+)""##)
    let range = NSRange(html.startIndex..., in: html)
    return pattern.matches(in: html, range: range).compactMap { Range($0.range(at: 1), in: html).map { String(html[$0]) } }
  }

  @Test func theReportRendersInChromiumWithEveryResourcePresent() throws {
    let folder = temporaryFolder()
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    // A run that trains its own teacher, so the report links the teacher's curve.
    try OutputFolderTests.tinyConfig.write(toFile: "\(folder)/tiny.yaml", atomically: true, encoding: .utf8)
    let r = try pops([
      "run", "--env", "CartPole-v0", "--out", "\(folder)/out", "--config", "\(folder)/tiny.yaml",
      "--set", "teacher.steps=10000",
    ])
    #expect(r.status == 0, "\(r.output)")
    let report = "\(folder)/out/report.html"
    let html = try String(contentsOfFile: report, encoding: .utf8)
    let linked = Self.linkedFiles(html)
    #expect(linked.contains("teacher/curve.svg"), "the teacher's curve is linked: \(linked)")
    for file in linked {
      #expect(FileManager.default.fileExists(atPath: "\(folder)/out/\(file)"), "report.html names a missing \(file)")
    }

    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
      .first { FileManager.default.isExecutableFile(atPath: $0) }
    let browser = try #require(chromium, "no Chromium: make deps-browser installs it")
    let shot = "\(folder)/shot.png"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: browser)
    process.arguments = [
      "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,3000",
      "--screenshot=\(shot)", URL(fileURLWithPath: report).absoluteString,
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let png = try Data(contentsOf: URL(fileURLWithPath: shot))
    // A PNG of the window's size, and far from blank (a blank page compresses to a few KB).
    try #require(png.count > 24 && png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
    #expect(width == 1280 && height == 3000)
    #expect(png.count > 60_000, "screenshot is \(png.count) bytes: did the page render?")
  }
}
