#!/usr/bin/env bash
# The restart-budget curve (EVALUATION.md, "Restarts as a budget"): mean
# PSNR against restart-iterations for the full and the halving schedule at
# several step budgets, on held-out CelebA faces, Algorithm 2, 10 restarts.
# One command; resumable (run it again after a kill: each sweep value's
# results CSV is resumed); rerun with other generators by --image-gen.
#
#   bash scripts/restart_budget.sh BUILD/gpdeblur OUT_DIR [more eval options, e.g. --device cpu]
#
# It runs in the repository root: OUT_DIR, DATA and the generators are
# relative to it (or absolute), and the results' manifests record them as
# given.
# Environment (defaults in brackets):
#   DATA          the CelebA folder [../shared/data/celeba, beside the checkout]
#   IMAGE_GEN     [weights/dcgan_celeba64.safetensors]
#   BLUR_GEN      [weights/blur_vae.safetensors]
#   FACES         held-out faces, the first of 008001-009000 [16]
#   FULL_STEPS    step budgets of the full schedule [250,500,1000]
#   HALVING_STEPS step budgets of the halving schedule [250,500,1000,2000]
#   HALVING_AT    the halving points [the solver's default]
#   RESTARTS      [10]
# Writes OUT_DIR/full/ and OUT_DIR/halving/ (gpdeblur sweep --param steps:
# one results CSV per budget and sweep.csv), OUT_DIR/budget.csv (the
# points) and OUT_DIR/budget.png (the plot; needs matplotlib), and prints
# the paired comparison of the budgets both schedules ran.
set -euo pipefail
BIN=${1:?usage: restart_budget.sh BUILD/gpdeblur OUT_DIR [eval options]}
OUT=${2:?usage: restart_budget.sh BUILD/gpdeblur OUT_DIR [eval options]}
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$BIN" in */*) BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" ;; esac
cd "$ROOT"
DATA=${DATA:-../shared/data/celeba}
IMAGE_GEN=${IMAGE_GEN:-weights/dcgan_celeba64.safetensors}
BLUR_GEN=${BLUR_GEN:-weights/blur_vae.safetensors}
FACES=${FACES:-16}
FULL_STEPS=${FULL_STEPS:-250,500,1000}
HALVING_STEPS=${HALVING_STEPS:-250,500,1000,2000}
RESTARTS=${RESTARTS:-10}
[ -d "$DATA" ] || { echo "restart_budget.sh: no CelebA folder at $DATA (set DATA)" >&2; exit 1; }
HALVING=()
[ -n "${HALVING_AT:-}" ] && HALVING=(--halving-at "$HALVING_AT")
COMMON=("$DATA" --files 8001:9000 --limit "$FACES" --crop-resize 54:64 --alg 2 -r "$RESTARTS" --param steps
        --image-gen "$IMAGE_GEN" --blur-gen "$BLUR_GEN" "$@")

mkdir -p "$OUT"
echo "restart_budget.sh: $FACES faces, Algorithm 2, $RESTARTS restarts; full at $FULL_STEPS, halving at $HALVING_STEPS" >&2
"$BIN" sweep "${COMMON[@]}" --values "$FULL_STEPS" --schedule full --out-dir "$OUT/full"
"$BIN" sweep "${COMMON[@]}" --values "$HALVING_STEPS" --schedule halving "${HALVING[@]}" --out-dir "$OUT/halving"
PLOT=(-o "$OUT/budget.png")
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { PLOT=(); echo "restart_budget.sh: no matplotlib: no plot" >&2; }
/usr/bin/python3 scripts/plot_budget.py "$OUT/full/sweep.csv" "$OUT/halving/sweep.csv" --labels full,halving \
  --csv "$OUT/budget.csv" "${PLOT[@]}" \
  --title "Algorithm 2, $RESTARTS restarts, $FACES held-out CelebA faces (008001-), $(date -u +%Y-%m-%d)"
