#!/usr/bin/env bash
# The face prior G_I in one command: DCGAN-64 at the paper's width (64),
# latent 100, trained on CelebA 000001-008000 (the CelebA recipe: centre crop
# 54, resize to 64) with horizontal flips + DiffAugment and an EMA of G (what
# ships), bf16 convolutions, on the GPU when there is one, else the oneDNN
# CPU engine. Resumable: run it again with the same folder and it continues
# exactly where it stopped (full state in DIR/checkpoint.safetensors).
#
#   scripts/train_face_prior.sh DIR [extra gpdeblur train options]
#
# Writes into DIR: checkpoint.safetensors (every 10 min), loss.csv,
# samples_STEP.png, snapshot_STEP.safetensors (the EMA generator every
# $SNAPSHOT_EVERY steps, 20 MB each at width 64, for
# scripts/face_prior_curve.sh) and, when training stops (the step budget,
# or Ctrl-C / SIGTERM), dcgan_celeba64.safetensors, the file to ship as
# weights/dcgan_celeba64.safetensors.
#
# Environment (defaults): GPDEBLUR (build/gpdeblur), CELEBA
# (../shared/data/celeba), STEPS (200000, the total to reach), SNAPSHOT_EVERY
# (10000), DEVICE (auto: cuda when present, else cpu), PRECISION (bf16).
# Extra options go to `gpdeblur train` after the recipe's and override them
# (e.g. --checkpoint-every 5m). A resumed run must keep the recipe's model,
# batch, seed, augmentation and EMA (train refuses a checkpoint that differs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/recipe_common.sh"
recipe_usage "${BASH_SOURCE[0]}" "$@"
bin=$(recipe_gpdeblur train_face_prior.sh)
dir=$1
shift
celeba=${CELEBA:-../shared/data/celeba}
mkdir -p "$dir" # train checks its outputs' folders before any work

exec "$bin" train --arch dcgan --width 64 --latent 100 \
  --data "$celeba" --celeba-range 1:8000 \
  --augment all --ema 0.999 --batch 64 --seed 0 \
  --steps "${STEPS:-200000}" \
  --device "${DEVICE:-auto}" --precision "${PRECISION:-bf16}" \
  --checkpoint-dir "$dir" --checkpoint-every 10m --resume \
  --snapshot-every "${SNAPSHOT_EVERY:-10000}" --log-every 50 --grid 16 \
  -o "$dir/dcgan_celeba64.safetensors" "$@"
