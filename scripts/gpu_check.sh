#!/usr/bin/env bash
# The one command a GPU session runs on the lent GPU machine (CUDA 13 +
# PyTorch image, offline, 16 cores, one H200): it builds the CUDA engine for
# sm_90 and runs, in stages that each have a time budget, what proves the
# GPU path. bench/README.md ("The GPU check") lists the stages, their
# budgets and what each writes; every stage's output goes to $OUT, and the
# end prints a table of what ran, failed and was skipped, and why.
#
#   scripts/gpu_check.sh                      on the GPU machine (repo root)
#   scripts/gpu_check.sh --dry-run            here: every stage that needs no
#                                             GPU (the build for sm_90, the
#                                             deps archive, the CPU halves of
#                                             the smoke runs and benchmarks)
#   scripts/gpu_check.sh --only S1,S2         some stages (build is implied)
#   scripts/gpu_check.sh --pack-deps DIR [BIN] here: DIR/gpd-deps.tar.xz, the
#                                             libraries and headers the build
#                                             needs (scripts/gpu_deps.sh)
#
# Before a GPU session: `scripts/gpu_check.sh --pack-deps build-deps` here,
# then on the machine `scripts/gpu_check.sh` with carry ["build-deps"]. The
# whole run is budgeted to 480 s so that it fits 10 minutes of device time
# from a cold start; on a warm machine the build is incremental.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SELF="$ROOT/scripts/gpu_check.sh"

usage() {
  sed -n '2,22p' "$SELF" | sed 's/^# \{0,1\}//'
}

# ---- stages: name, budget (s), what it needs -----------------------------------------------------
STAGES="build ops ctest smoke restarts train"
budget_of() {
  case "$1" in
    build) echo 150 ;;    # configure + build for sm_90 (16 cores; incremental on a warm machine)
    ops) echo 40 ;;       # build-gpu/test_engine_ops cuda: every op against ref
    ctest) echo 50 ;;     # ctest -R cuda -E engine_ops (the CUDA tests but the op test)
    smoke) echo 60 ;;     # deblur naive / 1 / 2 / 3 and project on cuda and cpu, compared
    restarts) echo 120 ;; # Algorithm 1 restart throughput: ours vs PyTorch eager / graph / compile
    train) echo 30 ;;     # DCGAN-64 training throughput
  esac
}
TOTAL_BUDGET=480

log() { echo "gpu_check: $*"; }
skip() { echo "gpu_check: skip: $*"; exit 77; }

# ---- the stages (run as `gpu_check.sh --stage NAME` under timeout; GC_* from the driver) ----------

stage_build() {
  local args=() targets=(gpdeblur bench_restarts)
  read -r -a args <<<"$GC_CMAKE_ARGS"
  for f in "$ROOT"/tests/test_*cuda*.c "$ROOT"/tests/test_engine_ops.c; do
    [ -f "$f" ] && targets+=("$(basename "$f" .c)")
  done
  log "cmake ${args[*]}"
  cmake -S "$ROOT" -B "$GC_BUILD" "${args[@]}" || { log "FATAL: configure failed"; exit 1; }
  log "building ${targets[*]}"
  cmake --build "$GC_BUILD" -j "$(nproc)" --target "${targets[@]}" || { log "FATAL: build failed"; exit 1; }
  grep -E 'GPD_HAVE_CUDA|CMAKE_CUDA_ARCHITECTURES|OPENBLAS_LIBRARY|FFTWF_LIBRARY|STB_LIBRARY|DNNL' \
    "$GC_BUILD/CMakeCache.txt" | grep -v '^//' || true
  log "gpdeblur's libraries:"
  ldd "$GC_BUILD/gpdeblur" | grep -vE 'linux-vdso|ld-linux|libc\.so|libm\.so|libdl|libpthread|librt' || true
  if ldd "$GC_BUILD/gpdeblur" | grep -q 'not found'; then log "FATAL: a library of gpdeblur is not found"; exit 1; fi
}

