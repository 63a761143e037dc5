"""Reads a folder of TensorBoard event files with TensorBoard's own reader
(used by pops' tests of `--tensorboard`). Checks every record's framing and
masked CRC-32C first, then prints {"tags": {tag: [[step, value], ...]}} as JSON.

Usage: read_tensorboard.py DIR
"""
import json
import os
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c


def check_records(path):
    data = open(path, "rb").read()
    offset, records = 0, 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if header_crc != masked_crc32c(header):
            raise SystemExit(f"{path}: bad length CRC at byte {offset}")
        body = data[offset + 12:offset + 12 + length]
        (body_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        if len(body) != length or body_crc != masked_crc32c(body):
            raise SystemExit(f"{path}: bad record CRC at byte {offset}")
        offset += 16 + length
        records += 1
    return records


def main():
    folder = sys.argv[1]
    files = [f for f in os.listdir(folder) if "tfevents" in f]
    if not files:
        raise SystemExit(f"{folder}: no event files")
    records = sum(check_records(os.path.join(folder, f)) for f in files)
    accumulator = EventAccumulator(folder, size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = {tag: [[e.step, e.value] for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    print(json.dumps({"files": len(files), "records": records, "tags": tags}))


if __name__ == "__main__":
    main()
