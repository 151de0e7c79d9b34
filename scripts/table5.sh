#!/usr/bin/env bash
# Table V at the paper's protocol (EVALUATION.md, "Table V at the paper's
# protocol"), one row at a time, sharded and resumable.
#
#   bash scripts/table5.sh BUILD/gpdeblur OUT_DIR ROW [FIRST_SHARD]
#
# ROW, CelebA (held-out faces 008001-008040, 64x64 crops): 10 restarts x
# 10,000 steps with the paper's weights, fp32:
#   i2     Algorithm 2, --select total
#   i1     Algorithm 1
#   range  Algorithm 1 on each face's range image (the paper's i_range)
# ROW, house numbers (the first 100 held-out SVHN-style renders, 32x32):
# 10 restarts x 6,000 steps (the paper's SVHN budget), fp32:
#   hn_i1     Algorithm 1
#   hn_range  Algorithm 1 on each render's range image
# All rows: 1 % noise, held-out motion kernels of seeds 10^9 + i, the
# halving schedule (the restart-budget section found it level with the full
# one at equal steps). The images are split into SHARDS shards (gpdeblur
# eval --shard K/N, one solve batch each) run in turn into
# OUT_DIR/ROW_sK.csv; each is resumed when run again, so a killed run loses
# at most the shard in flight. Merge them with
#   gpdeblur eval-merge OUT_DIR/ROW_s*.csv -o OUT_DIR/ROW.csv
# It runs in the repository root: OUT_DIR and DATA are relative to it (or
# absolute). The house numbers are the committed renders in
# data/housenum_test (scripts/render_house_numbers.py --count 100 --seed 1,
# the test set's seed): rendering again elsewhere can give other pixels
# (fonts, their rasteriser), so the rows read these files, never a new render.
# Environment (defaults in brackets):
#   DATA       image folder [../shared/data/celeba beside the checkout; data/housenum_test]
#   FILES      file numbers A:B [8001:8040; 1:100]
#   SHARDS     [5; 10]
#   STEPS      [10000; 6000]
#   PRECISION  [fp32]
#   THREADS    CPU threads [2]
set -euo pipefail
usage="usage: table5.sh BUILD/gpdeblur OUT_DIR i2|i1|range|hn_i1|hn_range [FIRST_SHARD]"
BIN=${1:?$usage}
OUT=${2:?$usage}
ROW=${3:?$usage}
FIRST=${4:-1}
case $ROW in
  i2) opts=(--alg 2 --select total) ;;
  i1 | hn_i1) opts=(--alg 1) ;;
  # range images kept in OUT_DIR/range_cache (eval --range-cache): a shard
  # killed after its projections does not project them again when resumed
  range | hn_range) opts=(--alg 1 --range --range-cache "$OUT/range_cache") ;;
  *) echo "table5.sh: row '$ROW' is not i2, i1, range, hn_i1 or hn_range" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
cd "$ROOT"
case $ROW in
  hn_*)
    DATA=${DATA:-data/housenum_test}
    if [ -z "${FILES:-}" ] && ! ls "$DATA"/000100.png >/dev/null 2>&1; then
      echo "table5.sh: $DATA has no renders 000001.png .. 000100.png (data/housenum_test is committed)" >&2
      exit 1
    fi
    data_opts=(--files "${FILES:-1:100}" --steps "${STEPS:-6000}" --dataset "house numbers")
    SHARDS=${SHARDS:-10}
    ;;
  *)
    DATA=${DATA:-../shared/data/celeba}
    data_opts=(--files "${FILES:-8001:8040}" --crop-resize 54:64 --steps "${STEPS:-10000}" --dataset CelebA)
    SHARDS=${SHARDS:-5}
    ;;
esac
mkdir -p "$OUT"
for k in $(seq "$FIRST" "$SHARDS"); do
  start=$(date +%s)
  "$BIN" eval "$DATA" "${data_opts[@]}" --sigma 0.01 --restarts 10 --schedule halving "${opts[@]}" --device cpu \
    --threads "${THREADS:-2}" --precision "${PRECISION:-fp32}" --shard "$k/$SHARDS" \
    -o "$OUT/${ROW}_s$k.csv" --resume
  echo "$ROW shard $k/$SHARDS: $(($(date +%s) - start)) s" >&2
done
