#!/usr/bin/env bash
# The benchmarks side by side with PyTorch (bench/README.md says what each
# one measures). `make bench` runs this as `bash bench/run.sh BUILD_DIR`.
#
#   bash bench/run.sh [BUILD_DIR]          # default BUILD_DIR: build
#
# Environment:
#   BENCH_THREADS=2   CPU threads for both: OPENBLAS_NUM_THREADS (ours; and
#                     the BLAS inside Debian's torch) and torch.set_num_threads;
#                     both pinned to the same cores with taskset
#   BENCH_LONG=1      also 1,000 restarts on the CPU (ours about a minute,
#                     PyTorch longer)
#   BENCH_OUT=DIR     where the CSV files go (default BUILD_DIR/bench-results)
#   BENCH_PYTHON=...  a python with torch (default /usr/bin/python3, Debian's
#                     torch 1.13; then python3)
# CUDA rows run when the build has the CUDA engine and a GPU answers
# (bench_* exit 77 otherwise) and when the python's torch sees the GPU.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
THREADS=${BENCH_THREADS:-2}
OUT=${BENCH_OUT:-$BUILD/bench-results}
mkdir -p "$OUT"

for b in bench_generator bench_solver bench_restarts; do
  if [ ! -x "$BUILD/$b" ]; then
    cmake --build "$BUILD" --target bench_generator bench_solver bench_restarts -j 2 >/dev/null ||
      { echo "run.sh: cannot build the benchmarks in $BUILD" >&2; exit 1; }
    break
  fi
done

PY=${BENCH_PYTHON:-/usr/bin/python3}
"$PY" -c "import torch" 2>/dev/null || PY=python3
HAVE_TORCH=1
"$PY" -c "import torch" 2>/dev/null || { HAVE_TORCH=0; echo "run.sh: no python with torch: PyTorch rows skipped" >&2; }

# The same cores for both programs.
PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge "$THREADS" ]; then
  PIN=(taskset -c "0-$((THREADS - 1))")
fi
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS

ours() {
  local b=$1
  shift
  "${PIN[@]}" "$BUILD/$b" "$@"
}
torchpy() {
  local s=$1
  shift
  "${PIN[@]}" "$PY" "$ROOT/bench/$s" "$@"
}

echo "== gpdeblur benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads used: $THREADS (${PIN[*]:-no pinning})"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on these cores slows both programs)"
[ "$HAVE_TORCH" = 1 ] && echo "torch: $("$PY" -c 'import torch; print(torch.__version__)') at $PY"
echo "results: $OUT"
echo

# ---- 1. generator forward + backward to z ----------------------------------------------
G="$OUT/generator.csv"
: >"$G"
echo "-- generator (DCGAN-64, forward + backward to z; CPU)"
{
  ours bench_generator --batch 10 --reps 10
  ours bench_generator --batch 100 --warmup 1 --reps 5 --no-header
  OPENBLAS_NUM_THREADS=1 ours bench_generator --batch 10 --reps 10 --no-header
  OPENBLAS_NUM_THREADS=1 ours bench_generator --batch 100 --warmup 1 --reps 5 --no-header
} >>"$G"
if [ "$HAVE_TORCH" = 1 ]; then
  # Debian's torch runs its own OpenMP threads around OpenBLAS calls; with
  # libgomp's default (spinning) wait policy it collapses when anything
  # else runs on the cores, so both policies are measured and the table
  # compares against the faster one.
  for policy in default PASSIVE; do
    envs=()
    [ "$policy" = PASSIVE ] && envs=(OMP_WAIT_POLICY=PASSIVE)
    {
      env "${envs[@]}" "${PIN[@]}" "$PY" "$ROOT/bench/torch_generator.py" --threads "$THREADS" --batch 10 --reps 10 --no-header
      env "${envs[@]}" "${PIN[@]}" "$PY" "$ROOT/bench/torch_generator.py" --threads "$THREADS" --batch 100 --warmup 1 --reps 5 --no-header
    } | sed "s/-eager,/-eager-omp-$policy,/" >>"$G"
  done
  {
    OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE torchpy torch_generator.py --threads 1 --batch 10 --reps 10 --no-header
    OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE torchpy torch_generator.py --threads 1 --batch 100 --warmup 1 --reps 5 --no-header
  } | sed "s/-eager,/-eager-omp-PASSIVE,/" >>"$G"
fi

# ---- 2. the solvers --------------------------------------------------------------------------
S="$OUT/solver.csv"
echo "-- solver (seconds per step, 10 restarts; CPU)"
ours bench_solver >"$S"

# ---- 3. Algorithm 1's restart throughput -------------------------------------------------
R="$OUT/restarts.csv"
COUNTS=1,10,100
[ "${BENCH_LONG:-0}" = 1 ] && COUNTS=1,10,100,1000
echo "-- restarts (Algorithm 1 throughput at $COUNTS restarts; CPU)"
ours bench_restarts --restarts "$COUNTS" >"$R"
if [ "$HAVE_TORCH" = 1 ]; then
  OMP_WAIT_POLICY=PASSIVE torchpy torch_restarts.py --threads "$THREADS" --restarts "$COUNTS" --no-header |
    sed "s/-eager,/-eager-omp-PASSIVE,/" >>"$R"
