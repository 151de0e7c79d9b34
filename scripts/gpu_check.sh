#!/usr/bin/env bash
# The one script a GPU session runs on the lent GPU machine (CUDA 13 +
# PyTorch image, offline): finds cuDNN, configures gpdeblur with the CUDA
# engine for sm_90, builds, runs the whole CTest suite and nvidia-smi.
# Results go to $OUT (ctest.txt, test_cuda_ops.txt, nvidia-smi.txt,
# build.txt) when $OUT is set, and always to stdout.
#
#   scripts/gpu_check.sh                 # on the GPU machine, from the repo root
#   scripts/gpu_check.sh --pack-deps DIR # on the CPU machine: copy OpenBLAS,
#                                        # FFTW and stb (headers + libraries)
#                                        # into DIR for a machine that lacks them
#
# The GPU machine is offline and has no apt: nothing is installed here. If
# OpenBLAS, FFTW or stb are missing there, run --pack-deps build-deps on the
# CPU machine first and carry build-deps to the GPU machine (it is a
# git-ignored path); this script picks it up from GPD_DEPS_PREFIX or
# ./build-deps.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# ---- --pack-deps: run where the Debian packages are installed ------------------
if [ "${1:-}" = "--pack-deps" ]; then
  dest=${2:-build-deps}
  mkdir -p "$dest/include/stb" "$dest/lib"
  cp /usr/include/fftw3.h "$dest/include/"
  for h in cblas.h openblas_config.h f77blas.h; do
    for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas /usr/include; do
      [ -f "$d/$h" ] && { cp "$d/$h" "$dest/include/"; break; }
    done
  done
  cp /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h /usr/include/stb/stb_image_resize*.h "$dest/include/stb/" 2>/dev/null
  libdir=/usr/lib/x86_64-linux-gnu
  for l in libfftw3f.so libopenblas.so libstb.so; do
    real=$(readlink -f "$libdir/$l") || { echo "missing $libdir/$l" >&2; exit 1; }
    soname=$(objdump -p "$real" 2>/dev/null | awk '/SONAME/ {print $2}')
    cp "$real" "$dest/lib/${soname:-$l}"
    [ -n "$soname" ] && [ "$soname" != "$l" ] && ln -sf "$soname" "$dest/lib/$l"
    # the libraries' own dependencies beyond glibc (libgfortran, libquadmath)
    ldd "$real" | awk '/=>/ {print $3}' | while read -r dep; do
      case "$(basename "$dep")" in
        libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libgcc_s.so*) ;;
        *) cp -L "$dep" "$dest/lib/" ;;
      esac
    done
  done
  du -sh "$dest"
  echo "packed into $dest: carry it to the GPU machine (run's carry: [\"$dest\"])"
  exit 0
fi

OUT=${OUT:-}
log() { echo "gpu_check: $*"; }
save() { [ -n "$OUT" ] && cp "$1" "$OUT/$2"; }
TMP=$(mktemp -d)

# ---- the machine -------------------------------------------------------------
if command -v nvidia-smi >/dev/null; then
  nvidia-smi >"$TMP/nvidia-smi.txt" 2>&1
  save "$TMP/nvidia-smi.txt" nvidia-smi.txt
  head -20 "$TMP/nvidia-smi.txt"
else
  log "nvidia-smi not found"
fi

export PATH="/usr/local/cuda/bin:$PATH"
if ! command -v nvcc >/dev/null; then
  log "FATAL: nvcc (the CUDA toolkit compiler) is not on this machine; the CUDA engine cannot be built"
  exit 2
fi
nvcc --version | tail -1
if ! command -v cmake >/dev/null; then
  log "FATAL: cmake is not on this machine (the build needs CMake >= 3.24; the machine is offline, nothing can be installed)"
  exit 2
fi
cmake --version | head -1

# ---- cuDNN: the toolkit's, or the PyTorch wheel's (nvidia-cudnn-cu13) ------------
CMAKE_ARGS=(-DGPD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release)
cudnn_root=""
for d in /usr/local/cuda /usr; do
  if [ -f "$d/include/cudnn.h" ]; then cudnn_root=$d; break; fi
done
if [ -z "$cudnn_root" ]; then
  for py in python3 /usr/bin/python3; do
    cudnn_root=$($py -c "import nvidia.cudnn as m, os; print(os.path.dirname(m.__file__) if getattr(m, '__file__', None) else list(m.__path__)[0])" 2>/dev/null) && [ -n "$cudnn_root" ] && break
  done
fi
if [ -z "$cudnn_root" ] || [ ! -f "$cudnn_root/include/cudnn.h" ]; then
  # other wheel layouts: look for cudnn.h under the Python site directories
  sites=$(python3 -c "import site; print(' '.join(site.getsitepackages()))" 2>/dev/null)
  h=$(find $sites /opt /usr/local -name cudnn.h -path '*cudnn*' 2>/dev/null | head -1)
  [ -n "$h" ] && cudnn_root=$(dirname "$(dirname "$h")")
