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

for b in bench_generator bench_solver bench_restarts bench_eval_batch; do
  if [ ! -x "$BUILD/$b" ]; then
    cmake --build "$BUILD" --target bench_generator bench_solver bench_restarts bench_eval_batch -j 2 >/dev/null ||
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

# The cores are shared: other work comes and goes during a run, so ours and
# PyTorch alternate in short rounds (each round: ours, then PyTorch, at the
# same batch and thread count) and the tables take the median over rounds
# of each run's median, with the spread of the rounds beside it.
ROUNDS=${BENCH_ROUNDS:-3}

# Debian's torch runs its own OpenMP threads around its OpenBLAS calls;
# with libgomp's default (spinning) wait policy it collapses when anything
# else runs on the cores, so PyTorch is measured with OMP_WAIT_POLICY=PASSIVE
# every round and with the default policy once; the tables compare against
# the faster.
torch_gen() { # policy threads batch reps [warmup]
  local policy=$1 t=$2 b=$3 reps=$4 warm=${5:-2} envs=()
  [ "$policy" = PASSIVE ] && envs=(OMP_WAIT_POLICY=PASSIVE)
  [ "$t" = 1 ] && envs+=(OPENBLAS_NUM_THREADS=1)
  env "${envs[@]}" "${PIN[@]}" "$PY" "$ROOT/bench/torch_generator.py" --threads "$t" --batch "$b" --warmup "$warm" \
    --reps "$reps" --no-header | sed "s/-eager,/-eager-omp-$policy,/"
}

# ---- 1. generator forward + backward to z ----------------------------------------------
G="$OUT/generator.csv"
echo "-- generator (DCGAN-64, forward + backward to z; CPU; $ROUNDS rounds at batch 10, 2 at batch 100)"
: >"$G"
for round in $(seq "$ROUNDS"); do
  hdr=--no-header
  [ "$round" = 1 ] && hdr=--header # the CSV's header line comes with the first row
  ours bench_generator --batch 10 --reps 10 $hdr >>"$G"
  [ "$HAVE_TORCH" = 1 ] && torch_gen PASSIVE "$THREADS" 10 10 >>"$G"
  OPENBLAS_NUM_THREADS=1 ours bench_generator --batch 10 --reps 10 --no-header >>"$G"
  [ "$HAVE_TORCH" = 1 ] && torch_gen PASSIVE 1 10 10 >>"$G"
done
for round in 1 2; do
  ours bench_generator --batch 100 --warmup 1 --reps 5 --no-header >>"$G"
  [ "$HAVE_TORCH" = 1 ] && torch_gen PASSIVE "$THREADS" 100 5 1 >>"$G"
  OPENBLAS_NUM_THREADS=1 ours bench_generator --batch 100 --warmup 1 --reps 5 --no-header >>"$G"
  [ "$HAVE_TORCH" = 1 ] && torch_gen PASSIVE 1 100 5 1 >>"$G"
done
if [ "$HAVE_TORCH" = 1 ]; then
  torch_gen default "$THREADS" 10 10 >>"$G"
  torch_gen default "$THREADS" 100 3 1 >>"$G"
fi

# ---- 2. the solvers --------------------------------------------------------------------------
S="$OUT/solver.csv"
echo "-- solver (seconds per step, 10 restarts; CPU)"
ours bench_solver >"$S"

# ---- 3. Algorithm 1's restart throughput -------------------------------------------------
R="$OUT/restarts.csv"
COUNTS="1 10 100"
[ "${BENCH_LONG:-0}" = 1 ] && COUNTS="1 10 100 1000"
echo "-- restarts (Algorithm 1 throughput at $COUNTS restarts; CPU; ours and PyTorch alternate)"
hdr=--header
: >"$R"
for n in $COUNTS; do
  ours bench_restarts --restarts "$n" $hdr >>"$R"
  hdr=--no-header
  if [ "$HAVE_TORCH" = 1 ]; then
    OMP_WAIT_POLICY=PASSIVE torchpy torch_restarts.py --threads "$THREADS" --restarts "$n" --no-header 2>/dev/null |
      sed "s/-eager,/-eager-omp-PASSIVE,/" >>"$R"
  fi
done

# ---- 4. images x restarts: eval batched against one big solve ---------------------------------------
EB="$OUT/eval_batch.csv"
echo "-- eval batch (eval of 10 images x 10 restarts in one solve against one 100-restart solve; CPU)"
ours bench_eval_batch >"$EB"

# ---- 5. CUDA, when there is a GPU -----------------------------------------------------------------
# Not yet run on a GPU; torch.compile (torch >= 2) only at the two largest
# counts, as it compiles anew for every batch size.
if "$BUILD/bench_generator" --device cuda --batch 1 --warmup 0 --reps 1 >/dev/null 2>&1; then
  echo "-- CUDA"
  for prec in fp32 tf32; do
    "$BUILD/bench_generator" --device cuda --precision $prec --batch 10,100,1000 --no-header >>"$G"
    "$BUILD/bench_restarts" --device cuda --precision $prec --restarts 1,10,100,1000,10000 --no-header >>"$R"
  done
  "$BUILD/bench_solver" --device cuda --no-header >>"$S"
  "$BUILD/bench_eval_batch" --device cuda --no-header >>"$EB"
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
"${BENCH_TABLE_PYTHON:-$PY}" - "$G" "$S" "$R" "$EB" <<'EOF'
import csv, sys
gen, sol, res, evb = (list(csv.DictReader(open(p))) for p in sys.argv[1:5])

