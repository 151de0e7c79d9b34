#!/usr/bin/env bash
# The CPU engine's libraries for a machine that lacks them and cannot
# install them (the lent GPU machine: offline, no apt), as ONE compressed
# archive that scripts/gpu_check.sh unpacks there.
#
#   scripts/gpu_deps.sh pack DIR [BINARY]   here: DIR/gpd-deps.tar.xz
#   scripts/gpu_deps.sh list [BINARY]       here: the files pack would take
#   scripts/gpu_deps.sh unpack ARCHIVE DEST there: DEST/gpd-deps/{lib,include},
#                                           checked; prints the prefix
#
# What is packed: every library `ldd BINARY` (default build/gpdeblur) shows,
# plus the ones the engines link whatever this build is (OpenBLAS, FFTW, stb,
# oneDNN's libdnnl), and their own dependencies, recursively, except what a
# bare Debian / Ubuntu with the CUDA toolkit has: glibc, libgcc_s,
# libstdc++, and CUDA's and cuDNN's libraries. libgomp (oneDNN's OpenMP)
# comes in lib/fallback/, used only where the machine has none of its own
# (two OpenMP runtimes in one process must not happen). Headers: fftw3.h,
# cblas.h, stb, oneDNN's. A library that is not installed here is a hard
# error naming it. MANIFEST.txt in the archive names each file's Debian
# package and version and the newest glibc symbol version it needs.
#
# unpack checks every packed library against the machine: a dependency that
# resolves nowhere, or a symbol version its glibc lacks, is a one-line error.
# GPD_DEPS_XZ_LEVEL (default 6) trades time for size: level 1 packs in a
# fifth of the time, about 5 MB larger (tests/cli_gpu_deps.sh uses it as an
# upper bound).
set -euo pipefail
cd "$(dirname "$0")/.."

# sonames the engines link, whatever BINARY shows (oneDNN: the CPU engine
# being built; GPD_DEPS_EXTRA adds more, space-separated)
REQUIRED="libopenblas.so.0 libfftw3f.so.3 libstb.so.0 libdnnl.so.2 ${GPD_DEPS_EXTRA:-}"
FALLBACK="libgomp.so.1"

die() { echo "gpu_deps: $*" >&2; exit 1; }

# Libraries every Debian / Ubuntu with CUDA has, and CUDA's own.
is_base() {
  case "$1" in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libresolv.so*|libutil.so*) return 0 ;;
    libgcc_s.so*|libstdc++.so*) return 0 ;;
    libcuda.so*|libcudart.so*|libcufft.so*|libcublas.so*|libcublasLt.so*|libcudnn*|libnvrtc*|libnvJitLink*) return 0 ;;
    libcurand.so*|libcusparse.so*|libcusolver.so*|libnvToolsExt.so*|libnvidia-*) return 0 ;;
  esac
  return 1
}

# The installed file of a soname, or nothing.
resolve() {
  local so=$1 path
  path=$(ldconfig -p 2>/dev/null | awk -v s="$so" '$1 == s && /x86-64/ {print $NF; exit}')
  [ -z "$path" ] && for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib /usr/local/lib; do
    [ -e "$d/$so" ] && { path=$d/$so; break; }
  done
  [ -n "$path" ] && readlink -e "$path"
}

