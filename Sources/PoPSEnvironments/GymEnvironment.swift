import Foundation
import PoPSCore
#if canImport(Glibc)
import Glibc
#endif

/// A problem with the Gymnasium bridge; the message says what to do.
public struct GymBridgeError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Any Gymnasium environment with a `Discrete` action space and a `Box`
/// observation space, run in a Python worker process (`gym_worker.py`) that
/// speaks a compact binary protocol over pipes.
///
/// Use `--env gym:ID` on the command line (`gym:CartPole-v1`,
/// `gym:Acrobot-v1`, `gym:ALE/Pong-v5`). The worker's Python is `POPS_PYTHON`
/// if set, else `.venv-gym/bin/python` (made by `make deps-gym`) beside or
/// above the executable or in the checkout it was built from, else `python3`
/// from an absolute folder on PATH; never one from the current folder.
/// Gymnasium's own `TimeLimit` applies, so no pops time limit is added.
///
/// Ids come from model files and studies as well as from the command line,
/// so an id with a module part (`MODULE:ENV`, which makes Gymnasium import
/// MODULE) is refused before any Python starts; modules that register
/// environments are named by the user in `POPS_GYM_MODULES` instead.
///
/// A value of this type owns its worker; copies share it.
public struct GymEnvironment: Environment {
  /// The Gymnasium id, without the `gym:` prefix.
  public let id: String
  public let observationSpace: BoxSpace
  public let actionSpace: DiscreteSpace
  /// Gymnasium's time limit for the id, if it has one.
  public let maxEpisodeSteps: Int?
  /// Gymnasium's reward threshold for the id, if it has one.
  public let rewardThreshold: Double?
  private let worker: GymWorker

  /// Starts a worker for `id`; throws if Python, Gymnasium or the id is
  /// missing, or the spaces are unsupported.
  ///
  /// - Parameter python: the interpreter to use instead of the search above.
  /// - Parameter stepTimeout: seconds the worker has to answer a step (a
  ///   reset gets five times it); nil: `POPS_BRIDGE_TIMEOUT_S` or 60.
  public init(id: String, python: URL? = nil, stepTimeout: Double? = nil) throws {
    self.id = id
    worker = try GymWorker(id: id, python: python)
    if let stepTimeout, stepTimeout > 0 { worker.stepTimeout = stepTimeout }
    let info = worker.info
    let count = info.obsShape.reduce(1, *)
    // Byte observations (Atari frames) arrive scaled to [0, 1], as the
    // reference feeds its Nature CNN (it divides by 256).
    let bound: Float = info.obsDtype == .uint8 ? 1 : .greatestFiniteMagnitude
    observationSpace = BoxSpace(
      low: [Float](repeating: info.obsDtype == .uint8 ? 0 : -bound, count: count),
      high: [Float](repeating: bound, count: count), shape: info.obsShape,
      encoding: info.obsDtype == .uint8 ? .bytes : .float32)
    actionSpace = DiscreteSpace(info.actions)
    maxEpisodeSteps = info.maxEpisodeSteps
    rewardThreshold = info.rewardThreshold
  }

  /// Starts an episode in the worker. A worker that died or stays silent
  /// is a thrown `GymBridgeError` naming the environment.
  public mutating func reset(seed: UInt64?) throws -> [Float] {
    var request = Data("R".utf8)
    request.append(seed == nil ? 0 : 1)
    withUnsafeBytes(of: (seed ?? 0).littleEndian) { request.append(contentsOf: $0) }
    try worker.send(request)
    return try worker.readObservation(within: worker.resetTimeout, doing: "a reset")
  }

  /// Steps the worker's episode. An action outside the action space, or a
  /// worker that died or stays silent, is a thrown `GymBridgeError` naming
  /// the environment.
  public mutating func step(taking action: Int) throws -> Step {
    try sendStep(taking: action)
    return try receiveStep()
  }

  /// The first half of a step: sends the action and returns at once, so
  /// several workers can step at the same time (`VectorEnvironment`).
  public func sendStep(taking action: Int) throws {
    try checkAction(action)
    var request = Data("S".utf8)
    withUnsafeBytes(of: Int64(action).littleEndian) { request.append(contentsOf: $0) }
    try worker.send(request)
  }