stage_ops() {
  [ -f "$ROOT/tests/test_engine_ops.c" ] || skip "tests/test_engine_ops.c (the table-driven op test) is not in this tree"
  [ "$GC_DRY" = 1 ] && skip "dry run: test_engine_ops cuda needs the GPU"
  [ -x "$GC_BUILD/test_engine_ops" ] || { log "test_engine_ops was not built"; exit 1; }
  cd "$GC_BUILD" && GPD_SOURCE_DIR="$ROOT" GPD_TEST_ENGINE=cuda ./test_engine_ops cuda
}

stage_ctest() {
  cd "$GC_BUILD" && ctest -R cuda -E engine_ops --output-on-failure --timeout 120 # the ops stage ran that one
}

# One solver run: side gpu (the engine under test) or cpu (the reference),
# its image, JSON and stderr in $S/<label>_<side>.{png,json,err}.
smoke_run() { # label side device cmd...
  local label=$1 side=$2 dev=$3
  shift 3
  "$GC_BUILD/gpdeblur" "$@" --device "$dev" -o "$S/${label}_$side.png" >"$S/${label}_$side.json" 2>"$S/${label}_$side.err"
  local rc=$?
  [ $rc -eq 0 ] || log "$label on $dev failed: $(tail -1 "$S/${label}_$side.err")"
  grep -h 'warning' "$S/${label}_$side.err" || true
  return $rc
}

stage_smoke() {
  S="$GC_TMP/smoke"
  mkdir -p "$S"
  local gpu=cuda steps=30 fit=30 restarts=4
  if [ "$GC_DRY" = 1 ]; then
    gpu=cpu steps=4 fit=2 restarts=2
    log "dry run: the cpu engine stands in for cuda (checks the runs and the comparison, not the GPU)"
  fi
  "$GC_BUILD/gpdeblur" blur "$ROOT/tests/fixtures/chelsea_64.png" --seed 3 -o "$S/blurry.png" 2>/dev/null ||
    { log "gpdeblur blur failed"; exit 1; }
  local fails=0 common=(--restarts "$restarts" --seed 1)
  for alg in naive 1 2 3; do
    local extra=(--steps "$steps")
    [ "$alg" = 3 ] && extra=(--steps "$steps" --fit-steps "$fit" --restarts 2)
    smoke_run "alg_$alg" gpu "$gpu" deblur "$S/blurry.png" --alg "$alg" "${common[@]}" "${extra[@]}" || fails=$((fails + 1))
    smoke_run "alg_$alg" cpu cpu deblur "$S/blurry.png" --alg "$alg" "${common[@]}" "${extra[@]}" || fails=$((fails + 1))
  done
  smoke_run range gpu "$gpu" project "$ROOT/tests/fixtures/chelsea_64.png" "${common[@]}" --steps "$steps" ||
    fails=$((fails + 1))
  smoke_run range cpu cpu project "$ROOT/tests/fixtures/chelsea_64.png" "${common[@]}" --steps "$steps" ||
    fails=$((fails + 1))
  local graphs=()
  [ "$GC_DRY" = 1 ] && graphs=(--no-graphs)
  python3 "$ROOT/scripts/gpu_smoke_compare.py" --dir "$S" --bin "$GC_BUILD/gpdeblur" \
    --labels alg_naive,alg_1,alg_2,alg_3,range "${graphs[@]}" || fails=$((fails + 1))
  [ $fails -eq 0 ]
}

