#!/usr/bin/env bash
# The paper's sweep figures from the folders scripts/sweeps.sh writes: each
# figure puts the test images' sweep and the range images' sweep on one pair
# of axes, as the paper's figures do, and beside them each value's PSNR gain
# over the first, paired per image (plot_sweep.py --gain).
#
#   bash scripts/sweep_figures.sh OUT_DIR
#
# writes, for each pair whose two sweep.csv files are both in OUT_DIR,
#   OUT_DIR/fig8_noise.png     noise_i1 and noise_range       (Fig. 8)
#   OUT_DIR/fig11_restarts.png restarts_i1 and restarts_range (Fig. 11)
#   OUT_DIR/fig14_length.png   length_i2 and length_range     (Fig. 14)
# and names each pair it skips for want of a sweep. Needs matplotlib
# (Debian: python3-matplotlib).
set -euo pipefail
OUT=${1:?usage: sweep_figures.sh OUT_DIR}
[[ -d $OUT ]] || { echo "sweep_figures.sh: $OUT is not a folder" >&2; exit 2; }
/usr/bin/python3 -c "import matplotlib" 2>/dev/null ||
  { echo "sweep_figures.sh: /usr/bin/python3 has no matplotlib (Debian: python3-matplotlib)" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
made=0
# figure file, test-image sweep, range-image sweep, title (the rest of the line)
while read -r png test range title; do
  missing=()
  for s in "$test" "$range"; do [[ -f $OUT/$s/sweep.csv ]] || missing+=("$s"); done
  if ((${#missing[@]})); then
    echo "sweep_figures.sh: $png skipped: no sweep.csv for ${missing[*]}" >&2
    continue
  fi
  /usr/bin/python3 "$ROOT/scripts/plot_sweep.py" "$OUT/$test/sweep.csv" "$OUT/$range/sweep.csv" \
    --gain --title "$title" -o "$OUT/$png"
  made=$((made + 1))
done <<'EOF'
fig8_noise.png noise_i1 noise_range Fig. 8: noise, CelebA
fig11_restarts.png restarts_i1 restarts_range Fig. 11: random restarts, CelebA
fig14_length.png length_i2 length_range Fig. 14: blur length, CelebA
EOF
echo "sweep_figures.sh: $made figure(s) in $OUT" >&2
