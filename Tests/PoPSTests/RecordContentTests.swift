import Foundation
import PoPS
import Testing

struct RecordContentTests {
  @Test func theCSVHasOneRowPerNetwork() throws {
    let (record, _, student) = try handMadeRecord()
    let rows = record.csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    #expect(rows.map(\.count) == [12, 12, 12, 12, 12])
    #expect(rows[0].joined(separator: ",") == "step,stage,architecture,weights,non_zero,size_percent,non_zero_per_layer,redundancy_per_layer,score_mean,score_std,score_episodes,seconds")
    #expect(rows.dropFirst().map { $0[0] + " " + $0[1] } == ["0 teacher", "1 pruned", "1 student", "1 final"])
    let pruned = rows[2]
    #expect(pruned[2] == "4-8-8-2" && pruned[3] == "112")
    #expect(pruned[6] == "16;32;8" && pruned[4] == "56", "half of each matrix kept")
    #expect(pruned[7] == "0.5000;0.5000;0.5000" && pruned[11] == "12.0")
    let studentRow = rows[3]
    #expect(studentRow[2] == "4-4-3-2" && studentRow[3] == String(student.weightCount))
    #expect(studentRow[5] == String(format: "%.4f", 100 * Double(student.weightCount) / 112))
    #expect(studentRow[8] == "195.00" && studentRow[9] == "5.00" && studentRow[10] == "2" && studentRow[11] == "5.0")
    #expect(rows[1][11] == "", "a given teacher has no training time")
  }

  @Test func theReportTellsTheRunAndLoadsNothingFromOutside() throws {
    let (record, teacher, student) = try handMadeRecord()
    let folder = temporaryRunFolder()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try writeReport(record, teacher: teacher, final: student, to: folder)
    let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(externalResources(in: html).isEmpty, "\(externalResources(in: html))")
    #expect(!html.contains("<script") && !html.contains("<link"))
    #expect(html.components(separatedBy: "<svg").count - 1 == 6, "the six plots are inline")
    for svg in ["pruning.svg", "sizes.svg", "redundancy.svg", "widths.svg", "weights-teacher.svg", "weights-final.svg"] {
      #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(svg).path), "\(svg)")
    }
    #expect(html.contains("Final network <b>4-4-3-2</b>"))
    #expect(html.contains("<b>Stopped because:</b> converged: size fell by 0.021 percentage points (&lt; 0.05)."))
    #expect(html.contains("<code>full</code>") && html.contains("<code>done</code>"))
    for stage in ["teacher", "step 1 pruned", "step 1 student", "final"] {
      #expect(html.contains("<tr><td>\(stage)</td>"), "\(stage)")
    }
    #expect(html.contains("<td>0.500, 0.500, 0.500</td>"), "the step's redundancy")
    #expect(html.contains("3 iterations") && html.contains("stopped: 2 consecutive iterations under the lower bound"))
  }

  @Test func theResourceCheckFindsWhatItShould() {
    #expect(externalResources(in: "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>").isEmpty)
    #expect(externalResources(in: "<img src=\"https://example.org/a.png\">") == ["https://example.org/a.png"])
    #expect(externalResources(in: "<style>body { background: url(//cdn/x.png) }</style>") == ["//cdn/x.png"])
    #expect(externalResources(in: "<a href='file:///etc/passwd'>") == ["file:///etc/passwd"])
  }
}

/// The `src`, `href`, `url(...)` and `@import` targets in `html` that load
/// something from outside the file (http, https, protocol-relative, file).
/// The SVG namespace (`xmlns="http://..."`) names, it does not load.
func externalResources(in html: String) -> [String] {
  var found: [String] = []
  let lower = html.lowercased()
  for opener in ["src=\"", "src='", "href=\"", "href='", "url(", "@import \"", "@import '", "@import url("] {
    var rest = lower[...]
    while let range = rest.range(of: opener) {
      let target = rest[range.upperBound...].drop { $0 == " " || $0 == "\"" || $0 == "'" }
      if ["http:", "https:", "//", "file:", "ftp:"].contains(where: { target.hasPrefix($0) }) {
        found.append(String(target.prefix { $0 != "\"" && $0 != "'" && $0 != ")" && $0 != " " }))
      }
      rest = rest[range.upperBound...]
    }
  }
  return found
}
