#!/bin/bash
# Demo: blur a sharp 64x64 image with a random camera-shake kernel and 1%
# noise, as the paper's experiments do, and report PSNR / SSIM of the blurry
# image against the sharp one.
#   bash scripts/demo.sh path/to/gpdeblur [OUT_DIR]
# Uses the first CelebA face from ../shared/data when that folder exists
# (center crop 54, resize to 64), else the shipped test image.
set -euo pipefail
BIN=${1:?usage: bash scripts/demo.sh path/to/gpdeblur [OUT_DIR]}
OUT=${2:-demo_out}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FACE="$ROOT/../shared/data/celeba/000001.jpg"
mkdir -p "$OUT"
if [ -f "$FACE" ]; then
  echo "sharp image: $FACE (CelebA, center crop 54, resize 64)"
  "$BIN" blur "$FACE" --crop-resize 54:64 --seed 7 --sigma 0.01 --sharp-out "$OUT/sharp.png" -o "$OUT/blurry.png"
else
  echo "sharp image: tests/fixtures/chelsea_64.png (no ../shared/data/celeba here)"
  cp "$ROOT/tests/fixtures/chelsea_64.png" "$OUT/sharp.png"
  "$BIN" blur "$OUT/sharp.png" --seed 7 --sigma 0.01 -o "$OUT/blurry.png"
fi
echo "motion kernel: seed 7, $OUT/blurry.kernel ($OUT/blurry_kernel.png)"
echo "blurry vs sharp:"
"$BIN" metrics "$OUT/blurry.png" "$OUT/sharp.png"
echo "images in $OUT/"
