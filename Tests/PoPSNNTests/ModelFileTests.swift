import Foundation
import PoPSCore
import PoPSNN
import Testing

struct ModelFileTests {
  func sampleModel() -> Model {
    var rng = SeededGenerator(seed: 17)
    var net = Network(.mlp(inputs: 4, hidden: [16, 8], outputs: 2), biasInit: 0.001, using: &rng)
    net.pruneByMagnitude(sparsity: 0.3)
    return Model(network: net, provenance: Provenance(environment: "CartPole-v0", seed: 17, role: "test", summary: ["steps": "10"]))
  }

  func temporaryURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("pops-tests-\(UUID().uuidString)").appendingPathComponent(name)
  }

  @Test func roundTripKeepsEverything() throws {
    let model = sampleModel()
    let url = temporaryURL("model.safetensors")
    defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
    try ModelFile.save(model, to: url)
    let loaded = try ModelFile.load(from: url)
    #expect(loaded.network.parameters == model.network.parameters)
    #expect(loaded.network.architecture == model.network.architecture)
    #expect(loaded.provenance == model.provenance)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
    #expect(leftovers == ["model.safetensors"], "no temporary file is left behind")
  }

  @Test func layoutIsPlainSafetensors() throws {
    let data = try ModelFile.encode(sampleModel())
    let size = safetensorsHeaderSize(data)
    let header = try safetensorsHeader(data)
    let weight = header["layers.0.weight"] as! [String: Any]
    #expect(weight["shape"] as! [Int] == [16, 4])
    #expect(weight["dtype"] as! String == "F32")
    #expect(header["layers.2.weight"] != nil && header["layers.4.bias"] != nil)
    let meta = header["__metadata__"] as! [String: String]
    #expect(meta["pops_format_version"] == "2")
    #expect(meta["input"] == "{\"dtype\":\"float32\",\"scale\":1}")
    #expect(meta["architecture"]!.contains("\"in_features\":4"))
    #expect((8 + size) % 8 == 0)
  }

  func expectError(_ data: Data, containing text: String) {
    do {
      _ = try ModelFile.decode(data, path: "bad.safetensors")
      Issue.record("expected an error containing '\(text)'")
    } catch let error as ModelFileError {
      #expect(error.description.hasPrefix("bad.safetensors: "))
      #expect(error.description.contains(text), "\(error.description)")
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  /// Rewrites the JSON header of a valid file with `edit`.
  func editedHeader(_ edit: (inout [String: Any]) -> Void) throws -> Data {
    let data = try ModelFile.encode(sampleModel())
    let size = safetensorsHeaderSize(data)
    var header = try safetensorsHeader(data)
    edit(&header)
    let json = try JSONSerialization.data(withJSONObject: header)
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    out.append(data.suffix(from: 8 + size))
    return out
  }

  @Test func truncatedFiles() throws {
    let data = try ModelFile.encode(sampleModel())
    expectError(data.prefix(5), containing: "truncated")
    expectError(data.prefix(40), containing: "truncated")
    expectError(data.prefix(data.count - 4), containing: "truncated")
  }

  /// Version 2 records how observations enter the network; version 1 files
  /// (no `input`) still read, as float32 observations.
  @Test func theObservationEncodingIsRecordedAndVersion1StillReads() throws {
    var model = sampleModel()
    model.input = .bytes
    let loaded = try ModelFile.decode(try ModelFile.encode(model), path: "frames.safetensors")
    #expect(loaded.input == ObservationEncoding(dtype: .uint8, scale: 1 / 255))
    let version1 = try editedHeader { h in
      var meta = h["__metadata__"] as! [String: String]
      meta["pops_format_version"] = "1"
      meta["input"] = nil
      h["__metadata__"] = meta
    }
    let old = try ModelFile.decode(version1, path: "v1.safetensors")
    #expect(old.input == .float32 && old.network.parameters == sampleModel().network.parameters)
    let missing = try editedHeader { h in
      var meta = h["__metadata__"] as! [String: String]
      meta["input"] = nil
      h["__metadata__"] = meta
    }
    expectError(missing, containing: "__metadata__.input is missing or not a valid observation encoding")
    let negative = try editedHeader { h in
      var meta = h["__metadata__"] as! [String: String]
      meta["input"] = "{\"dtype\":\"uint8\",\"scale\":-1}"
      h["__metadata__"] = meta
    }
    expectError(negative, containing: "not a valid observation encoding")
  }

  @Test func wrongVersion() throws {
    let data = try editedHeader { h in
      var meta = h["__metadata__"] as! [String: String]
      meta["pops_format_version"] = "99"
      h["__metadata__"] = meta
    }
    expectError(data, containing: "pops_format_version 99 is not supported")
  }

  @Test func misShapedTensor() throws {
    let data = try editedHeader { h in
      var w = h["layers.2.weight"] as! [String: Any]
      w["shape"] = [16, 8]
      h["layers.2.weight"] = w
    }
    expectError(data, containing: "layers.2.weight has shape")
  }

  @Test func missingTensorAndForeignFiles() throws {
    // The last tensor dropped, header entry and bytes.
    expectError(Data(try editedHeader { $0["layers.4.bias"] = nil }.dropLast(8)), containing: "layers.4.bias is missing")
    expectError(try editedHeader { $0["__metadata__"] = nil }, containing: "not a pops model")
    expectError(Data(repeating: 0x41, count: 64), containing: "truncated")
  }

  /// What safetensors forbids and JSONSerialization would let through
  /// (issue 13 case 7): every one is refused, naming the tensor or key.
  @Test func overlapsGapsTrailingBytesExtraTensorsAndDuplicateKeysAreRefused() throws {
    func offsets(_ name: String, _ begin: Int, _ end: Int) -> (inout [String: Any]) -> Void {
      { header in
        var entry = header[name] as! [String: Any]
        entry["data_offsets"] = [begin, end]
        header[name] = entry
      }
    }
    // layers.0.weight is [16, 4]: bytes 0..<256; layers.0.bias 256..<320.
    expectError(try editedHeader(offsets("layers.0.bias", 0, 64)), containing: "overlap")
    expectError(try editedHeader(offsets("layers.0.weight", 4, 260)), containing: "4 bytes before tensor layers.0.weight belong to no tensor")
    expectError(try ModelFile.encode(sampleModel()) + Data(count: 8), containing: "8 trailing bytes after the last tensor")
    let valid = try ModelFile.encode(sampleModel())
    let payload = valid.count - 8 - safetensorsHeaderSize(valid)
    var extra = try editedHeader { $0["layers.9.weight"] = ["dtype": "F32", "shape": [1], "data_offsets": [payload, payload + 4]] }
    extra.append(Data(count: 4))
    expectError(extra, containing: "tensor layers.9.weight is not a parameter of the architecture")

    // The same key twice: in the header and inside the architecture's JSON.
    func replacingInHeader(_ old: String, _ new: String) throws -> Data {
      let data = try ModelFile.encode(sampleModel())
      let size = safetensorsHeaderSize(data)
      var json = String(decoding: data.subdata(in: 8..<(8 + size)), as: UTF8.self)
      #expect(json.contains(old), "fixture: \(old) not in the header")
      json = json.replacingOccurrences(of: old, with: new)
      while json.utf8.count % 8 != 0 { json += " " }
      var out = Data()
      withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { out.append(contentsOf: $0) }
      out.append(Data(json.utf8))
      out.append(data.suffix(from: 8 + size))
      return out
    }
    expectError(
      try replacingInHeader("\"layers.0.bias\":{", "\"layers.0.bias\":{\"dtype\":\"F64\",\"shape\":[2]},\"layers.0.\\u0062ias\":{"),
      containing: "names \"layers.0.bias\" twice")
    expectError(
      try replacingInHeader("\\\"in_features\\\":4", "\\\"in_features\\\":400,\\\"in_features\\\":4"),
      containing: "__metadata__.architecture names \"in_features\" twice")
  }

  @Test func nonFiniteValues() throws {
    var data = try ModelFile.encode(sampleModel())
    let nan = Float.nan.bitPattern.littleEndian
    withUnsafeBytes(of: nan) { bytes in
      for i in 0..<4 { data[data.count - 4 + i] = bytes[i] }
    }
    expectError(data, containing: "non-finite")
  }

  @Test func missingFileNamesThePath() {
    #expect(throws: ModelFileError.self) { try ModelFile.load(from: URL(fileURLWithPath: "/nonexistent/x.safetensors")) }
  }
}
