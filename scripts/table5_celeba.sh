#!/usr/bin/env bash
# Table V's CelebA rows at the paper's protocol (EVALUATION.md, "Table V at
# the paper's protocol"): held-out faces, 10 restarts x 10,000 steps, 1 %
# noise, held-out motion kernels of seeds 10^9 + i, the halving schedule
# (the restart-budget section found it level with the full one at equal
# steps), the paper's weights, fp32.
#
#   bash scripts/table5_celeba.sh BUILD/gpdeblur OUT_DIR ROW [FIRST_SHARD]
#
# ROW: i2 (Algorithm 2, --select total), i1 (Algorithm 1) or range
# (Algorithm 1 on each face's range image). The faces are split into
# SHARDS shards (gpdeblur eval --shard K/N, one solve batch each) run in
# turn into OUT_DIR/ROW_sK.csv; each is resumed when run again, so a
# killed run loses at most the shard in flight. Merge them with
#   gpdeblur eval-merge OUT_DIR/ROW_s*.csv -o OUT_DIR/ROW.csv
# It runs in the repository root: OUT_DIR and DATA are relative to it (or
# absolute).
# Environment (defaults in brackets):
#   DATA       the CelebA folder [../shared/data/celeba, beside the checkout]
#   FACES      file numbers A:B [8001:8040]
#   SHARDS     [5]
#   STEPS      [10000]
#   PRECISION  [fp32]
#   THREADS    CPU threads [2]
set -euo pipefail
usage="usage: table5_celeba.sh BUILD/gpdeblur OUT_DIR i2|i1|range [FIRST_SHARD]"
BIN=${1:?$usage}
OUT=${2:?$usage}
ROW=${3:?$usage}
FIRST=${4:-1}
case $ROW in
  i2) opts=(--alg 2 --select total) ;;
  i1) opts=(--alg 1) ;;
  range) opts=(--alg 1 --range) ;;
  *) echo "table5_celeba.sh: row '$ROW' is not i2, i1 or range" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
cd "$ROOT"
SHARDS=${SHARDS:-5}
mkdir -p "$OUT"
for k in $(seq "$FIRST" "$SHARDS"); do
  start=$(date +%s)
  "$BIN" eval "${DATA:-../shared/data/celeba}" --files "${FACES:-8001:8040}" --crop-resize 54:64 --sigma 0.01 \
    --restarts 10 --steps "${STEPS:-10000}" --schedule halving "${opts[@]}" --device cpu \
    --threads "${THREADS:-2}" --precision "${PRECISION:-fp32}" --dataset CelebA --shard "$k/$SHARDS" \
    -o "$OUT/${ROW}_s$k.csv" --resume
  echo "$ROW shard $k/$SHARDS: $(($(date +%s) - start)) s" >&2
done