def table(title, header, rows):
    print(title)
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    for r in [header] + rows:
        print("  " + "  ".join(str(x).rjust(n) for x, n in zip(r, w)))
    print()

def key(r, *f):
    return tuple(r[x] for x in f)

# generator: per (impl, device, precision, threads, batch), the median over
# rounds of each run's median; ours against the fastest PyTorch
# configuration at the same device, precision, threads and batch
import statistics
groups = {}
for r in gen:
    groups.setdefault(key(r, "impl", "device", "precision", "threads", "batch"), []).append(r)
agg = {}
for k, rs in groups.items():
    ms = [float(x["median_ms"]) for x in rs]
    agg[k] = dict(ms=statistics.median(ms), lo=min(ms), hi=max(ms), n=len(ms),
                  gflops=statistics.median(float(x["gflops"]) for x in rs),
                  load="%.1f-%.1f" % (min(float(x["loadavg"]) for x in rs), max(float(x["loadavg"]) for x in rs)))
rows = []
for k, a in agg.items():
    impl, dev, prec, thr, batch = k
    if impl != "gpdeblur":
        continue
    t = [(kk, aa) for kk, aa in agg.items() if kk[0] != "gpdeblur" and kk[1:] == k[1:]]
    best = min(t, key=lambda x: x[1]["ms"]) if t else None
    span = lambda a: "%.1f (%.1f-%.1f, %d)" % (a["ms"], a["lo"], a["hi"], a["n"])
    rows.append([dev, prec, thr, batch, span(a), "%.1f" % a["gflops"],
                 span(best[1]) if best else "-", best[0][0] if best else "-",
                 "%.2f" % (best[1]["ms"] / a["ms"]) if best else "-", a["load"]])
table("generator forward + backward to z: median ms per batch over rounds (min-max, rounds); "
      "ratio = PyTorch ms / ours",
      ["device", "prec", "threads", "batch", "ours_ms", "ours_GFLOP/s", "torch_ms", "torch_config", "ratio", "load"],
      rows)
other = [[k[0], k[1], k[3], k[4], "%.1f (%.1f-%.1f, %d)" % (a["ms"], a["lo"], a["hi"], a["n"]), "%.1f" % a["gflops"],
          a["load"]] for k, a in agg.items() if k[0] != "gpdeblur"]
if other:
    table("every PyTorch configuration measured",
          ["impl", "device", "threads", "batch", "median_ms (min-max, rounds)", "GFLOP/s", "load"], other)

table("solver: ms per step of all restarts (alg3: restarts run one after another at batch 1)",
      ["device", "prec", "threads", "algorithm", "phase", "restarts", "step_ms", "restart-iters/s", "load"],
      [[x["device"], x["precision"], x["threads"], x["algorithm"], x["phase"], x["restarts"], x["step_ms"],
        x["restart_iters_per_s"], x["loadavg"]] for x in sol])

# fraction of peak against one peak per (device, precision, threads): the
# best any process of this run measured (CPU: the sgemm rate a quiet moment
# allows; CUDA: the same spec figure in every row)
peaks = {}
for r in res:
    k = key(r, "device", "precision", "threads")
    peaks[k] = max(peaks.get(k, 0.0), float(r["peak_gflops"]))
rows = []
for r in res:
    k = key(r, "device", "precision", "threads", "restarts")
    ref = [x for x in res if x["impl"] != "gpdeblur" and key(x, "device", "precision", "threads", "restarts") == k]
    ratio = ""
    if r["impl"] == "gpdeblur" and ref:
        best = max(ref, key=lambda x: float(x["restart_iters_per_s"]))
        ratio = "%.2f" % (float(r["restart_iters_per_s"]) / float(best["restart_iters_per_s"]))
    peak = peaks[k[:3]]
    mem = r["engine_mb"] if float(r["engine_mb"]) >= 0 else "-"
    rows.append([r["impl"], r["device"], r["precision"], r["threads"], r["restarts"], r["median_ms"],
                 r["restart_iters_per_s"], r["gflops"], "%.0f%%" % (100 * float(r["gflops"]) / peak) if peak else "-",
                 "%.1f %s" % (peak, r["peak_kind"]), mem, r["rss_or_device_mb"], r["diverged"], ratio, r["loadavg"]])
table("eval: images x restarts in one solve against one solve of as many restarts (restart-iterations per "
      "second, whole calls; ratio = eval / solve within each round, median over rounds)",
      ["device", "prec", "threads", "alg", "images", "restarts", "steps", "eval batch", "eval", "solve",
       "eval 1 image/solve", "ratio", "load"],
      [[x["device"], x["precision"], x["threads"], x["alg"], x["images"], x["restarts"], x["steps"],
        x["eval_batch_images"], x["eval_restart_iters_per_s"], x["solve_restart_iters_per_s"],
        x["eval_one_restart_iters_per_s"], x["eval_over_solve"], x["loadavg"]] for x in evb])

table("Algorithm 1 restart throughput (ratio = ours / fastest PyTorch mode, restart-iterations per second)",
      ["impl", "device", "prec", "threads", "restarts", "ms/iter", "restart-iters/s", "GFLOP/s", "of peak", "peak",
       "engine_MB", "rss/dev_MB", "diverged", "ratio", "load"], rows)
EOF
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
