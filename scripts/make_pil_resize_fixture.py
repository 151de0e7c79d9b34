#!/usr/bin/python3
"""Reference resizes from PIL (Image.BILINEAR, float "F" images, so no 8-bit
rounding) for tests/test_blur.c.

    /usr/bin/python3 scripts/make_pil_resize_fixture.py

Writes tests/fixtures/pil_resize.bin, little-endian:
    uint32 magic 0x5A525047 ("GPRZ"), uint32 version 1, uint32 count, then per
    case: int32 c, h, w (source), crop (0: none, else a centre crop x crop
    first, offset rounded up as gpdeblur does), out_h, out_w;
    float32 src[c*h*w], ref[c*out_h*out_w] (CHW).
The first case is the CelebA recipe on an 89 x 109 (w x h) image: centre crop
54, resize to 64 (enlarging: plain bilinear with half-pixel centres); the
others shrink (PIL's antialiased, area-weighted triangle filter) and mix.
"""
import os
import struct

import numpy as np
from PIL import Image

MAGIC = 0x5A525047
VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "pil_resize.bin")


def pil_resize(chw, out_h, out_w):
    return np.stack([np.asarray(Image.fromarray(ch, mode="F").resize((out_w, out_h), Image.BILINEAR)) for ch in chw])


def main():
    rng = np.random.default_rng(7)
    cases = [(3, 109, 89, 54, 64, 64), (1, 64, 48, 0, 23, 31), (2, 20, 30, 0, 45, 12), (1, 17, 17, 0, 5, 40)]
    recs = []
    for c, h, w, crop, oh, ow in cases:
        src = rng.random((c, h, w)).astype(np.float32)
        img = src
        if crop:
            top, left = (h - crop + 1) // 2, (w - crop + 1) // 2
            img = src[:, top:top + crop, left:left + crop]
        ref = pil_resize(np.ascontiguousarray(img), oh, ow).astype(np.float32)
        recs.append(struct.pack("<6i", c, h, w, crop, oh, ow) + src.tobytes() + ref.tobytes())
    with open(OUT, "wb") as f:
        f.write(struct.pack("<3I", MAGIC, VERSION, len(recs)))
        for r in recs:
            f.write(r)


if __name__ == "__main__":
    main()
