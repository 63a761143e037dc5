import Foundation
import PoPSCore
import PoPSNN
import Testing

/// Crafted model headers (issue 13, case 1) are errors naming the problem,
/// never an arithmetic-overflow trap.
struct ForgedModelTests {
  /// A valid model file whose header `change` rewrites.
  static func forged(_ change: (inout [String: Any]) -> Void) throws -> Data {
    var rng = SeededGenerator(seed: 1)
    let model = Model(network: Network(.mlp(inputs: 4, hidden: [3], outputs: 2), using: &rng), provenance: Provenance())
    let data = try ModelFile.encode(model)
    let size = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    var header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + size))) as? [String: Any])
    change(&header)
    let json = try JSONSerialization.data(withJSONObject: header)
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    out.append(data.subdata(in: (8 + size)..<data.count))
    return out
  }

  static func architecture(_ json: String) -> @Sendable (inout [String: Any]) -> Void {
    { header in
      var metadata = header["__metadata__"] as! [String: String]
      metadata["architecture"] = json
      header["__metadata__"] = metadata
    }
  }

  static let cases: [(String, @Sendable (inout [String: Any]) -> Void)] = [
    ("data_offsets near Int.min and Int.max", { header in
      var entry = header["layers.0.weight"] as! [String: Any]
      entry["data_offsets"] = [Int(1) << 62, Int.min]
      header["layers.0.weight"] = entry
    }),
    ("a 2^31 x 2^31 linear layer", architecture(
      #"{"input_shape":[2147483648],"layers":[{"in_features":2147483648,"out_features":2147483648,"type":"linear"}]}"#)),
    ("an input shape of 2^32 x 2^32 x 4", architecture(
      #"{"input_shape":[4294967296,4294967296,4],"layers":[{"type":"flatten"},{"in_features":4,"out_features":2,"type":"linear"}]}"#)),
    ("a conv stride of Int.max with same padding", architecture(
      #"{"input_shape":[1,8,8],"layers":[{"in_channels":1,"out_channels":2,"kernel_size":3,"stride":9223372036854775807,"padding":"same","type":"conv2d"},{"type":"flatten"},{"in_features":2,"out_features":2,"type":"linear"}]}"#)),
    ("a conv whose output is 2^24 channels of 2^24 x 2^24", architecture(
      #"{"input_shape":[1,16777216,16777216],"layers":[{"in_channels":1,"out_channels":16777216,"kernel_size":1,"stride":1,"padding":"valid","type":"conv2d"},{"type":"flatten"},{"in_features":2,"out_features":2,"type":"linear"}]}"#)),
  ]

  @Test(arguments: cases.indices)
  func aForgedHeaderIsAnErrorNotATrap(_ index: Int) throws {
    let (label, change) = Self.cases[index]
    let data = try Self.forged(change)
    let error = #expect(throws: ModelFileError.self, "\(label)") { try ModelFile.decode(data, path: "forged.safetensors") }
    #expect(error?.description.contains("forged.safetensors") == true, "\(label): \(String(describing: error))")
  }
}