fi
if [ -z "$cudnn_root" ] || [ ! -f "$cudnn_root/include/cudnn.h" ]; then
  log "FATAL: cuDNN not found (no cudnn.h in /usr/local/cuda, /usr, or the nvidia-cudnn pip wheel)"
  exit 2
fi
log "cuDNN at $cudnn_root"
cudnn_lib=""
for f in "$cudnn_root"/lib/libcudnn.so "$cudnn_root"/lib64/libcudnn.so "$cudnn_root"/lib/libcudnn.so.* \
         "$cudnn_root"/lib64/libcudnn.so.* /usr/lib/x86_64-linux-gnu/libcudnn.so /usr/lib/x86_64-linux-gnu/libcudnn.so.*; do
  [ -f "$f" ] && { cudnn_lib=$f; break; }
done
if [ -z "$cudnn_lib" ]; then
  log "FATAL: cudnn.h is in $cudnn_root but libcudnn.so* is not"
  exit 2
fi
# pip wheels ship only libcudnn.so.9 (no unversioned name), so find_library
# would miss it: name the library and headers explicitly.
CMAKE_ARGS+=(-DCUDNN_ROOT="$cudnn_root" -DCUDNN_INCLUDE_DIR="$cudnn_root/include" -DCUDNN_LIBRARY="$cudnn_lib")
export LD_LIBRARY_PATH="$(dirname "$cudnn_lib"):/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"

# ---- the CPU engine's libraries -------------------------------------------------
deps=${GPD_DEPS_PREFIX:-}
[ -z "$deps" ] && [ -d "$ROOT/build-deps" ] && deps="$ROOT/build-deps"
if [ -n "$deps" ]; then
  log "using packed dependencies from $deps"
  CMAKE_ARGS+=(-DCMAKE_PREFIX_PATH="$deps")
  export LD_LIBRARY_PATH="$deps/lib:$LD_LIBRARY_PATH"
fi
missing=()
have_header() {
  for d in ${deps:+$deps/include} /usr/include /usr/local/include /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas; do
    [ -f "$d/$1" ] && return 0
  done
  return 1
}
have_header fftw3.h || missing+=("FFTW (fftw3.h, libfftw3f: Debian libfftw3-dev)")
have_header cblas.h || missing+=("OpenBLAS (cblas.h, libopenblas: Debian libopenblas-dev)")
have_header stb/stb_image.h || have_header stb_image.h || missing+=("stb (stb/stb_image.h: Debian libstb-dev)")
if [ ${#missing[@]} -gt 0 ]; then
  log "FATAL: this machine lacks libraries the build needs:"
  for m in "${missing[@]}"; do log "  - $m"; done
  log "the machine is offline (no apt, no pip): on the CPU machine run"
  log "  scripts/gpu_check.sh --pack-deps build-deps"
  log "and carry build-deps to this machine, then run this script again"
  exit 3
fi

# ---- configure, build, test -------------------------------------------------------
BUILD="$ROOT/build-gpu"
log "cmake ${CMAKE_ARGS[*]}"
if ! cmake -S "$ROOT" -B "$BUILD" "${CMAKE_ARGS[@]}" >"$TMP/build.txt" 2>&1; then
  tail -40 "$TMP/build.txt"
  save "$TMP/build.txt" build.txt
  log "FATAL: configure failed"
  exit 4
fi
if ! cmake --build "$BUILD" -j "$(nproc)" >>"$TMP/build.txt" 2>&1; then
  grep -E 'error|Error' "$TMP/build.txt" | head -40
  save "$TMP/build.txt" build.txt
  log "FATAL: build failed (full log in build.txt)"
  exit 5
fi
grep -iE 'warning' "$TMP/build.txt" | head -20
save "$TMP/build.txt" build.txt

# The CUDA op test alone first, with all its output (it is the one that
# needs the GPU); then the whole suite.
( cd "$BUILD" && GPD_SOURCE_DIR="$ROOT" timeout 300 ./test_cuda_ops ) >"$TMP/test_cuda_ops.txt" 2>&1
rc_ops=$?
save "$TMP/test_cuda_ops.txt" test_cuda_ops.txt
tail -60 "$TMP/test_cuda_ops.txt"
log "test_cuda_ops exit code $rc_ops"

( cd "$BUILD" && ctest --output-on-failure -j "$(nproc)" --timeout 300 ) >"$TMP/ctest.txt" 2>&1
rc=$?
save "$TMP/ctest.txt" ctest.txt
grep -E 'tests passed|Test +#|\*\*\*|Failed|Skipped' "$TMP/ctest.txt" | tail -60
log "ctest exit code $rc"
rm -rf "$TMP"
exit $rc