stage_restarts() {
  local csv="$GC_OUT/restarts.csv" dev=cuda counts=10,100,1000,10000 steps=() t0=$SECONDS
  if [ "$GC_DRY" = 1 ]; then
    dev=cpu counts=10 steps=(--steps 2)
    log "dry run: cpu rows at 10 restarts (checks the programs and the table, not the GPU)"
  fi
  "$GC_BUILD/bench_restarts" --device "$dev" --restarts "$counts" "${steps[@]}" >"$csv" ||
    { log "bench_restarts failed"; exit 1; }
  if ! "$GC_PY" -c 'import torch' 2>/dev/null; then
    log "no python with torch: PyTorch rows skipped"
  else
    local modes=eager,graph
    [ "$dev" = cpu ] && modes=eager
    "$GC_PY" "$ROOT/bench/torch_restarts.py" --device "$dev" --threads "$(nproc)" --modes "$modes" --restarts "$counts" \
      "${steps[@]}" --no-header >>"$csv" || log "torch_restarts.py ($modes) failed"
    # torch.compile last, in what is left of the stage's budget (it compiles per batch size)
    local left=$(( $(budget_of restarts) - (SECONDS - t0) - 5 ))
    if [ "$dev" = cpu ]; then
      log "dry run: torch.compile rows need the GPU machine's torch"
    elif [ $left -lt 20 ]; then
      log "skipped torch.compile: $left s of the stage's budget left"
    else
      timeout -k 5 "$left" "$GC_PY" "$ROOT/bench/torch_restarts.py" --device cuda --modes compile --warmup 2 \
        --restarts "$counts" --no-header >>"$csv" || log "torch.compile rows stopped (exit $?; budget ${left} s)"
    fi
  fi
  python3 - "$csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("Algorithm 1 restart throughput (restart-iterations per second; ratio = ours / that mode)")
counts = sorted({int(r["restarts"]) for r in rows})
impls = [i for i in dict.fromkeys(r["impl"] for r in rows)]
w = max([16] + [len(i) + 2 for i in impls])
print("  %-9s" % "restarts" + "".join(i.rjust(w) for i in impls) + "  graph_launches(ours)")
for n in counts:
    by = {r["impl"]: r for r in rows if int(r["restarts"]) == n}
    ours = by.get("gpdeblur")
    cells = []
    for i in impls:
        r = by.get(i)
        if not r:
            cells.append("-".rjust(w))
            continue
        v = float(r["restart_iters_per_s"])
        ratio = "" if i == "gpdeblur" or not ours else " (%.2fx)" % (float(ours["restart_iters_per_s"]) / v)
        cells.append(("%.0f%s" % (v, ratio)).rjust(w))
    print("  %-9d" % n + "".join(cells) + "  %s" % (ours["graph_launches"] if ours else "-"))
EOF
}

stage_train() {
  local faces="$GC_TMP/faces" dev=cuda steps=60 batch=64 width=() every=20
  mkdir -p "$faces"
  for i in $(seq 1 64); do cp "$ROOT/tests/fixtures/chelsea_64.png" "$faces/$i.png"; done
  if [ "$GC_DRY" = 1 ]; then
    dev=cpu steps=4 batch=8 width=(--width 8) every=2
    log "dry run: a width-8 DCGAN on the cpu (checks the run, not the GPU)"
  fi
  rm -rf "$GC_TMP/train"
  "$GC_BUILD/gpdeblur" train --arch dcgan --data "$faces" --steps "$steps" --batch "$batch" "${width[@]}" --grid 0 \
    --device "$dev" --log-every "$every" --checkpoint-every 100000 --checkpoint-dir "$GC_TMP/train" \
    -o "$GC_TMP/train/g.safetensors" || { log "gpdeblur train failed"; exit 1; }
  log "loss.csv (images_per_second since the row before):"
  cat "$GC_TMP/train/loss.csv"
  awk -F, -v b="$batch" 'NR > 1 {ips = $7} END {
    printf "gpu_check: DCGAN-64 training (G and D, batch %d): %s images/s after warm-up (the last row)\n", b, ips }' \
    "$GC_TMP/train/loss.csv"
}

stage_main() {
  local name=$1
  case " $STAGES " in *" $name "*) "stage_$name" ;; *) log "unknown stage $name"; exit 2 ;; esac
}

# ---- the driver ------------------------------------------------------------------------------------

case "${1:-}" in
  --pack-deps)
    shift
    exec bash "$ROOT/scripts/gpu_deps.sh" pack "${1:-build-deps}" "${2:-build/gpdeblur}" ;;
  --stage)
    shift
    stage_main "$1"
    exit $? ;;
  -h|--help) usage; exit 0 ;;
esac
DRY=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --only) ONLY=",$2,"; shift ;;
    *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

START=$SECONDS
# A dry run builds on the few shared cores of a CPU machine, not 16: its
# budgets are stretched (the GPU machine's are the ones that count).
STRETCH=1
[ $DRY = 1 ] && STRETCH=${GPD_DRY_RUN_STRETCH:-6}
TOTAL_BUDGET=$((TOTAL_BUDGET * STRETCH))
BUILD="$ROOT/build-gpu"
OUTDIR=${OUT:-$BUILD/gpu-check-out}
mkdir -p "$OUTDIR" "$BUILD"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SUMMARY="$OUTDIR/summary.txt"
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

