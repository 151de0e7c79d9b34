#!/usr/bin/env bash
# scripts/slurm_eval.sh as Slurm would run it, with the array variables set
# by hand: three tasks (one of them killed mid-way and run again, as a
# requeue does), then --merge; the merged CSV has the rows of one unsharded
# eval. Missing array variables and a missing shard are refused.
#   bash tests/cli_slurm.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_slurm.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_slurm.sh path/to/gpdeblur SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
export GPD_PROGRESS=0 GPDEBLUR=$BIN
JOB="$SRC/scripts/slurm_eval.sh"

. "$SRC/tests/tiny_generators.sh"
G=(--image-gen "$T/gen.safetensors" --blur-gen "$T/blur.safetensors" --device cpu -r 2 --lr 1e-7 -n 50)
rows() { cut -d, -f1-14 "$1"; } # without the seconds column

"$BIN" eval "$T/faces" -o "$T/one.csv" "${G[@]}" >/dev/null 2>"$T/one.err" || bad "unsharded eval: $(cat "$T/one.err")"

# three array tasks 4..6 (SLURM_ARRAY_TASK_MIN 4): shards 1/3..3/3
for id in 4 5 6; do
  SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 \
    bash "$JOB" "$T/out" "$T/faces" "${G[@]}" >/dev/null 2>"$T/task$id.err" || bad "task $id: $(cat "$T/task$id.err")"
done
[ -s "$T/out/shard_1_of_3.csv" ] && [ -s "$T/out/shard_3_of_3.csv" ] || bad "shard CSVs missing: $(ls "$T/out")"

# a requeued task continues its CSV: cut its last row, run it again
head -n -1 "$T/out/shard_2_of_3.csv" > "$T/cut.csv" && mv "$T/cut.csv" "$T/out/shard_2_of_3.csv"
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 \
  bash "$JOB" "$T/out" "$T/faces" "${G[@]}" >/dev/null 2>"$T/requeue.err" || bad "requeued task: $(cat "$T/requeue.err")"

if bash "$JOB" --merge "$T/out" >/dev/null 2>"$T/merge.err"; then
  diff <(rows "$T/out/results.csv") <(rows "$T/one.csv") >/dev/null ||
    bad "merged shards differ from one run: $(diff <(rows "$T/out/results.csv") <(rows "$T/one.csv"))"
else
  bad "merge: $(cat "$T/merge.err")"
fi

# refused: outside an array job; a missing shard at merge time
bash "$JOB" "$T/out2" "$T/faces" "${G[@]}" >/dev/null 2>"$T/noarray.err" && bad "ran outside an array job"
grep -q "SLURM_ARRAY_TASK_ID is not set" "$T/noarray.err" || bad "no-array message: $(cat "$T/noarray.err")"
rm "$T/out/shard_3_of_3.csv" "$T/out/shard_3_of_3.csv.json"
bash "$JOB" --merge "$T/out" >/dev/null 2>"$T/missing.err" && bad "merged with a shard missing"
[ "$(wc -l < "$T/missing.err")" -eq 1 ] || bad "missing shard: not one line: $(cat "$T/missing.err")"

[ $fail -eq 0 ] && echo "cli_slurm: ok"
exit $fail
