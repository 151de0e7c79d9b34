#!/usr/bin/env python3
"""Show or set the metadata of a safetensors file without touching its tensors.

  scripts/weights_meta.py FILE                  print the metadata (JSON)
  scripts/weights_meta.py FILE KEY=VALUE ...    set keys (rewrites FILE)

The header is rewritten (padded with spaces to a multiple of 8 bytes, as
gpdeblur writes it); the data section is copied byte for byte, and the
tensor offsets in the header are relative to it, so every tensor keeps its
bytes. Used to fix what training recorded (e.g. train_data paths made
relative to the repository) in shipped weights.
"""
import json
import os
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    os.replace(tmp, path)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 else 2
    path = argv[1]
    header, data = read(path)
    meta = header.setdefault("__metadata__", {})
    if len(argv) == 2:
        print(json.dumps(meta, indent=1, sort_keys=True))
        return 0
    for kv in argv[2:]:
        if "=" not in kv:
            sys.exit(f"weights_meta.py: '{kv}' is not KEY=VALUE")
        key, value = kv.split("=", 1)
        meta[key] = value
    write(path, header, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
