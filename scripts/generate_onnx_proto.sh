#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift from the official onnx.proto, as
# shipped by the onnx package on PyPI (made with onnx 1.23.2, protoc 3.21.12
# from Debian's protobuf-compiler, protoc-gen-swift from swift-protobuf
# 1.39.0). Run by hand; CI never builds the plugin: the generated file is committed.
#   python3 -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install onnx==1.23.2
#   apt-get install protobuf-compiler
#   git clone https://github.com/apple/swift-protobuf /tmp/swiftpb && (cd /tmp/swiftpb && git checkout 1.39.0 \
#     && swift build -c release --product protoc-gen-swift)
#   scripts/generate_onnx_proto.sh /tmp/onnx-venv/lib/python3.*/site-packages/onnx /tmp/swiftpb/.build/release/protoc-gen-swift
set -euo pipefail
proto_dir=${1:?usage: generate_onnx_proto.sh ONNX_PACKAGE_DIR PROTOC_GEN_SWIFT}
plugin=${2:?usage: generate_onnx_proto.sh ONNX_PACKAGE_DIR PROTOC_GEN_SWIFT}
cd "$(dirname "$0")/.."
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out=Sources/ONNXProto \
  -I "$proto_dir" "$proto_dir/onnx.proto"
echo "wrote Sources/ONNXProto/onnx.pb.swift"