fi

# ---- 4. CUDA, when there is a GPU -----------------------------------------------------------------
if "$BUILD/bench_generator" --device cuda --batch 1 --warmup 0 --reps 1 >/dev/null 2>&1; then
  echo "-- CUDA"
  "$BUILD/bench_generator" --device cuda --batch 10,100,1000 --no-header >>"$G"
  "$BUILD/bench_generator" --device cuda --precision tf32 --batch 10,100,1000 --no-header >>"$G"
  "$BUILD/bench_solver" --device cuda --no-header >>"$S"
  "$BUILD/bench_restarts" --device cuda --restarts 1,10,100,1000,10000 --no-header >>"$R"
  "$BUILD/bench_restarts" --device cuda --precision tf32 --restarts 1,10,100,1000,10000 --no-header >>"$R"
  if [ "$HAVE_TORCH" = 1 ] && "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    "$PY" "$ROOT/bench/torch_generator.py" --device cuda --batch 10,100,1000 --no-header >>"$G"
    "$PY" "$ROOT/bench/torch_generator.py" --device cuda --tf32 --batch 10,100,1000 --no-header >>"$G"
    "$PY" "$ROOT/bench/torch_restarts.py" --device cuda --restarts 1,10,100,1000,10000 --no-header >>"$R"
    "$PY" "$ROOT/bench/torch_restarts.py" --device cuda --tf32 --restarts 1,10,100,1000,10000 --no-header >>"$R"
  fi
else
  echo "-- CUDA: skipped (no CUDA engine in this build or no GPU)"
fi
echo

# ---- tables --------------------------------------------------------------------------------------
"${BENCH_TABLE_PYTHON:-$PY}" - "$G" "$S" "$R" <<'EOF'
import csv, sys
gen, sol, res = (list(csv.DictReader(open(p))) for p in sys.argv[1:4])

def table(title, header, rows):
    print(title)
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    for r in [header] + rows:
        print("  " + "  ".join(str(x).rjust(n) for x, n in zip(r, w)))
    print()

def key(r, *f):
    return tuple(r[x] for x in f)

# generator: ours against the fastest PyTorch configuration at the same
# device, precision, threads and batch
rows = []
for r in gen:
    if r["impl"] != "gpdeblur":
        continue
    k = key(r, "device", "precision", "threads", "batch")
    t = [x for x in gen if x["impl"] != "gpdeblur" and key(x, "device", "precision", "threads", "batch") == k]
    best = min(t, key=lambda x: float(x["median_ms"])) if t else None
    rows.append([r["device"], r["precision"], r["threads"], r["batch"], r["median_ms"], r["gflops"],
                 best["median_ms"] if best else "-", best["impl"] if best else "-",
                 "%.2f" % (float(best["median_ms"]) / float(r["median_ms"])) if best else "-", r["loadavg"]])
table("generator forward + backward to z: median ms per batch (ratio = PyTorch ms / ours)",
      ["device", "prec", "threads", "batch", "ours_ms", "ours_GFLOP/s", "torch_ms", "torch_config", "ratio", "load"],
      rows)
other = [[x["impl"], x["device"], x["threads"], x["batch"], x["median_ms"], x["gflops"], x["loadavg"]]
         for x in gen if x["impl"] != "gpdeblur"]
if other:
    table("every PyTorch configuration measured",
          ["impl", "device", "threads", "batch", "median_ms", "GFLOP/s", "load"], other)

table("solver: ms per step of all restarts (alg3: restarts run one after another at batch 1)",
      ["device", "prec", "threads", "algorithm", "phase", "restarts", "step_ms", "restart-iters/s", "load"],
      [[x["device"], x["precision"], x["threads"], x["algorithm"], x["phase"], x["restarts"], x["step_ms"],
        x["restart_iters_per_s"], x["loadavg"]] for x in sol])

rows = []
for r in res:
    k = key(r, "device", "precision", "threads", "restarts")
    ref = [x for x in res if x["impl"] != "gpdeblur" and key(x, "device", "precision", "threads", "restarts") == k]
    ratio = ""
    if r["impl"] == "gpdeblur" and ref:
        best = max(ref, key=lambda x: float(x["restart_iters_per_s"]))
        ratio = "%.2f" % (float(r["restart_iters_per_s"]) / float(best["restart_iters_per_s"]))
    rows.append([r["impl"], r["device"], r["precision"], r["threads"], r["restarts"], r["median_ms"],
                 r["restart_iters_per_s"], r["gflops"], "%.0f%%" % (100 * float(r["peak_fraction"])),
                 r["peak_gflops"] + " " + r["peak_kind"], r["engine_mb"], r["rss_or_device_mb"], ratio, r["loadavg"]])
table("Algorithm 1 restart throughput (ratio = ours / fastest PyTorch mode, restart-iterations per second)",
      ["impl", "device", "prec", "threads", "restarts", "ms/iter", "restart-iters/s", "GFLOP/s", "of peak", "peak",
       "engine_MB", "rss/dev_MB", "ratio", "load"], rows)
EOF
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
