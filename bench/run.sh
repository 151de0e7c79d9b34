#!/usr/bin/env bash
# The benchmarks side by side with PyTorch eager (bench/README.md says what
# each one measures). `make bench` runs this as `bash bench/run.sh BUILD_DIR`.
#
#   bash bench/run.sh [BUILD_DIR]          # default BUILD_DIR: build
#
# One alternating run: every round runs, at the same size, ours on the `ref`
# engine (im2col + OpenBLAS), on the `cpu` engine (oneDNN) in fp32 and in
# bf16, and PyTorch eager, one after another, so that all four meet the
# same load on a shared machine; the tables take the median over rounds of
# each run's median, with the rounds' range, and print ours / PyTorch and
# cpu / ref ratios. What runs: the DCGAN-64 generator (forward + backward to
# z) at batch 10 and 100, Algorithm 1's restart throughput at 10 and 100
# restarts, and one DCGAN-64 training step (batch 64, augmentation off and
# on).
#
# Environment:
#   BENCH_THREADS=2   CPU threads for every program: OMP_NUM_THREADS (the cpu
#                     engine's oneDNN pool), OPENBLAS_NUM_THREADS (the ref
#                     engine; the BLAS inside Debian's torch) and
#                     torch.set_num_threads; all pinned to the same cores
#                     with taskset
#   BENCH_ROUNDS=3    rounds of the generator and restart benchmarks (the
#                     training step: BENCH_TRAIN_ROUNDS, default 2)
#   BENCH_ONLY=...    a comma list of generator,restarts,train,solver,eval_batch (default
#                     generator,restarts,train; solver: bench_solver's five
#                     algorithms, once, on the cpu engine)
#   BENCH_OUT=DIR     where the CSV files go (default BUILD_DIR/bench-results)
#   BENCH_PYTHON=...  a python with torch (default /usr/bin/python3, Debian's
#                     torch 1.13; then python3)
#   BENCH_WAIT_POLICY OMP_WAIT_POLICY for our programs (default: unset,
#                     libgomp's default: spin a while, then sleep). Set
#                     PASSIVE on a shared machine: OpenMP threads that spin
#                     while they wait collapse as soon as other work runs on
#                     the cores. On a quiet machine PASSIVE costs the cpu
#                     engine 20-30% at 10 restarts (every primitive wakes its
#                     threads from sleep): 23.9 against 29.6-31.7 ms, bf16.
#   BENCH_TORCH_WAIT_POLICY  the same for PyTorch (default: PASSIVE, its
#                     faster setting here: Debian's torch 1.13 takes 282 ms
#                     per Algorithm 1 iteration at 10 restarts with the
#                     default policy against 96 ms with PASSIVE, quiet
#                     machine, 2 threads). Each side runs at its faster one.
# CUDA rows run when the build has the CUDA engine and a GPU answers
# (bench_* exit 77 otherwise) and when the python's torch sees the GPU.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
TRAIN_ROUNDS=${BENCH_TRAIN_ROUNDS:-2}
ONLY=,${BENCH_ONLY:-generator,restarts,train},
OUT=${BENCH_OUT:-$BUILD/bench-results}
mkdir -p "$OUT"

BENCHES="bench_generator bench_solver bench_restarts bench_train bench_eval_batch"
for b in $BENCHES; do
  if [ ! -x "$BUILD/$b" ]; then
    cmake --build "$BUILD" --target $BENCHES -j 2 >/dev/null ||
      { echo "run.sh: cannot build the benchmarks in $BUILD" >&2; exit 1; }
    break
  fi
done

PY=${BENCH_PYTHON:-/usr/bin/python3}
"$PY" -c "import torch" 2>/dev/null || PY=python3
HAVE_TORCH=1
"$PY" -c "import torch" 2>/dev/null || { HAVE_TORCH=0; echo "run.sh: no python with torch: PyTorch rows skipped" >&2; }

# The same cores for every program.
PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge "$THREADS" ]; then
  PIN=(taskset -c "0-$((THREADS - 1))")
fi
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
WAIT=${BENCH_WAIT_POLICY:-}
TORCH_WAIT=${BENCH_TORCH_WAIT_POLICY-PASSIVE}
if [ -n "$WAIT" ]; then export OMP_WAIT_POLICY=$WAIT; else unset OMP_WAIT_POLICY; fi