# "soname path" for every library to pack (and the fallback ones), resolved
# and with dependencies followed; fails naming what is missing.
collect() {
  local bin=$1 queue=() seen=" " so path missing=()
  if [ -x "$bin" ]; then
    while read -r so; do queue+=("$so"); done < <(ldd "$bin" | awk '/=>/ {print $1}')
  fi
  for so in $REQUIRED $FALLBACK; do queue+=("$so"); done
  while [ ${#queue[@]} -gt 0 ]; do
    so=${queue[0]}
    queue=("${queue[@]:1}")
    case "$seen" in *" $so "*) continue ;; esac
    seen="$seen$so "
    is_base "$so" && continue
    case "$so" in libasan.so*|libubsan.so*|liblsan.so*|libtsan.so*)
      die "$bin is a sanitizer build ($so): pack from a Release build" ;;
    esac
    path=$(resolve "$so") || path=""
    if [ -z "$path" ]; then
      missing+=("$so")
      continue
    fi
    echo "$so $path"
    while read -r dep; do queue+=("$dep"); done < <(ldd "$path" 2>/dev/null | awk '/=>/ {print $1}')
  done
  [ ${#missing[@]} -eq 0 ] || die "not installed here: ${missing[*]} (Debian: scripts/install_deps.sh installs what the build needs)"
}

HEADERS="fftw3.h"
header_dirs() { # cblas.h lives in OpenBLAS's own folder on Debian
  for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas /usr/include; do
    [ -f "$d/cblas.h" ] && { echo "$d"; return; }
  done
  die "not installed here: cblas.h (Debian: libopenblas-dev)"
}

glibc_needed() { objdump -T "$1" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1; }

package_of() {
  local pkg
  pkg=$(dpkg -S "$1" 2>/dev/null | head -1 | cut -d: -f1-2) || true
  [ -z "$pkg" ] && { echo "?"; return; }
  echo "$pkg $(dpkg-query -W -f '${Version}' "${pkg%%:*}" 2>/dev/null || echo '?')"
}

pack() {
  local dest=$1 bin=${2:-build/gpdeblur}
  command -v xz >/dev/null || die "xz is not installed here (Debian: xz-utils)"
  local list
  list=$(collect "$bin") || exit 1
  mkdir -p "$dest"
  STAGE=$(mktemp -d)
  trap 'rm -rf "$STAGE"' EXIT
  local root=$STAGE/gpd-deps
  mkdir -p "$root/lib/fallback" "$root/include/stb"
  {
    echo "# gpd-deps: packed $(date -u '+%Y-%m-%d %H:%M UTC') on $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "# soname  source  package version  newest glibc symbol"
  } >"$root/MANIFEST.txt"
  while read -r so path; do
    local where=lib
    case " $FALLBACK " in *" $so "*) where=lib/fallback ;; esac
    cp "$path" "$root/$where/$so"
    echo "$where/$so  $path  $(package_of "$path")  $(glibc_needed "$path")" >>"$root/MANIFEST.txt"
    # the linker's name (libfoo.so) for the libraries the build links
    case " $REQUIRED " in *" $so "*) ln -sf "$so" "$root/lib/${so%%.so*}.so" ;; esac
  done <<<"$list"
  # headers
  cp /usr/include/fftw3.h "$root/include/" || die "not installed here: fftw3.h (Debian: libfftw3-dev)"
  local blas
  blas=$(header_dirs)
  cp "$blas/cblas.h" "$root/include/"
  [ -f "$blas/openblas_config.h" ] && cp "$blas/openblas_config.h" "$root/include/"
  ls /usr/include/stb/stb_image*.h >/dev/null 2>&1 || die "not installed here: stb/stb_image.h (Debian: libstb-dev)"
  cp /usr/include/stb/stb_image*.h "$root/include/stb/"
  [ -d /usr/include/oneapi/dnnl ] || die "not installed here: oneapi/dnnl/dnnl.h (Debian: libdnnl-dev)"
  mkdir -p "$root/include/oneapi"
  cp -r /usr/include/oneapi/dnnl "$root/include/oneapi/"
  cp /usr/include/dnnl*.h /usr/include/dnnl*.hpp "$root/include/" 2>/dev/null || true
  tar -C "$STAGE" -cf - gpd-deps | xz -T2 "-${GPD_DEPS_XZ_LEVEL:-6}" >"$dest/gpd-deps.tar.xz.part"
  mv "$dest/gpd-deps.tar.xz.part" "$dest/gpd-deps.tar.xz"
  echo "gpu_deps: $(grep -vc '^#' "$root/MANIFEST.txt") libraries and their headers packed into $dest/gpd-deps.tar.xz" \
       "($(du -k "$dest/gpd-deps.tar.xz" | cut -f1) KiB; carry [\"$dest\"] to the GPU machine)"
}

# Checks the unpacked libraries against this machine; prints LD_LIBRARY_PATH's
# addition (lib, and lib/fallback where the machine has no libgomp).
check_unpacked() {
  local prefix=$1 libpath=$1/lib so bad=()
  if ! ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1 .*x86-64'; then libpath="$libpath:$prefix/lib/fallback"; fi
  for f in "$prefix"/lib/*.so.* "$prefix"/lib/fallback/*.so.*; do
    [ -e "$f" ] || continue
    local out
    out=$(LD_LIBRARY_PATH="$libpath" ldd "$f" 2>&1) || true
    so=$(basename "$f")
    if grep -q 'not found' <<<"$out"; then
      bad+=("$so: $(grep 'not found' <<<"$out" | head -1 | sed 's/^[[:space:]]*//')")
    fi
  done
  [ ${#bad[@]} -eq 0 ] || die "packed libraries do not load on this machine: ${bad[*]}"
  echo "$libpath"
}

unpack() {
  local archive=$1 dest=$2
  [ -f "$archive" ] || die "$archive: no such archive (make it with scripts/gpu_check.sh --pack-deps DIR)"
  mkdir -p "$dest"
  rm -rf "$dest/gpd-deps"
  if ! tar -C "$dest" -xJf "$archive" 2>/dev/null; then
    # no xz program: Python's lzma reads it
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$dest" ||
      die "$archive: cannot unpack (neither tar -J nor python3's tarfile)"
  fi
  [ -f "$dest/gpd-deps/MANIFEST.txt" ] || die "$archive: not a gpd-deps archive (no gpd-deps/MANIFEST.txt)"
  check_unpacked "$dest/gpd-deps" >/dev/null
  echo "$dest/gpd-deps"
}

case "${1:-}" in
  pack) pack "${2:?usage: gpu_deps.sh pack DIR [BINARY]}" "${3:-build/gpdeblur}" ;;
  list) collect "${2:-build/gpdeblur}" ;;
  unpack) unpack "${2:?usage: gpu_deps.sh unpack ARCHIVE DEST}" "${3:?usage: gpu_deps.sh unpack ARCHIVE DEST}" ;;
  libpath) check_unpacked "${2:?usage: gpu_deps.sh libpath PREFIX}" ;;
  *) echo "usage: gpu_deps.sh pack DIR [BINARY] | list [BINARY] | unpack ARCHIVE DEST | libpath PREFIX" >&2; exit 2 ;;
esac
