#!/bin/bash
# `make fuzz`: runs each libFuzzer target of a GPD_FUZZ build for SECONDS
# (or for FUZZ_RUNS executions when that is set), one at a time under
# nice -n 10, from its seed corpus in tests/fuzz/corpus/TARGET. The corpus
# a run grows stays in the build folder. A crash leaves its input beside
# the log (BUILD/fuzz-out/TARGET/crash-*) and fails the run: fix the
# cause, then copy the input to tests/fuzz/regressions/TARGET/, which
# `make test` runs (fuzz_regress_TARGET).
#   usage: run.sh BUILD SECONDS [TARGET...]
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD SECONDS [TARGET...]}" && pwd)
SECS=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors kernel image eval_csv cli)
limit=(-max_total_time="$SECS")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
fails=0
for t in "${targets[@]}"; do
  out="$BUILD/fuzz-out/$t"
  mkdir -p "$out/corpus"
  start=$(date +%s)
  # -timeout: an input that takes 10 s is a hang to report, not to wait out
  (cd "$out" && OPENBLAS_NUM_THREADS=1 nice -n 10 "$BUILD/fuzz_$t" "${limit[@]}" -timeout=10 \
    -artifact_prefix="$out/" -print_final_stats=1 corpus "$SRC/tests/fuzz/corpus/$t" >log 2>&1)
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
  echo "fuzz_$t: ${runs:-?} executions in $(($(date +%s) - start)) s, exit $rc (log: $out/log)"
  if [ $rc -ne 0 ]; then
    fails=$((fails + 1))
    grep -m 3 -E "ERROR|runtime error|SUMMARY" "$out/log" | sed 's/^/  /'
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | sed 's/^/  input: /'
  fi
done
exit $((fails > 0))
