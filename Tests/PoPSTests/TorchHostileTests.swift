import Foundation
import PoPS
import Testing

/// Forged torch.save and Stable-Baselines3 files, one per way a file could
/// trap the reader or make two readers see two different policies (issue
/// 26). Each must be refused with a ModelFileError naming the file and the
/// problem.
struct TorchHostileTests {
  /// A policy that loads: one dense layer, 4 inputs, 2 outputs (nn.Sequential).
  static let policyViews = [TorchForge.View("0.weight", key: "0", shape: [2, 4]), TorchForge.View("0.bias", key: "1", shape: [2])]
  static let policyStorages: [String: [Float]] = ["0": (0..<8).map { Float($0) / 8 }, "1": [0.5, -0.5]]
  static var policy: [UInt8] { TorchForge.torchFile(policyViews, storages: policyStorages) }

  @Test func theForgedPolicyLoads() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let (model, source) = try TeacherImport.load(try folder.write(Self.policy, as: "policy.pt"))
    #expect(model.network.architecture.summary == "4-2" && source.format == .torch)
  }

  /// The first tensor reads storage 0 as its 4 values; the second names the
  /// same storage with 1000 values, so its view passed the pickle's bounds
  /// check and the gather read past the 4 (index out of range).
  @Test func everyReferenceToAStorageMustNameItsTrueSize() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let views = [TorchForge.View("a", count: 4, shape: [4], stride: [1]), TorchForge.View("b", count: 1000, shape: [1000], stride: [1])]
    let error = try TorchForge.error(TorchForge.torchFile(views, storages: ["0": [1, 2, 3, 4]]), as: "twice.pt", in: folder)
    #expect(error.contains("twice.pt: storage data/0 holds 4 float32 values, but tensor b names it with 1000"), "\(error)")
  }

  /// Chains of 200,000 tuples, lists or dicts overflowed the stack when
  /// Swift freed them; a list filled after it was nested would have hidden
  /// its depth from the cap.
  @Test func deepNestingIsRefusedBeforeItGrows() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let depth = 200_000
    var tuples = TorchForge.Pickle()
    tuples.op(0x29)  // EMPTY_TUPLE
    for _ in 0..<depth { tuples.op(0x85) }  // TUPLE1
    var lists = TorchForge.Pickle()
    for _ in 0...depth { lists.op(0x5D) }  // EMPTY_LIST
    for _ in 0..<depth { lists.op(0x61) }  // APPEND
    var dicts = TorchForge.Pickle()
    dicts.op(0x7D)  // EMPTY_DICT
    for _ in 0..<depth {
      dicts.string("k")
      dicts.op(0x7D)
    }
    for _ in 0..<depth { dicts.op(0x73) }  // SETITEM
    for (name, pickle) in [("tuples.pt", tuples), ("lists.pt", lists), ("dicts.pt", dicts)] {
      var pickle = pickle
      let file = TorchForge.zip(TorchForge.torchMembers(pickle: pickle.stop(), storages: [:]))
      let error = try TorchForge.error(file, as: name, in: folder)
      #expect(error.contains("\(name): data.pkl: tuples, lists and dicts nest more than 100 levels deep"), "\(error)")
    }
    // Lists kept in the memo, then chained parent first: list 1 is filled after it went into list 0.
    var late = TorchForge.Pickle()
    for _ in 0..<1000 {
      late.op(0x5D)
      late.memoize()
    }
    for i in 0..<999 {
      late.recall(i)
      late.recall(i + 1)
      late.op(0x61)
    }
    let error = try TorchForge.error(TorchForge.zip(TorchForge.torchMembers(pickle: late.stop(), storages: [:])), as: "late.pt", in: folder)
    #expect(error.contains("late.pt: data.pkl: a list or dict is filled after it was put inside another"), "\(error)")
  }

  /// Zero strides made one value a 16384 x 16384 tensor: 1 GiB allocated
  /// before any layout check. A tensor may have no more elements than its
  /// storage has values, its non-zero dimensions no larger a product than
  /// the file, and at most 64 dimensions.
  @Test func aTensorCannotBeLargerThanItsStorage() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let broadcast = TorchForge.View("w", count: 1, shape: [16384, 16384], stride: [0, 0])
    let error = try TorchForge.error(TorchForge.torchFile([broadcast], storages: ["0": [0.5]]), as: "zero-strides.pt", in: folder)
    #expect(error.contains("zero-strides.pt: tensor w of shape [16384, 16384] has 268435456 elements, more than the 1 values of its storage data/0"), "\(error)")
    let empty = TorchForge.View("w", count: 1, shape: [0, 1 << 40, 1 << 40], stride: [0, 0, 0])
    let huge = try TorchForge.error(TorchForge.torchFile([empty], storages: ["0": [0.5]]), as: "empty.pt", in: folder)
    #expect(huge.contains("empty.pt: tensor w of shape [0, 1099511627776, 1099511627776] is larger than the file"), "\(huge)")
    let ranks = TorchForge.View("w", count: 1, shape: Array(repeating: 1, count: 65), stride: Array(repeating: 1, count: 65))
    let deep = try TorchForge.error(TorchForge.torchFile([ranks], storages: ["0": [0.5]]), as: "ranks.pt", in: folder)
    #expect(deep.contains("ranks.pt: data.pkl: a tensor with 65 dimensions (at most 64 are read)"), "\(deep)")
  }

  /// One storage under a hundred names: each copy was made, so a small file
  /// could ask for memory without end.
  @Test func oneStorageUnderManyNamesIsNotCopiedWithoutEnd() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let views = (0..<100).map { TorchForge.View("t\($0)", shape: [1024]) }
    let error = try TorchForge.error(
      TorchForge.torchFile(views, storages: ["0": [Float](repeating: 1, count: 1024)]), as: "many.pt", in: folder)
    #expect(error.contains("many.pt: the tensors hold more values than the file has bytes"), "\(error)")
  }

  /// pops read the first of two members of one name, Python's zipfile the
  /// last: one file, two policies.
  @Test func aMemberNamedTwiceIsRefused() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let other = TorchForge.statePickle([TorchForge.View("0.weight", key: "0", shape: [4, 2]), TorchForge.View("0.bias", key: "1", shape: [4])])
    let torch = TorchForge.zip(try TorchForge.members(of: Self.policy) + [("archive/data.pkl", other)])
    let error = try TorchForge.error(torch, as: "two-pickles.pt", in: folder)
    #expect(error.contains("two-pickles.pt: the zip archive names member 'archive/data.pkl' twice"), "\(error)")
    let sb3 = TorchForge.zip([("data", Array("{}".utf8)), ("policy.pth", Self.policy), ("policy.pth", Self.policy)])
    let twice = try TorchForge.error(sb3, as: "sb3.zip", in: folder)
    #expect(twice.contains("sb3.zip: the zip archive names member 'policy.pth' twice"), "\(twice)")
  }

  /// torch.load reads the pickle in the first member's folder; pops read
  /// the first data.pkl it found. Two pickles in two folders are refused.
  @Test func aSecondPickleInAnotherFolderIsRefused() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let members = try TorchForge.members(of: Self.policy)
    let moved = members.map { (name: $0.name.replacingOccurrences(of: "archive/", with: "b/"), bytes: $0.bytes) }
    let file = TorchForge.zip([("b/version", Array("3\n".utf8))] + members + moved)
    let error = try TorchForge.error(file, as: "folders.pt", in: folder)
    #expect(error.contains("folders.pt: the zip archive holds two pickles, b/data.pkl and archive/data.pkl"), "\(error)")
  }

  /// A member whose bytes hold another member's header and bytes: one
  /// stretch of the file read as two members (the same bytes read again and
  /// again could make memory grow without end); and a central entry whose
  /// local header is another member's.
  @Test func overlappingMembersAreRefused() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let head = try TorchForge.members(of: Self.policy).filter { !$0.name.hasPrefix("archive/data/") }
    let inner = TorchForge.storage([0.5, -0.5])
    let outer = TorchForge.localHeader("archive/data/1", inner) + inner
    var out: [UInt8] = [], directory: [UInt8] = []
    for (name, bytes) in head + [("archive/data/0", outer)] {
      directory += TorchForge.centralEntry(name, bytes, localHeaderAt: out.count)
      out += TorchForge.localHeader(name, bytes) + bytes
    }
    let innerAt = out.count - outer.count
    let nested = directory + TorchForge.centralEntry("archive/data/1", inner, localHeaderAt: innerAt)
    let overlap = out + nested + TorchForge.endRecord(count: head.count + 2, directorySize: nested.count, directoryAt: out.count)
    let error = try TorchForge.error(overlap, as: "overlap.pt", in: folder)
    #expect(error.contains("overlap.pt: zip members 'archive/data/0' and 'archive/data/1' overlap"), "\(error)")
    let outerAt = innerAt - 30 - "archive/data/0".utf8.count
    let aliased = directory + TorchForge.centralEntry("archive/data/1", outer, localHeaderAt: outerAt)
    let alias = out + aliased + TorchForge.endRecord(count: head.count + 2, directorySize: aliased.count, directoryAt: out.count)
    let named = try TorchForge.error(alias, as: "alias.pt", in: folder)
    #expect(named.contains("alias.pt: zip member 'archive/data/1': its local header at byte \(outerAt) names another file"), "\(named)")
  }

  /// The central directory must end where the end records start and hold
  /// exactly the entries they count: Python's zipfile shifts every member by
  /// a gap, reads every entry the directory's size covers, and takes a ZIP64
  /// end record's numbers over the plain one's; pops read none of these the
  /// same way. An encrypted member is refused rather than read as plain.
  @Test func theCentralDirectoryIsReadAsEveryReaderReadsIt() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let members = try TorchForge.members(of: Self.policy)
    var out: [UInt8] = [], directory: [UInt8] = []
    for (name, bytes) in members {
      directory += TorchForge.centralEntry(name, bytes, localHeaderAt: out.count)
      out += TorchForge.localHeader(name, bytes) + bytes
    }
    func file(_ directory: [UInt8], count: Int, between: [UInt8] = []) -> [UInt8] {
      out + directory + between + TorchForge.endRecord(count: count, directorySize: directory.count, directoryAt: out.count)
    }
    let gap = try TorchForge.error(file(directory, count: members.count, between: Array(repeating: 0, count: 16)), as: "gap.pt", in: folder)
    #expect(gap.contains("gap.pt: zip central directory (bytes \(out.count) to \(out.count + directory.count)) does not end where the end record starts"), "\(gap)")
    // One more entry than the end record counts: a second data.pkl that Python would read.
    let other = TorchForge.statePickle([TorchForge.View("0.weight", key: "0", shape: [4, 2]), TorchForge.View("0.bias", key: "1", shape: [4])])
    let hidden = directory + TorchForge.centralEntry("archive/data.pkl", other, localHeaderAt: out.count)
    let withHidden = out + TorchForge.localHeader("archive/data.pkl", other) + other
    let uncounted = withHidden + hidden + TorchForge.endRecord(count: members.count, directorySize: hidden.count, directoryAt: withHidden.count)
    let count = try TorchForge.error(uncounted, as: "count.pt", in: folder)
    #expect(count.contains("count.pt: zip central directory is not filled by exactly the \(members.count) entries its end record counts"), "\(count)")
    // A ZIP64 end record (as torch writes one) whose directory offset is not the end record's.
    let record = TorchForge.joined([
      TorchForge.le32(0x0606_4B50), TorchForge.le64(44), TorchForge.le16(45), TorchForge.le16(45), TorchForge.le32(0), TorchForge.le32(0),
      TorchForge.le64(UInt64(members.count)), TorchForge.le64(UInt64(members.count)), TorchForge.le64(UInt64(directory.count)), TorchForge.le64(7),
    ])
    let locator = TorchForge.joined([TorchForge.le32(0x0706_4B50), TorchForge.le32(0), TorchForge.le64(UInt64(out.count + directory.count)), TorchForge.le32(1)])
    let zip64 = try TorchForge.error(file(directory, count: members.count, between: record + locator), as: "zip64.pt", in: folder)
    #expect(zip64.contains("zip64.pt: the zip's ZIP64 end record says \(members.count) entries, \(directory.count) bytes at byte 7"), "\(zip64)")
    // The first entry (data.pkl) flagged encrypted.
    var encrypted = directory
    encrypted[8] |= 1
    let secret = try TorchForge.error(file(encrypted, count: members.count), as: "encrypted.pt", in: folder)
    #expect(secret.contains("encrypted.pt: zip entry archive/data.pkl: it is encrypted"), "\(secret)")
  }

  /// A Stable-Baselines3 `data` that is not its JSON was ignored, so the
  /// observation shape and activation were guessed, and one with a key
  /// twice was read one way by pops and another by SB3: both are errors.
  @Test func sb3DataMustBeItsJSON() throws {
    let folder = try TorchForge.Folder()
    defer { folder.remove() }
    let garbled = TorchForge.zip([("data", Array("{\"observation_space\": [".utf8)), ("policy.pth", Self.policy)])
    let error = try TorchForge.error(garbled, as: "garbled.zip", in: folder)
    #expect(error.contains("garbled.zip: its data member is not the JSON object Stable-Baselines3 writes"), "\(error)")
    // Foundation's parser refuses JSON nested deeper than it can hold.
    let deepJSON = "{\"a\": " + String(repeating: "[", count: 300_000) + String(repeating: "]", count: 300_000) + "}"
    let deep = try TorchForge.error(TorchForge.zip([("data", Array(deepJSON.utf8)), ("policy.pth", Self.policy)]), as: "deep.zip", in: folder)
    #expect(deep.contains("deep.zip: its data member is not the JSON object Stable-Baselines3 writes"), "\(deep)")
    // SB3 (Python's json) reads the last of two equal keys: one file, two activations.
    let twice = "{\"policy_kwargs\": {}, \"policy_kwargs\": {\"activation_fn\": {\":serialized:\": \"VGFuaA==\"}}}"
    let duplicate = try TorchForge.error(TorchForge.zip([("data", Array(twice.utf8)), ("policy.pth", Self.policy)]), as: "keys.zip", in: folder)
    #expect(duplicate.contains("keys.zip: its data member names \"policy_kwargs\" twice"), "\(duplicate)")
  }
}
