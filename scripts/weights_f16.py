#!/usr/bin/env python3
"""Store a safetensors file's large F32 tensors as F16 (half the bytes).

  scripts/weights_f16.py FILE [--min-elements 4096]

Tensors of at least --min-elements F32 values (convolution and dense
weights) become F16; smaller ones (biases, batch-norm gammas, betas and
running statistics, whose variances can fall below F16's normal range) stay
F32. gpdeblur reads F16 as float. Rounding to F16 keeps 11 significant
bits: a DCGAN's weights move by ~2^-12 relative. The metadata records it
(`storage`). Used to keep the shipped weights within the repository's size
budget (tests/cli_gpu_deps.sh).
"""
import argparse
import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from weights_meta import read, write  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--min-elements", type=int, default=4096)
    a = ap.parse_args()
    header, data = read(a.file)
    out, chunks, offset, converted = {}, [], 0, 0
    for name, t in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                          key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = t["data_offsets"]
        raw = data[begin:end]
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        if t["dtype"] == "F32" and count >= a.min_elements:
            raw = np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes()
            t = dict(t, dtype="F16")
            converted += 1
        out[name] = dict(t, data_offsets=[offset, offset + len(raw)])
        chunks.append(raw)
        offset += len(raw)
    meta = dict(header.get("__metadata__", {}))
    meta["storage"] = f"F16 for tensors of >= {a.min_elements} values, else F32 (scripts/weights_f16.py)"
    out["__metadata__"] = meta
    write(a.file, out, b"".join(chunks))
    print(f"{a.file}: {converted} tensors stored as F16, data {len(data)} -> {offset} bytes")


if __name__ == "__main__":
    main()
