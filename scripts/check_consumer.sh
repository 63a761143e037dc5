#!/usr/bin/env bash
# Proves that another Swift package can depend on pops: clones this
# repository's HEAD, tags the clone with pops' version, and builds and runs a
# tiny package that names it as a versioned remote dependency
# (`.package(url: "file://...", from: VERSION)`; SwiftPM forgives unsafe build
# flags in a `.package(path:)` dependency, so that form would prove nothing).
# The consumer imports PoPS, builds a network and runs one forward pass.
# Usage: scripts/check_consumer.sh   (make test runs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
swift=${SWIFT:-swift}
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$root"/Sources/PoPS*/*.swift "$root"/Sources/PoPS/*/*.swift 2>/dev/null | head -1)
[ -n "$version" ] || { echo "check_consumer: error: PoPSVersion.current not found under $root/Sources" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pops-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/pops"
git -C "$work/pops" tag "$version"
mkdir -p "$work/consumer/Sources/consumer"
cat > "$work/consumer/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "consumer",
  dependencies: [.package(url: "file://$work/pops", from: "$version")],
  targets: [.executableTarget(name: "consumer", dependencies: [.product(name: "PoPS", package: "pops")])]
)
SWIFT
cat > "$work/consumer/Sources/consumer/main.swift" <<'SWIFT'
import PoPS

var rng = SeededGenerator(seed: 1)
let network = Network(.mlp(inputs: 4, hidden: [8, 8], outputs: 2), using: &rng)
let output = network.predict([0.1, -0.2, 0.3, 0.05])
print("consumer: PoPS \(PoPSVersion.current), kernels \(InstructionSet.active.rawValue), output \(output)")
SWIFT
# README's library examples ("## Using the library", the swift blocks that
# import PoPS), compiled as functions the consumer never calls.
python3 - "$root/README.md" "$work/consumer/Sources/consumer/ReadmeExamples.swift" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("## Using the library", 1)[1].split("\n## ", 1)[0]
blocks = [b for b in re.findall(r"```swift\n(.*?)```", section, re.S) if "import PoPS" in b]
if not blocks:
    sys.exit("check_consumer: error: no library examples found in README.md")
out = ["import Foundation", "import PoPS", ""]
for i, block in enumerate(blocks):
    body = [l for l in block.splitlines() if not l.startswith("import ")]
    out.append(f"func readmeExample{i + 1}() throws {{")
    out += ["  " + l if l else l for l in body]
    out.append("}")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print(f"check_consumer: compiling {len(blocks)} README example(s)")
PY
echo "check_consumer: building a package that depends on pops $version by URL (file://, from: \"$version\")"
(cd "$work/consumer" && "$swift" build -c release 2>&1 | tail -3)
out=$("$work/consumer/.build/release/consumer")
echo "$out"
case "$out" in
  "consumer: PoPS $version, kernels "*", output ["*) echo "check_consumer: ok" ;;
  *) echo "check_consumer: error: unexpected output" >&2; exit 1 ;;
esac
