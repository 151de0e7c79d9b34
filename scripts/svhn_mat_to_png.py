#!/usr/bin/python3
"""Converts SVHN's cropped-digit files (train_32x32.mat, test_32x32.mat from
http://ufldl.stanford.edu/housenumbers/) to the folder layout gpdeblur's
`train --data` and `evalvae --data` read: DIR/000001.png ... 32x32 RGB PNGs
and DIR/labels.csv (file, digit), label 10 written as digit 0.

    /usr/bin/python3 scripts/svhn_mat_to_png.py train_32x32.mat --out data/svhn_train
    /usr/bin/python3 scripts/svhn_mat_to_png.py test_32x32.mat --out data/svhn_test --count 2000

Needs Debian's python3-scipy (scipy.io.loadmat), python3-numpy, python3-pil.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mat", help="train_32x32.mat / test_32x32.mat / extra_32x32.mat")
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--count", type=int, default=0, help="convert only the first N images (default all)")
    ap.add_argument("--first", type=int, default=1, help="number of the first file (default 1)")
    args = ap.parse_args()
    try:
        from scipy.io import loadmat
    except ImportError:
        sys.exit("svhn_mat_to_png.py: needs scipy (Debian: python3-scipy)")
    try:
        mat = loadmat(args.mat)
    except (OSError, ValueError) as e:
        sys.exit("svhn_mat_to_png.py: %s: cannot read (%s)" % (args.mat, e))
    if "X" not in mat or "y" not in mat:
        sys.exit("svhn_mat_to_png.py: %s has no X / y arrays; is it an SVHN *_32x32.mat file?" % args.mat)
    x, y = mat["X"], mat["y"].reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != y.shape[0]:
        sys.exit("svhn_mat_to_png.py: %s: X has shape %s, expected (32, 32, 3, N) with N = %d labels"
                 % (args.mat, x.shape, y.shape[0]))
    n = x.shape[3] if args.count <= 0 else min(args.count, x.shape[3])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "labels.csv"), "w") as labels:
        labels.write("file,digit\n")
        for i in range(n):
            name = "%06d.png" % (args.first + i)
            Image.fromarray(np.ascontiguousarray(x[:, :, :, i]).astype(np.uint8)).save(os.path.join(args.out, name))
            labels.write("%s,%d\n" % (name, int(y[i]) % 10))
    print("wrote %d images to %s" % (n, args.out))


if __name__ == "__main__":
    main()
