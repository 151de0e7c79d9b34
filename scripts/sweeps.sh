#!/usr/bin/env bash
# The paper's sweeps at Table V's protocol on a smaller set of CelebA faces
# (EVALUATION.md, "Sweeps at the paper's protocol"), one sweep at a time,
# resumable (gpdeblur sweep resumes each value's CSV).
#
#   bash scripts/sweeps.sh BUILD/gpdeblur OUT_DIR SWEEP
#
# SWEEP (each into OUT_DIR/SWEEP/, with sweep.csv, SWEEP.md and, when
# matplotlib is there, SWEEP.png):
#   noise_i1        Fig. 8:  noise sigma 0 .. 0.05, Algorithm 1 on the test faces
#   noise_range     Fig. 8:  the same on their range images (the paper's i_range)
#   restarts_i1     Fig. 11: 1, 2, 5, 10 restarts, Algorithm 1 on the test faces
#   restarts_range  Fig. 11: the same on the range images
#   length_i2       Fig. 14: blur lengths 5-12, 13-20, 21-28, Algorithm 2 (--select total)
#   length_range    Fig. 14: the same lengths, Algorithm 1 on the range images
# Protocol as Table V's (scripts/table5.sh): 10 restarts x 10,000 steps with
# the paper's weights, the halving schedule, fp32, 1 % noise, held-out
# motion kernels (seeds 10^9 + i; the length sweep draws from the seeds
# whose length falls in each bucket), where the sweep does not vary it.
# It runs in the repository root: OUT_DIR is relative to it (or absolute).
# Environment (defaults in brackets):
#   DATA       [../shared/data/celeba beside the checkout]
#   FILES      file numbers A:B [8001:8004]
#   STEPS      [10000]
#   THREADS    CPU threads [2]
set -euo pipefail
usage="usage: sweeps.sh BUILD/gpdeblur OUT_DIR noise_i1|noise_range|restarts_i1|restarts_range|length_i2|length_range"
BIN=${1:?$usage}
OUT=${2:?$usage}
SWEEP=${3:?$usage}
case $SWEEP in
  noise_*) sweep=(--param sigma --values 0,0.01,0.02,0.03,0.05) ;;
  restarts_*) sweep=(--param restarts --values 1,2,5,10) ;;  # no --restarts: swept
  length_*) sweep=(--param length --values 5:12,13:20,21:28) ;;
  *) echo "sweeps.sh: sweep '$SWEEP' is not one of noise_i1, noise_range, restarts_i1, restarts_range, length_i2, length_range" >&2
     exit 2 ;;
esac
restarts=(--restarts 10)
[[ $SWEEP == restarts_* ]] && restarts=()
case $SWEEP in
  length_i2) alg=(--alg 2 --select total) ;;
  *_i1) alg=(--alg 1) ;;
  # the range sweeps share one folder of range images (eval --range-cache):
  # each face is projected once for all their values, not once per value
  *_range) alg=(--alg 1 --range --range-cache "$OUT/range_cache") ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
cd "$ROOT"
mkdir -p "$OUT/$SWEEP"
start=$(date +%s)
"$BIN" sweep "${DATA:-../shared/data/celeba}" --files "${FILES:-8001:8004}" --crop-resize 54:64 --dataset CelebA \
  "${sweep[@]}" "${alg[@]}" "${restarts[@]}" --steps "${STEPS:-10000}" --schedule halving --sigma 0.01 \
  --device cpu --threads "${THREADS:-2}" --precision fp32 --out-dir "$OUT/$SWEEP" --report "$OUT/$SWEEP/$SWEEP.md"
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 scripts/plot_sweep.py "$OUT/$SWEEP/sweep.csv" -o "$OUT/$SWEEP/$SWEEP.png"
fi
echo "$SWEEP: $(($(date +%s) - start)) s" >&2
