import Foundation
import PoPS
import Testing

/// The one CSV writer (and reader) behind results.csv, summary.csv and
/// metrics.csv: RFC 4180 quoting, LF line ends, the committed results
/// unchanged, and Python's `csv` module reading back the fields written.
struct CSVTests {

  /// Fields awkward for CSV: separators, quotes and line breaks of each kind.
  static let awkward = [
    "a,b", "say \"hi\"", "\"", ",", "line\nbreak", "carriage\rreturn", "crlf\r\nend", "\"a\",\"b\"", "", " spaced ",
    "gym:ALE/Pong-v5?actions=1,2,3", "semi;colon", "ünïcödé, too",
  ]

  /// The records Python's `csv.reader` finds in `text` (written to a file and
  /// opened with `newline=""`, as the csv module asks).
  func pythonRecords(_ text: String) throws -> [[String]] {
    let folder = temporaryRunFolder()
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("table.csv")
    try Data(text.utf8).write(to: file)
    let output = try runTestPython([
      "-c",
      "import csv, json, sys\nwith open(sys.argv[1], newline='', encoding='utf-8') as f: print(json.dumps(list(csv.reader(f))))",
      file.path,
    ])
    return try #require(try JSONSerialization.jsonObject(with: output) as? [[String]])
  }

  @Test func plainFieldsAreWrittenBare() {
    #expect(CSV.line(["4-64-64-2", "12.5000", "", "a b", "16;32;8", "not run", "-1.0e-05"]) == "4-64-64-2,12.5000,,a b,16;32;8,not run,-1.0e-05")
    #expect(CSV.text(header: ["step", "stage"], rows: [["0", "teacher"], ["1", ""]]) == "step,stage\n0,teacher\n1,\n")
    #expect(CSV.text(header: ["only"], rows: []) == "only\n")
  }

  @Test func aFieldWithACommaAQuoteOrALineBreakIsQuotedWithInnerQuotesDoubled() {
    #expect(CSV.field("a,b") == "\"a,b\"")
    #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
    #expect(CSV.field("\"") == "\"\"\"\"")
    #expect(CSV.field("line\nbreak") == "\"line\nbreak\"")
    #expect(CSV.field("carriage\rreturn") == "\"carriage\rreturn\"")
    #expect(CSV.field("crlf\r\nend") == "\"crlf\r\nend\"", "CRLF is one Character in Swift; its LF still counts")
    #expect(CSV.line(["gym:ALE/Pong-v5?actions=1,2,3", "full", "0"]) == "\"gym:ALE/Pong-v5?actions=1,2,3\",full,0")
  }

  @Test func recordsReadBackWhatIsWrittenWithLFOrCRLFLineEnds() {
    let rows = [Self.awkward, Self.awkward.reversed(), ["", ""], [""]]
    let text = CSV.text(header: ["h1", "h2"], rows: rows)
    #expect(CSV.records(in: text) == [["h1", "h2"]] + rows)
    #expect(CSV.records(in: "a,b\r\n1,\"x\r\ny\"\r\n\r\n2,\n") == [["a", "b"], ["1", "x\r\ny"], ["2", ""]])
    #expect(CSV.records(in: "no,end") == [["no", "end"]], "a last line without its line end")
    #expect(CSV.records(in: "a\"b,c") == [["a\"b", "c"]], "a quote inside a bare field is a character")
  }

  @Test func pythonsCSVModuleReadsBackTheFieldsWritten() throws {
    let rows = [Self.awkward, Self.awkward.reversed(), ["1", "2.5000", ""]]
    let text = CSV.text(header: ["h"], rows: rows)
    #expect(try pythonRecords(text) == [["h"]] + rows)
  }

  @Test func aResultsCSVWithACommaInItsArchitectureKeepsItsColumns() throws {
    var (record, _, _) = try handMadeRecord()
    record.teacher?.architecture = "4-8-8-2, \"hand made\""
    record.final?.architecture = "4x84x84-c32k8s4,c64\n"
    let rows = try pythonRecords(record.csv)
    #expect(rows.map(\.count) == [12, 12, 12, 12, 12], "\(rows)")
    #expect(rows[1][2] == "4-8-8-2, \"hand made\"" && rows[4][2] == "4x84x84-c32k8s4,c64\n")
    #expect(rows[1][1] == "teacher" && rows[1][3] == "112", "the fields after it stay in their columns")
    #expect(CSV.records(in: record.csv) == rows)
  }

  @Test func aSweepSummaryWithACommaInItsEnvironmentIdKeepsItsColumns() throws {
    let json = """
      {"rows": [
        {"environment": "gym:ALE/Pong-v5?actions=1,2,3", "mode": "full", "seed": 0, "status": "done", "teacher_score": 19.5,
         "final_architecture": "4x84x84-c32k8s4-512-3", "weights": 100, "size_percent": 2.5, "score_mean": 18,
         "score_std": 1, "episodes": 10, "wall_seconds": 60},
        {"environment": "CartPole-v0", "mode": "prune-only", "seed": 1, "status": "failed, \\"twice\\""}
      ], "groups": []}
      """
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let summary = try decoder.decode(SweepSummary.self, from: Data(json.utf8))
    let rows = try pythonRecords(summary.csv)
    #expect(rows.map(\.count) == [12, 12, 12], "\(rows)")
    #expect(rows[1][0] == "gym:ALE/Pong-v5?actions=1,2,3" && rows[1][1] == "full" && rows[1][11] == "60.0000")
    #expect(rows[2][3] == "failed, \"twice\"" && rows[2][4] == "")
  }

  /// The writer changes no byte of a file of plain values: each committed
  /// results.csv (and the sweep's summary.csv) is what its JSON gives again.
  @Test func theCommittedResultsAreWrittenAgainByteForByte() throws {
    let results = repositoryRoot.appendingPathComponent("docs/results")
    for run in ["cartpole-v0", "lunarlander-v3", "reference-cartpole-v0", "pong/pops"] {
      let folder = results.appendingPathComponent(run)
      let record = try PoPSRecord.read(from: folder.appendingPathComponent("results.json"))
      let committed = try String(contentsOf: folder.appendingPathComponent("results.csv"), encoding: .utf8)
      #expect(record.csv == committed, "\(run)")
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let sweep = results.appendingPathComponent("sweep")
    let summary = try decoder.decode(SweepSummary.self, from: Data(contentsOf: sweep.appendingPathComponent("summary.json")))
    #expect(summary.csv == (try String(contentsOf: sweep.appendingPathComponent("summary.csv"), encoding: .utf8)))
  }
}
