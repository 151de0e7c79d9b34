#!/usr/bin/python3
"""Reference PSNR and SSIM from scikit-image for tests/test_metrics.c, and a
small natural test image for the CLI tests.

Run with Debian's python (scikit-image, numpy):
    /usr/bin/python3 scripts/make_skimage_fixture.py

Writes tests/fixtures/skimage_metrics.bin, little-endian:
    uint32 magic 0x4D535047 ("GPSM"), uint32 version 1, uint32 count, then per
    pair: int32 c, h, w; float64 psnr, ssim; float32 a[c*h*w], b[c*h*w] (CHW)
with psnr = peak_signal_noise_ratio(b, a, data_range=1) and
ssim = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1, channel_axis=0), both computed in
float64 on the float32 values stored.

Also writes tests/fixtures/chelsea_64.png: scikit-image's "chelsea" sample
(a cat, CC0, Stefan van der Walt) center-cropped and resized to 64x64 RGB.
"""
import os
import struct

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

MAGIC = 0x4D535047
VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")


def chelsea_64():
    im = Image.fromarray(data.chelsea())  # 300 x 451 RGB
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return im.crop((left, top, left + s, top + s)).resize((64, 64), Image.BILINEAR)


def smooth_field(rng, c, h, w, sigma):
    x = rng.random((c, h, w))
    x = np.stack([ndimage.gaussian_filter(ch, sigma) for ch in x])
    x -= x.min()
    return x / x.max()


def pairs(rng, cat):
    # natural RGB image vs a blurred, noisy copy
    a = cat.astype(np.float64)
    b = np.stack([ndimage.gaussian_filter(ch, 1.2) for ch in a]) + 0.02 * rng.standard_normal(a.shape)
    yield a, np.clip(b, 0, 1)
    # gray natural image vs noise only
    g = a.mean(axis=0, keepdims=True)
    yield g, np.clip(g + 0.05 * rng.standard_normal(g.shape), 0, 1)
    # odd sizes: 37 x 29 gray, smooth content, unrelated noise
    s = smooth_field(rng, 1, 37, 29, 2.0)
    yield s, np.clip(s + 0.1 * rng.standard_normal(s.shape), 0, 1)
    # the smallest legal size (the 11 x 11 window) and a non-square RGB
    t = rng.random((3, 11, 16))
    yield t, rng.random((3, 11, 16))
    # a shifted copy: SSIM well below 1 for a similar image
    u = smooth_field(rng, 3, 24, 40, 1.5)
    yield u, np.roll(u, (2, -1), axis=(1, 2))


def main():
    rng = np.random.default_rng(20240531)
    cat_im = chelsea_64()
    cat_im.save(os.path.join(FIXTURES, "chelsea_64.png"))
    cat = np.asarray(cat_im, dtype=np.float64).transpose(2, 0, 1) / 255.0
    out = []
    for a, b in pairs(rng, cat):
        a = a.astype(np.float32)
        b = b.astype(np.float32)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        psnr = peak_signal_noise_ratio(b64, a64, data_range=1)
        ssim = structural_similarity(a64, b64, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1, channel_axis=0)
        c, h, w = a.shape
        out.append(struct.pack("<3i2d", c, h, w, psnr, ssim) + a.tobytes() + b.tobytes())
        print(f"{c}x{h}x{w}: PSNR {psnr:.6f} SSIM {ssim:.6f}")
    with open(os.path.join(FIXTURES, "skimage_metrics.bin"), "wb") as f:
        f.write(struct.pack("<3I", MAGIC, VERSION, len(out)))
        for rec in out:
            f.write(rec)


if __name__ == "__main__":
    main()