# ---- the machine and its tools (not budgeted: seconds) ----
say "== gpu_check $([ $DRY = 1 ] && echo '--dry-run ')$(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname 2>/dev/null || echo "an unnamed machine"), $(nproc) cores"
say "commit: $(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo unknown)"
if command -v nvidia-smi >/dev/null && nvidia-smi >"$TMP/smi" 2>&1; then
  say "$(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null)"
  HAVE_GPU=1
else
  say "no GPU answers (nvidia-smi missing or failing)"
  HAVE_GPU=0
fi
if [ $DRY = 0 ] && [ $HAVE_GPU = 0 ]; then
  say "FATAL: no GPU here; run with --dry-run on a machine without one"
  exit 2
fi
export PATH="/usr/local/cuda/bin:$PATH"
fatal() { say "FATAL: $*"; exit 3; }
command -v nvcc >/dev/null || fatal "nvcc (the CUDA toolkit compiler) is not on this machine"
command -v cmake >/dev/null || fatal "cmake is not on this machine (the build needs CMake >= 3.24)"
say "$(nvcc --version | tail -1); $(cmake --version | head -1)"
# a python with torch for the PyTorch rows: python3 (the GPU machine's holds torch 2.11), else Debian's
GC_PY=python3
python3 -c 'import torch' 2>/dev/null || { /usr/bin/python3 -c 'import torch' 2>/dev/null && GC_PY=/usr/bin/python3; }
say "python: $GC_PY $("$GC_PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)' 2>/dev/null ||
  echo '(no torch: PyTorch rows will be skipped)')"

# cuDNN: the toolkit's, or the PyTorch wheel's (nvidia-cudnn-cu13)
cudnn_root=""
for d in /usr/local/cuda /usr; do [ -f "$d/include/cudnn.h" ] && { cudnn_root=$d; break; }; done
if [ -z "$cudnn_root" ]; then
  cudnn_root=$(python3 -c "import nvidia.cudnn as m, os; print(os.path.dirname(m.__file__) if getattr(m, '__file__', None) else list(m.__path__)[0])" 2>/dev/null) || cudnn_root=""
fi
if [ -z "$cudnn_root" ] || [ ! -f "$cudnn_root/include/cudnn.h" ]; then
  h=$(find $(python3 -c "import site; print(' '.join(site.getsitepackages()))" 2>/dev/null) /opt /usr/local \
        -name cudnn.h -path '*cudnn*' 2>/dev/null | head -1)
  [ -n "$h" ] && cudnn_root=$(dirname "$(dirname "$h")")
fi
[ -n "$cudnn_root" ] && [ -f "$cudnn_root/include/cudnn.h" ] ||
  fatal "cuDNN not found (no cudnn.h in /usr/local/cuda, /usr, or the nvidia-cudnn pip wheel)"
cudnn_lib=""
for f in "$cudnn_root"/lib/libcudnn.so "$cudnn_root"/lib64/libcudnn.so "$cudnn_root"/lib/libcudnn.so.* \
         "$cudnn_root"/lib64/libcudnn.so.* /usr/lib/x86_64-linux-gnu/libcudnn.so /usr/lib/x86_64-linux-gnu/libcudnn.so.*; do
  [ -f "$f" ] && { cudnn_lib=$f; break; }
done
[ -n "$cudnn_lib" ] || fatal "cudnn.h is in $cudnn_root but libcudnn.so* is not"
say "cuDNN: $cudnn_lib"
# pip wheels ship only libcudnn.so.9 (no unversioned name): name it explicitly
CMAKE_ARGS="-DGPD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release -DCUDNN_ROOT=$cudnn_root"
CMAKE_ARGS="$CMAKE_ARGS -DCUDNN_INCLUDE_DIR=$cudnn_root/include -DCUDNN_LIBRARY=$cudnn_lib"
export LD_LIBRARY_PATH="$(dirname "$cudnn_lib"):/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"

