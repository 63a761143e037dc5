import CPoPSKernels
import Foundation

/// The instruction sets pops' kernels (GEMM micro-kernels, GEMV) are written
/// for. The best one the CPU supports is chosen once at run time, so one
/// build runs at full speed on any x86-64 CPU; `POPS_ISA` forces a path.
public enum InstructionSet: String, CaseIterable, Sendable, CustomStringConvertible {
  /// AVX-512F/VL with FMA: an 8x32 GEMM tile.
  case avx512
  /// AVX2 with FMA: a 6x16 GEMM tile.
  case avx2
  /// Portable C the compiler vectorises for the target's baseline (SSE2 on
  /// x86-64, NEON on arm64): a 6x16 tile.
  case generic

  /// The path's value in the C kernels' API (`POPS_ISA_*` in pops_kernels.h).
  public var code: Int32 {
    switch self {
    case .avx512: return Int32(POPS_ISA_AVX512)
    case .avx2: return Int32(POPS_ISA_AVX2)
    case .generic: return Int32(POPS_ISA_GENERIC)
    }
  }

  /// Whether this CPU (and its operating system) can run the path.
  public var isSupported: Bool { pops_isa_supported(code) != 0 }

  /// The paths this CPU runs, fastest first (`generic` always).
  public static var supported: [InstructionSet] { allCases.filter(\.isSupported) }

  /// The fastest path this CPU runs.
  public static var best: InstructionSet { supported.first ?? .generic }

  /// GEMM micro-tile rows and columns of the path.
  var tileRows: Int { Int(pops_gemm_mr(code)) }
  var tileColumns: Int { Int(pops_gemm_nr(code)) }

  /// Runs `iterations` rounds of independent register multiply-adds of this
  /// path and returns the floating-point operations done (timed by
  /// `pops-bench peak` to measure the path's peak; no memory traffic).
  public func peakOperations(iterations: Int) -> Double {
    pops_fma_peak(code, iterations)
  }

  public var description: String {
    switch self {
    case .avx512: return "AVX-512 (8x32 GEMM tile)"
    case .avx2: return "AVX2+FMA (6x16 GEMM tile)"
    case .generic: return "generic C (6x16 GEMM tile)"
    }
  }

  /// The path the kernels use unless a call names one: `POPS_ISA` when it
  /// names a supported path, else `best`; fixed for the process. (Kernels
  /// given a path the CPU lacks run the portable code instead.)
  public static let active: InstructionSet = (try? requested()) ?? best

  /// The path `POPS_ISA` asks for (`best` when unset or empty); throws when
  /// it names no path or one this CPU cannot run.
  public static func requested(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> InstructionSet {
    guard let text = environment["POPS_ISA"], !text.isEmpty else { return best }
    guard let isa = InstructionSet(rawValue: text.lowercased()) else { throw InstructionSetError.unknown(text) }
    guard isa.isSupported else { throw InstructionSetError.unsupported(isa) }
    return isa
  }
}

/// A kernel path that was asked for and cannot be used.
public enum InstructionSetError: Error, CustomStringConvertible, Equatable {
  case unknown(String)
  case unsupported(InstructionSet)

  public var description: String {
    let supported = InstructionSet.supported.map(\.rawValue).joined(separator: ", ")
    switch self {
    case .unknown(let text):
      return "POPS_ISA=\(text) names no kernel path; use one of avx512, avx2, generic (this CPU runs \(supported))"
    case .unsupported(let isa):
      return "this CPU cannot run the \(isa.rawValue) kernels (POPS_ISA); it runs \(supported)"
    }
  }
}
