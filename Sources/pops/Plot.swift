import ArgumentParser
import Foundation
import PoPS

struct Plot: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Draw a `pops train` folder's learning curve (curve.svg), also while the run goes on.",
    discussion: """
      Example:
        pops plot runs/pong      (then open runs/pong/curve.svg)
      """)

  @Argument(help: "The output folder of `pops train`.")
  var folder: String

  @Option(help: "Where to write the SVG (default: FOLDER/curve.svg).")
  var out: String?

  func run() throws {
    let url = URL(fileURLWithPath: folder)
    let svg = try trainingCurve(folder: url)
    let target = out.map { URL(fileURLWithPath: $0) } ?? url.appendingPathComponent("curve.svg")
    try AtomicFile.write(Data(svg.utf8), to: target)
    print("wrote \(target.path)")
  }
}
