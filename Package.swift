// swift-tools-version:6.0
import PackageDescription

// No unsafe flags, so other packages can depend on this one: the hot
// kernels are C (CPoPSKernels) with per-function target attributes, and the
// path for the CPU at hand is chosen at run time (InstructionSet.swift).
let settings: [SwiftSetting] = []

let package = Package(
  name: "pops",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "PoPS", targets: ["PoPS"]),
    .executable(name: "pops", targets: ["pops"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // GEMM micro-kernels and GEMV for AVX-512, AVX2+FMA and portable C.
    .target(name: "CPoPSKernels"),
    .target(name: "PoPSCore", dependencies: ["CPoPSKernels"], swiftSettings: settings),
    .target(name: "PoPSNN", dependencies: ["PoPSCore", "CPoPSKernels"], swiftSettings: settings),
    // C API over the system Box2D (Debian's libbox2d-dev, installed by `make deps`).
    .target(name: "CBox2D", linkerSettings: [.linkedLibrary("box2d")]),
    .target(
      name: "PoPSEnvironments", dependencies: ["PoPSCore", "CBox2D"],
      resources: [.copy("gym_worker.py")], swiftSettings: settings),
    .target(
      name: "PoPSAgents",
      dependencies: ["PoPSCore", "PoPSNN", "PoPSEnvironments"],
      swiftSettings: settings),
    // Swift types generated from the official onnx.proto (scripts/generate_onnx_proto.sh); not edited by hand.
    .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
    .target(
      name: "PoPS",
      dependencies: ["PoPSCore", "PoPSNN", "PoPSEnvironments", "PoPSAgents", "Yams", "ONNXProto"],
      resources: [.copy("Sweep/ray_driver.py")], swiftSettings: settings),
    .executableTarget(
      name: "pops",
      dependencies: [
        "PoPS",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: settings),
    .executableTarget(
      name: "pops-bench",
      dependencies: ["PoPS"],
      path: "Benchmarks/pops-bench",
      swiftSettings: settings),
    .testTarget(name: "PoPSCoreTests", dependencies: ["PoPSCore", "CPoPSKernels"], swiftSettings: settings),
    .testTarget(
      name: "PoPSNNTests", dependencies: ["PoPSNN"], exclude: ["Fixtures"], swiftSettings: settings),
    .testTarget(
      name: "PoPSEnvironmentsTests", dependencies: ["PoPSEnvironments"],
      exclude: ["Fixtures"], swiftSettings: settings),
    .testTarget(name: "PoPSAgentsTests", dependencies: ["PoPSAgents"], swiftSettings: settings),
    .testTarget(name: "PoPSTests", dependencies: ["PoPS"], exclude: ["Fixtures"], swiftSettings: settings),
    .testTarget(name: "popsCLITests", dependencies: ["pops", "PoPS"], swiftSettings: settings),
  ],
  cxxLanguageStandard: .cxx17
)