  /// Throws unless `action` lies in the action space (checked before
  /// anything is sent, so the worker stays in step with its requests).
  public func checkAction(_ action: Int) throws {
    guard actionSpace.contains(action) else {
      throw GymBridgeError("gym:\(id): action \(action) is outside the action space 0..<\(actionSpace.count)")
    }
  }

  /// The second half of a step: waits for the worker's reply.
  public func receiveStep() throws -> Step {
    // The observation and its 10-byte tail arrive in one write: one read.
    let observation = try worker.readObservation(tail: 10, within: worker.stepTimeout, doing: "a step")
    let tail = UnsafeRawPointer(worker.observationBuffer!.baseAddress! + worker.observationBytes)
    let reward = Double(bitPattern: UInt64(littleEndian: tail.loadUnaligned(as: UInt64.self)))
    let flags = tail.load(fromByteOffset: 8, as: UInt16.self)
    return Step(
      observation: observation, reward: reward, terminated: flags & 0xFF != 0, truncated: flags >> 8 != 0)
  }

  /// The Python the bridge runs: POPS_PYTHON, a `.venv-gym` beside the
  /// executable or in its build checkout, else python3 from an absolute
  /// folder on PATH. Never one from the current folder (a `.venv-gym`
  /// planted there would run as soon as pops starts an environment).
  public static func python() throws -> URL {
    try python(environment: ProcessInfo.processInfo.environment, searchFolders: Executable.searchFolders)
  }

  /// The search of `python()` with its inputs given: `environment` for
  /// POPS_PYTHON and PATH, `searchFolders` for `.venv-gym` (the
  /// executable's folders and its build checkout). An empty or relative
  /// PATH entry, which names the current folder, is skipped.
  public static func python(environment: [String: String], searchFolders: [URL]) throws -> URL {
    let fm = FileManager.default
    if let path = environment["POPS_PYTHON"] {
      guard fm.isExecutableFile(atPath: path) else { throw GymBridgeError("POPS_PYTHON=\(path) is not an executable") }
      return URL(fileURLWithPath: path)
    }
    for base in searchFolders {
      let python = base.appendingPathComponent(".venv-gym/bin/python")
      if fm.isExecutableFile(atPath: python.path) { return python }
    }
    for path in (environment["PATH"] ?? "/usr/bin").split(separator: ":", omittingEmptySubsequences: false) where path.hasPrefix("/") {
      let python = URL(fileURLWithPath: String(path)).appendingPathComponent("python3")
      if fm.isExecutableFile(atPath: python.path) { return python }
    }
    throw GymBridgeError("no Python found for the Gymnasium bridge; run `make deps-gym` or set POPS_PYTHON")
  }

  /// Refuses an id (without `gym:`) that the worker must not be handed:
  /// one with a module part, `MODULE:ENV`, for which Gymnasium imports
  /// MODULE, that is runs code the id names (an id in a model file or a
  /// study would run it on `evaluate` or `sweep`); or one with a control
  /// character. Thrown before any Python starts.
  public static func checkID(_ id: String) throws {
    if id.contains(":") {
      throw GymBridgeError(
        "gym:\(id): an environment id with a module part ('MODULE:ENV') is refused: Gymnasium would import MODULE, and pops never imports a module an id names (ids also come from model files and studies). Give the environment's id alone and name the module that registers it in POPS_GYM_MODULES (e.g. POPS_GYM_MODULES=minigrid), which the worker imports first")
    }
    if let bad = ControlCharacters.first(in: id) {
      throw GymBridgeError("gym:\(id.debugDescription): the id holds a control character (\(ControlCharacters.code(bad)))")
    }
  }

  /// The worker's process id (for tests of failure handling).
  public var workerProcessIdentifier: Int32 { worker.process.processIdentifier }
  /// Whether the worker process is still running.
  public var isWorkerRunning: Bool { worker.process.isRunning }
}

/// The worker process and its pipes.
final class GymWorker: @unchecked Sendable {
  /// How the worker sends observations.
  enum ObservationType: String, Decodable {
    /// Atari frames: one byte a value, scaled to [0, 1] here.
    case uint8
    case float32

    var bytes: Int { self == .uint8 ? 1 : 4 }
  }

