#!/usr/bin/env bash
# An example Slurm array job: one `gpdeblur eval` shard per array task, then
# one `eval-merge` of them. Copy it, set the #SBATCH lines for your cluster,
# and submit from the repository root:
#
#   jid=$(sbatch --parsable --array=1-8 scripts/slurm_eval.sh OUTDIR DIR [eval options...])
#   sbatch --dependency=afterok:$jid scripts/slurm_eval.sh --merge OUTDIR
#
# Task K of N (K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1, N =
# SLURM_ARRAY_TASK_COUNT) writes OUTDIR/shard_K_of_N.csv with `--shard K/N`;
# a task that is requeued or resubmitted continues its CSV (`--resume`), so
# at most the image in flight is computed twice. `--merge` combines every
# OUTDIR/shard_*_of_N.csv into OUTDIR/results.csv (eval-merge refuses
# overlaps, missing images and mixed settings). GPDEBLUR names the binary
# (default build/gpdeblur); the eval options are the same for every task,
# e.g. `--celeba-range 8001:8080 --crop-resize 54:64 --alg 2 --device cuda`.
#
#SBATCH --job-name=gpdeblur-eval
#SBATCH --cpus-per-task=2
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%A_%a.out
##SBATCH --gres=gpu:1
set -euo pipefail
BIN=${GPDEBLUR:-build/gpdeblur}
die() { echo "slurm_eval.sh: $*" >&2; exit 2; }

if [ "${1:-}" = --merge ]; then
  out=${2:?usage: slurm_eval.sh --merge OUTDIR}
  shopt -s nullglob
  shards=("$out"/shard_*_of_*.csv)
  [ ${#shards[@]} -gt 0 ] || die "no shard CSVs in $out"
  exec "$BIN" eval-merge "${shards[@]}" -o "$out/results.csv"
fi

out=${1:?usage: slurm_eval.sh OUTDIR DIR [eval options...] (inside an array job)}
shift
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] || die "SLURM_ARRAY_TASK_ID is not set: submit with sbatch --array=1-N"
count=${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT is not set}
first=${SLURM_ARRAY_TASK_MIN:-1}
k=$((SLURM_ARRAY_TASK_ID - first + 1))
[ "$k" -ge 1 ] && [ "$k" -le "$count" ] || die "task $SLURM_ARRAY_TASK_ID is outside the array ($first.. of $count)"
mkdir -p "$out"
csv="$out/shard_${k}_of_${count}.csv"
resume=()
[ -s "$csv" ] && resume=(--resume)
# OMP / BLAS threads follow the allocation
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-${OMP_NUM_THREADS:-1}}
exec "$BIN" eval "$@" --shard "$k/$count" -o "$csv" "${resume[@]}"
