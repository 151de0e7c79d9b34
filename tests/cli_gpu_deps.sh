#!/usr/bin/env bash
# What travels to the lent GPU machine fits: the libraries
# scripts/gpu_check.sh --pack-deps packs for the built gpdeblur (one .tar.xz)
# plus the tracked tree stay under 60 MiB (the machine takes 64 MiB in all).
# The archive is packed at xz level 1, which is faster and a few MB larger
# than the level 6 --pack-deps uses: an upper bound. Also: the archive
# unpacks and its libraries load here; a library that is not installed is a
# hard error naming it; gpu_check.sh's --dry-run and --help parse.
#   bash tests/cli_gpu_deps.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_gpu_deps.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_gpu_deps.sh path/to/gpdeblur SOURCE_DIR}
LIMIT_MIB=60
if [ -n "${GPD_SANITIZED:-}" ]; then
  echo "SKIP: a sanitizer build links libasan; the packing is checked in the Release build" >&2
  exit 77
fi
command -v git >/dev/null && git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 ||
  { echo "SKIP: $SRC is not a git checkout: the tracked tree's size is unknown" >&2; exit 77; }
for tool in xz ldconfig objdump; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

if ! GPD_DEPS_XZ_LEVEL=1 bash "$SRC/scripts/gpu_check.sh" --pack-deps "$T/deps" "$BIN" >"$T/pack.out" 2>&1; then
  cat "$T/pack.out" >&2
  exit 1
fi
archive=$T/deps/gpd-deps.tar.xz
[ -f "$archive" ] || { echo "FAIL: no $archive" >&2; exit 1; }
[ "$(find "$T/deps" -type f | wc -l)" -eq 1 ] || bad "--pack-deps left more than one file: $(ls "$T/deps")"
tree=$(git -C "$SRC" ls-files -z | (cd "$SRC" && xargs -0 stat -c %s 2>/dev/null) | awk '{s += $1} END {print s + 0}')
pack=$(stat -c %s "$archive")
total=$((tree + pack))
awk -v t="$tree" -v p="$pack" -v l="$LIMIT_MIB" 'BEGIN {
  printf "tracked tree %.1f MiB + dependency archive %.1f MiB = %.1f MiB (limit %d MiB)\n", t / 2^20, p / 2^20, (t + p) / 2^20, l }'
[ "$total" -lt $((LIMIT_MIB * 1048576)) ] || bad "tracked tree + dependency archive is $total bytes, over $LIMIT_MIB MiB"

# what the build links must be in it, headers included
list=$(tar -tJf "$archive")
for f in gpd-deps/MANIFEST.txt gpd-deps/lib/libopenblas.so gpd-deps/lib/libfftw3f.so gpd-deps/lib/libstb.so \
         gpd-deps/lib/libdnnl.so gpd-deps/lib/fallback/libgomp.so.1 gpd-deps/include/fftw3.h gpd-deps/include/cblas.h \
         gpd-deps/include/stb/stb_image.h gpd-deps/include/oneapi/dnnl/dnnl.h; do
  grep -qx "$f" <<<"$list" || bad "the archive lacks $f"
done
while read -r so; do
  case "$so" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libpthread.so*|libdl.so*|librt.so*|libcud*|libcufft*|libcublas*) ;;
    *) grep -q "gpd-deps/lib/\(fallback/\)\?$so\$" <<<"$list" || bad "gpdeblur links $so, which is not in the archive" ;;
  esac
done < <(ldd "$BIN" | awk '/=>/ {print $1}')

# unpacks, and every library loads here
prefix=$(bash "$SRC/scripts/gpu_deps.sh" unpack "$archive" "$T/unpacked" 2>"$T/unpack.err") ||
  bad "unpack: $(cat "$T/unpack.err")"
[ "$prefix" = "$T/unpacked/gpd-deps" ] || bad "unpack printed '$prefix'"

# a library that is not installed: a hard error naming it, nothing written
if GPD_DEPS_EXTRA=libgpd-not-there.so.7 bash "$SRC/scripts/gpu_check.sh" --pack-deps "$T/none" "$BIN" \
     >/dev/null 2>"$T/missing.err"; then
  bad "--pack-deps succeeded with a library that is not installed"
fi
grep -q 'libgpd-not-there.so.7' "$T/missing.err" || bad "the missing library is not named: $(cat "$T/missing.err")"
[ ! -e "$T/none/gpd-deps.tar.xz" ] || bad "an archive was written despite the missing library"

bash -n "$SRC/scripts/gpu_check.sh" || bad "gpu_check.sh does not parse"
bash "$SRC/scripts/gpu_check.sh" --help >"$T/help.txt" 2>&1 || bad "gpu_check.sh --help failed"
grep -q -- '--dry-run' "$T/help.txt" || bad "gpu_check.sh --help does not mention --dry-run"
exit $fail