# the CPU engine's libraries: the packed archive when it came along
archive=${GPD_DEPS_ARCHIVE:-$ROOT/build-deps/gpd-deps.tar.xz}
if [ -f "$archive" ]; then
  prefix=$(bash "$ROOT/scripts/gpu_deps.sh" unpack "$archive" "$BUILD/deps" 2>"$TMP/deps.err") ||
    fatal "$(cat "$TMP/deps.err")"
  libpath=$(bash "$ROOT/scripts/gpu_deps.sh" libpath "$prefix")
  export LD_LIBRARY_PATH="$libpath:$LD_LIBRARY_PATH"
  CMAKE_ARGS="$CMAKE_ARGS -DCMAKE_PREFIX_PATH=$prefix"
  say "dependencies: $archive ($(du -k "$archive" | cut -f1) KiB) unpacked into $prefix"
else
  missing=()
  have_header() {
    for d in /usr/include /usr/local/include /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas; do
      [ -f "$d/$1" ] && return 0
    done
    return 1
  }
  have_header fftw3.h || missing+=("FFTW")
  have_header cblas.h || missing+=("OpenBLAS")
  have_header stb/stb_image.h || missing+=("stb")
  [ ${#missing[@]} -eq 0 ] ||
    fatal "no $archive and this machine lacks ${missing[*]}: run 'scripts/gpu_check.sh --pack-deps build-deps' where they are installed and carry build-deps"
  say "dependencies: the system's (no $archive)"
fi
export GC_DRY=$DRY GC_OUT=$OUTDIR GC_BUILD=$BUILD GC_TMP=$TMP GC_CMAKE_ARGS=$CMAKE_ARGS GC_PY
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)} OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

# ---- the stages ----
logfile() {
  case "$1" in
    build) echo build.log ;;
    ops) echo ops.log ;;
    ctest) echo ctest.log ;;
    smoke) echo smoke.log ;;
    *) echo bench.log ;; # restarts and train share it ($OUT takes at most 8 files)
  esac
}
: >"$OUTDIR/bench.log"
ROWS=()
failed=0
built=1
for st in $STAGES; do
  budget=$(($(budget_of "$st") * STRETCH))
  if [ -n "$ONLY" ] && [ "$st" != build ] && [[ "$ONLY" != *",$st,"* ]]; then
    ROWS+=("$st|skipped|0|$budget|not in --only")
    continue
  fi
  if [ $built = 0 ]; then
    ROWS+=("$st|skipped|0|$budget|the build failed")
    continue
  fi
  left=$((TOTAL_BUDGET - (SECONDS - START)))
  if [ $left -lt 10 ]; then
    ROWS+=("$st|skipped|0|$budget|the run's ${TOTAL_BUDGET} s are spent")
    continue
  fi
  [ $budget -gt $left ] && budget=$left
  out="$OUTDIR/$(logfile "$st")"
  echo "== $st (budget $budget s) -> $out"
  echo "== $st (budget $budget s)" >>"$out"
  t0=$SECONDS
  before=$(wc -l <"$out")
  timeout -k 5 "$budget" bash "$SELF" --stage "$st" >>"$out" 2>&1
  rc=$?
  secs=$((SECONDS - t0))
  tail -n +"$((before + 1))" "$out" | tail -n 25
  case $rc in
    0) status=ok note="" ;;
    77) status=skipped note=$(grep 'gpu_check: skip:' "$out" | tail -1 | sed 's/.*skip: //') ;;
    124|137) status=TIMEOUT note="over its budget" failed=1 ;;
    *) status=FAILED note="exit $rc (see $(logfile "$st"))" failed=1 ;;
  esac
  [ "$st" = build ] && [ $rc -ne 0 ] && built=0
  # what was built and what it runs on: the libraries and the GPU the CUDA engine sees
  [ "$st" = build ] && [ $rc -eq 0 ] && say "$("$BUILD/gpdeblur" --version 2>&1)"
  ROWS+=("$st|$status|$secs|$budget|$note")
done

say ""
say "stage     status    seconds  budget  note"
for r in "${ROWS[@]}"; do
  IFS='|' read -r st status secs budget note <<<"$r"
  say "$(printf '%-9s %-9s %7s %7s  %s' "$st" "$status" "$secs" "$budget" "$note")"
done
say "total: $((SECONDS - START)) s of ${TOTAL_BUDGET} s; outputs in $OUTDIR"
exit $failed