# ours FILE BENCH ARGS...: the bench on each engine of a round, in order: ref
# (fp32: it has no other precision), cpu fp32, cpu bf16, rows appended to FILE
ours() {
  local file=$1 b=$2
  shift 2
  for engine in "ref fp32" "cpu fp32" "cpu bf16"; do
    # shellcheck disable=SC2086
    "${PIN[@]}" "$BUILD/$b" --device ${engine% *} --precision ${engine#* } "$(header "$file")" "$@" >>"$file"
  done
}
torchpy() {
  local s=$1
  shift
  [ "$HAVE_TORCH" = 1 ] && env ${TORCH_WAIT:+OMP_WAIT_POLICY=$TORCH_WAIT} "${PIN[@]}" "$PY" "$ROOT/bench/$s" --threads "$THREADS" "$@"
}
# run KEY: whether section KEY is in BENCH_ONLY
run() { case "$ONLY" in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

echo "== gpdeblur benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads used: $THREADS (${PIN[*]:-no pinning})"
echo "environment: OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS; OMP_WAIT_POLICY ours ${WAIT:-unset}, PyTorch ${TORCH_WAIT:-unset}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on these cores slows every program)"
[ "$HAVE_TORCH" = 1 ] && echo "torch: $("$PY" -c 'import torch; print(torch.__version__)') at $PY"
echo "results: $OUT"
echo

# The CSV header line comes with the first row of each file.
header() { [ -s "$1" ] && echo --no-header || echo --header; }

G="$OUT/generator.csv" R="$OUT/restarts.csv" T="$OUT/train.csv" S="$OUT/solver.csv"
: >"$G"
: >"$R"
: >"$T"
: >"$S"


# ---- 1. generator forward + backward to z -------------------------------------------------------
if run generator; then
  echo "-- generator (DCGAN-64, forward + backward to z; $ROUNDS rounds at batch 10 and at batch 100)"
  for round in $(seq "$ROUNDS"); do
    ours "$G" bench_generator --batch 10 --reps 10
    torchpy torch_generator.py --batch 10 --reps 10 --no-header >>"$G"
    ours "$G" bench_generator --batch 100 --warmup 1 --reps 3
    torchpy torch_generator.py --batch 100 --warmup 1 --reps 3 --no-header >>"$G"
  done
fi

# ---- 2. Algorithm 1's restart throughput --------------------------------------------------------
if run restarts; then
  echo "-- restarts (Algorithm 1 at 10 and 100 restarts; $ROUNDS rounds)"
  for round in $(seq "$ROUNDS"); do
    for n in 10 100; do
      ours "$R" bench_restarts --restarts "$n"
      torchpy torch_restarts.py --restarts "$n" --no-header 2>/dev/null >>"$R"
    done
  done
fi

# ---- 3. the DCGAN-64 training step ---------------------------------------------------------------
if run train; then
  echo "-- train (DCGAN-64 step at batch 64, augmentation none and all; $TRAIN_ROUNDS rounds)"
  for round in $(seq "$TRAIN_ROUNDS"); do
    ours "$T" bench_train --reps 3
    torchpy torch_train.py --reps 3 --no-header >>"$T"
  done
fi

# ---- 4. the solvers, once ------------------------------------------------------------------------
if run solver; then
  echo "-- solver (ms per step of all 10 restarts; cpu engine)"
  "${PIN[@]}" "$BUILD/bench_solver" --device cpu >"$S"
fi

# ---- 4b. eval's batching: 10 images x 10 restarts in one solve against one 100-restart solve ------
EB="$OUT/eval_batch.csv"
if run eval_batch; then
  echo "-- eval batch (eval of 10 images x 10 restarts in one solve against one 100-restart solve; cpu engine)"
  "${PIN[@]}" "$BUILD/bench_eval_batch" --device cpu >"$EB"
fi

# ---- 5. CUDA, when there is a GPU ------------------------------------------------------------------
# Not yet run on a GPU; torch.compile (torch >= 2) only at the two largest
# counts, as it compiles anew for every batch size.
if "$BUILD/bench_generator" --device cuda --batch 1 --warmup 0 --reps 1 >/dev/null 2>&1; then
  echo "-- CUDA"
  for prec in fp32 tf32; do
    "$BUILD/bench_generator" --device cuda --precision $prec --batch 10,100,1000 "$(header "$G")" >>"$G"
    "$BUILD/bench_restarts" --device cuda --precision $prec --restarts 1,10,100,1000,10000 "$(header "$R")" >>"$R"
    "$BUILD/bench_train" --device cuda --precision $prec "$(header "$T")" >>"$T"
  done
  run eval_batch && "$BUILD/bench_eval_batch" --device cuda --no-header >>"$EB"
  "$BUILD/bench_solver" --device cuda "$(header "$S")" >>"$S"
  if [ "$HAVE_TORCH" = 1 ] && "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    for tf in "" --tf32; do
      "$PY" "$ROOT/bench/torch_generator.py" --device cuda $tf --batch 10,100,1000 --no-header >>"$G"
      "$PY" "$ROOT/bench/torch_restarts.py" --device cuda $tf --modes eager,graph --restarts 1,10,100,1000,10000 \
        --no-header >>"$R"
    done
    "$PY" "$ROOT/bench/torch_restarts.py" --device cuda --modes compile --warmup 2 --restarts 1000,10000 \
      --no-header >>"$R"
  fi
else
  echo "-- CUDA: skipped (no CUDA engine in this build or no GPU)"
fi
echo

# ---- tables --------------------------------------------------------------------------------------
"${BENCH_TABLE_PYTHON:-$PY}" "$ROOT/bench/tables.py" "$G" "$R" "$T" "$S" "$EB"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
