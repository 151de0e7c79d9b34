#!/usr/bin/env bash
# The range-PSNR curve of a face prior over training: for every snapshot
# DIR/snapshot_STEP.safetensors that `gpdeblur train --snapshot-every`
# (scripts/train_face_prior.sh) wrote, the mean range PSNR / SSIM of held-out
# CelebA faces by `gpdeblur evalgen` (the solver's range projection, what
# `gpdeblur project` gives), appended to DIR/range_curve.csv. Snapshots
# already measured with the same settings are skipped, so it can run again
# while training goes on. Plot with scripts/plot_face_prior.py DIR.
#
#   scripts/face_prior_curve.sh DIR [FILE.safetensors ...] [-- extra evalgen options]
#
# With files given, those are measured instead of the snapshots (their step
# from the train_steps metadata), e.g. the final export on the 100 held-out
# faces: FACES=8001:8100 scripts/face_prior_curve.sh DIR DIR/dcgan_celeba64.safetensors
#
# Environment (defaults): GPDEBLUR (build/gpdeblur), CELEBA
# (../shared/data/celeba), FACES (8001:8016, held-out CelebA file numbers;
# the CelebA crop), STEPS (300) and RESTARTS (2) of the range projection,
# SEED (0), DEVICE (auto).
#
# range_curve.csv: step,faces,proj_steps,restarts,seed,range_psnr,range_ssim,
# range_rel_l2,seconds,file
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/recipe_common.sh"
recipe_usage "${BASH_SOURCE[0]}" "$@"
bin=$(recipe_gpdeblur face_prior_curve.sh)
dir=$1
shift
files=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
[ $# -gt 0 ] && shift # the --
celeba=${CELEBA:-../shared/data/celeba}
faces=${FACES:-8001:8016} steps=${STEPS:-300} restarts=${RESTARTS:-2} seed=${SEED:-0}
[ -d "$dir" ] || { echo "face_prior_curve.sh: $dir: no such folder" >&2; exit 1; }
if [ ${#files[@]} -eq 0 ]; then
  shopt -s nullglob
  files=("$dir"/snapshot_*.safetensors)
  [ ${#files[@]} -gt 0 ] || { echo "face_prior_curve.sh: no $dir/snapshot_*.safetensors (train with --snapshot-every)" >&2; exit 1; }
fi
csv=$dir/range_curve.csv
[ -s "$csv" ] || echo "step,faces,proj_steps,restarts,seed,range_psnr,range_ssim,range_rel_l2,seconds,file" > "$csv"

for f in "${files[@]}"; do
  step=$("$bin" info --json "$f" | sed -n 's/.*"train_steps":"\([0-9]*\)".*/\1/p')
  [ -n "$step" ] || { echo "face_prior_curve.sh: $f has no train_steps metadata" >&2; exit 1; }
  key="$step,$faces,$steps,$restarts,$seed,"
  if grep -q "^$key" "$csv"; then continue; fi
  out=$(GPD_PROGRESS=0 "$bin" evalgen --weights "$f" --data "$celeba" --celeba-range "$faces" \
          --steps "$steps" --restarts "$restarts" --seed "$seed" --device "${DEVICE:-auto}" "$@")
  # range: rel_l2 R  psnr P dB  ssim S  (...)   /   items N, T s on ENGINE
  row=$(echo "$out" | awk '/^range:/ {r = $3; p = $5; s = $8} /^items/ {t = $3} END {print p "," s "," r "," t}')
  echo "$key$row,$(basename "$f")" >> "$csv"
  echo "step $step: range PSNR $(echo "$row" | cut -d, -f1) dB on faces $faces"
done