  struct Info: Decodable {
    var obsShape: [Int]
    var obsDtype: ObservationType
    var actions: Int
    var maxEpisodeSteps: Int?
    var rewardThreshold: Double?
  }

  let id: String
  let process = Process()
  private let input: FileHandle
  private let output: FileHandle
  private(set) var info = Info(obsShape: [], obsDtype: .float32, actions: 0)
  private(set) var observationBytes = 0
  /// Reused for every observation, so a step allocates only its result.
  private(set) var observationBuffer: UnsafeMutableRawBufferPointer?

  init(id: String, python chosen: URL?) throws {
    self.id = id
    try GymEnvironment.checkID(id)
    let python = try chosen ?? GymEnvironment.python()
    guard FileManager.default.isExecutableFile(atPath: python.path) else {
      throw GymBridgeError("gym:\(id): no Python at \(python.path); run `make deps-gym` or set POPS_PYTHON")
    }
    let script = try Self.workerScript()
    let stdin = Pipe(), stdout = Pipe()
    process.executableURL = python
    process.arguments = [script.path, id]
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    input = stdin.fileHandleForWriting
    output = stdout.fileHandleForReading
    // A worker that dies must give an error on the next request, not kill pops.
    signal(SIGPIPE, SIG_IGN)
    do {
      try process.run()
    } catch {
      throw GymBridgeError("gym:\(id): cannot start \(python.path) (\(error.localizedDescription)); run `make deps-gym` or set POPS_PYTHON")
    }
    let magic = try read(4)
    if magic == Data("ERRR".utf8) {
      let message = try readLengthPrefixed()
      process.waitUntilExit()
      throw GymBridgeError("gym:\(id): \(String(decoding: message, as: UTF8.self))")
    }
    guard magic == Data("POPS".utf8) else { throw GymBridgeError("gym:\(id): the worker did not answer with a pops handshake") }
    let version = try read(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    guard version == 1 else { throw GymBridgeError("gym:\(id): worker protocol version \(version), expected 1") }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    info = try decoder.decode(Info.self, from: readLengthPrefixed())
    observationBytes = info.obsShape.reduce(1, *) * info.obsDtype.bytes
    observationBuffer = .allocate(byteCount: observationBytes + 16, alignment: 16)
  }

  deinit {
    observationBuffer?.deallocate()
    if process.isRunning {
      try? input.write(contentsOf: Data("Q".utf8))
      try? input.close()
      process.waitUntilExit()
    }
  }

  /// Writes all of `data` with plain write(2) calls (no Foundation buffering).
  func send(_ data: Data) throws {
    guard process.isRunning else { throw died() }
    let fd = input.fileDescriptor
    try data.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 && errno == EINTR { continue }
        // EPIPE: the worker closed its input, so it is exiting (as EOF on a read).
        guard n > 0 else { throw died(closingOutput: n < 0 && errno == EPIPE) }
        offset += n
      }
    }
  }

  /// Reads exactly `count` bytes with plain read(2) calls; EOF means the worker died.
  func read(_ count: Int) throws -> Data {
    var data = Data(count: count)
    try data.withUnsafeMutableBytes { raw in
      try readExactly(into: raw.baseAddress!, count: count, within: 5 * Self.defaultStepTimeout, doing: "start-up")
    }
    return data
  }

  func readLengthPrefixed() throws -> Data {
    let n = try read(4).withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
    return try read(n)
  }

  /// Seconds the worker has to answer a step (`POPS_BRIDGE_TIMEOUT_S`,
  /// default 60) and a reset or start-up (five times that: Atari resets and
  /// imports are slow). A worker that misses it is stopped and the request
  /// fails with an error naming the environment, instead of hanging.
  static let defaultStepTimeout: Double = {
    if let text = ProcessInfo.processInfo.environment["POPS_BRIDGE_TIMEOUT_S"], let s = Double(text), s > 0, s.isFinite { return s }
    return 60
  }()
  /// This worker's limit for a step (the default unless the environment was made with another).
  var stepTimeout = GymWorker.defaultStepTimeout
  var resetTimeout: Double { 5 * stepTimeout }

  /// Reads one observation and `tail` more bytes, which stay in
  /// `observationBuffer` after the observation.
  func readObservation(tail: Int = 0, within seconds: Double, doing request: String) throws -> [Float] {
    let buffer = observationBuffer!
    let raw = UnsafeRawBufferPointer(buffer)
    try readExactly(into: buffer.baseAddress!, count: observationBytes + tail, within: seconds, doing: request)
    let uint8 = info.obsDtype == .uint8
    let count = uint8 ? observationBytes : observationBytes / 4
    return [Float](unsafeUninitializedCapacity: count) { out, initialized in
        if uint8 {
          let src = raw.bindMemory(to: UInt8.self)
          for i in 0..<count { out[i] = Float(src[i]) * (1 / 255) }
        } else {
          for i in 0..<count {
            out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
          }
        }
        initialized = count
      }
  }

  /// How long a read busy-waits for the worker's reply before sleeping in
  /// the kernel: `POPS_BRIDGE_SPIN_US` microseconds, default 3000. On a VM a
  /// sleeping vCPU takes ~0.1 ms to wake, 10% of an Atari step; spinning
  /// through the step avoids it at the cost of one busy core while waiting.
  static let spinNanoseconds: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["POPS_BRIDGE_SPIN_US"], let us = UInt64(text) { return us * 1000 }
    return 3_000_000
  }()

  /// Returns once `fd` has data (or EOF/error), spinning first; false when
  /// nothing came by `deadline` (uptime nanoseconds).
  private func awaitReadable(_ fd: Int32, deadline: UInt64) -> Bool {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let spinEnd = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
    while poll(&pfd, 1, 0) == 0 {
      let now = DispatchTime.now().uptimeNanoseconds
      if now > spinEnd {
        // Sleep in the kernel until data or the deadline (in slices, so EINTR is harmless).
        while true {
          let current = DispatchTime.now().uptimeNanoseconds
          if current >= deadline { return false }
          if poll(&pfd, 1, Int32(clamping: min((deadline - current) / 1_000_000 + 1, 1000))) > 0 { return true }
        }
      }
      sched_yield()  // a worker waiting for this core goes first
    }
    return true
  }

  private func readExactly(
    into base: UnsafeMutableRawPointer, count: Int, within seconds: Double, doing request: String
  ) throws {
    let fd = output.fileDescriptor
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    var offset = 0
    while offset < count {
      guard awaitReadable(fd, deadline: deadline) else {
        // Alive but silent (stopped, stuck): stop it, so nothing waits on it again.
        let pid = process.processIdentifier
        if process.isRunning { kill(pid, SIGKILL) }
        throw GymBridgeError(
          "gym:\(id): the worker (pid \(pid)) did not answer \(request) within \(String(format: "%g", seconds)) s and was stopped; POPS_BRIDGE_TIMEOUT_S sets the limit for a step (a reset gets 5 times it)")
      }
      let n = Glibc.read(fd, base + offset, count - offset)
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw died(closingOutput: n == 0) }
      offset += n
    }
  }

  /// The error for a worker that is gone. `closingOutput`: its output just
  /// ended (EOF, or EPIPE on its input), so it is exiting; it gets up to a
  /// second to finish, so the error can give its exit status rather than
  /// "stopped answering". One still running is stopped (SIGKILL): nothing
  /// talks to it again, and `deinit` would wait for it.
  private func died(closingOutput: Bool = false) -> GymBridgeError {
    if closingOutput {
      var waited = 0
      while process.isRunning && waited < 100 {
        usleep(10_000)
        waited += 1
      }
    }
    if process.isRunning {
      let pid = process.processIdentifier
      kill(pid, SIGKILL)
      return GymBridgeError("gym:\(id): the worker (pid \(pid)) stopped answering and was stopped")
    }
    return GymBridgeError("gym:\(id): the worker exited (status \(process.terminationStatus)); see `python gym_worker.py \(id)` for its error")
  }

  static func workerScript() throws -> URL {
    if let path = ProcessInfo.processInfo.environment["POPS_GYM_WORKER"] { return URL(fileURLWithPath: path) }
    guard let url = Bundle.module.url(forResource: "gym_worker", withExtension: "py") else {
      throw GymBridgeError("gym_worker.py is missing from the pops resources")
    }
    return url
  }
}
