#!/bin/bash
# End-to-end test of `gpdeblur kernels`, `blur` and `metrics`, and of the
# one-line errors on bad input.  Usage: cli_io.sh path/to/gpdeblur SOURCE_DIR
set -u
BIN=${1:?usage: cli_io.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_io.sh path/to/gpdeblur SOURCE_DIR}
SHARP="$SRC/tests/fixtures/chelsea_64.png"
T=$(mktemp -d -t gpd_cli_io.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# run NAME CMD...: must succeed
run() {
  local name=$1
  shift
  if ! "$@" >"$T/out" 2>"$T/err"; then
    fail "$name: exit $? ($(head -c 300 "$T/err"))"
  fi
}

# must_fail NAME WANT_RC PATTERN CMD...: exits WANT_RC with exactly one line
# on stderr that contains PATTERN
must_fail() {
  local name=$1 want=$2 pattern=$3
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" -eq "$want" ] || fail "$name: exit $rc, expected $want"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$name: stderr has $(wc -l <"$T/err") lines: $(cat "$T/err")"
  grep -q -- "$pattern" "$T/err" || fail "$name: stderr lacks '$pattern': $(cat "$T/err")"
}

# json_number KEY FILE: the number after "KEY": in a one-line JSON object
json_number() { sed -n "s/.*\"$1\": \([-0-9.e+]*\).*/\1/p" "$2"; }

# ---- kernels ----
run "kernels motion" "$BIN" kernels -n 3 --seed 10 -o "$T/k"
for s in 10 11 12; do
  [ -s "$T/k/kernel_$s.kernel" ] && [ -s "$T/k/kernel_$s.png" ] || fail "kernels: kernel_$s.kernel/.png missing"
done
[ "$(head -1 "$T/k/index.csv")" = "id,seed,length" ] || fail "kernels: index.csv header: $(head -1 "$T/k/index.csv")"
[ "$(wc -l <"$T/k/index.csv")" -eq 4 ] || fail "kernels: index.csv should have 3 rows"
awk -F, 'NR > 1 && ($2 != $1 + 10 || $3 < 5 || $3 > 28) { bad = 1 } END { exit bad }' "$T/k/index.csv" ||
  fail "kernels: bad index rows: $(cat "$T/k/index.csv")"
head -1 "$T/k/kernel_10.kernel" | grep -qx "gpdeblur-kernel 1 28" || fail "kernels: .kernel header"
run "kernels again" "$BIN" kernels -n 1 --seed 10 -o "$T/k2"
cmp -s "$T/k/kernel_10.kernel" "$T/k2/kernel_10.kernel" || fail "kernels: same seed gave a different kernel"
run "kernels gaussian" "$BIN" kernels --type gaussian -n 2 --seed 1 --sigma 1:2 --size 15 -o "$T/g"
[ "$(head -1 "$T/g/index.csv")" = "id,seed,sigma" ] && [ -s "$T/g/kernel_2.kernel" ] || fail "kernels --type gaussian"

# ---- blur ----
run "blur --seed" "$BIN" blur "$SHARP" --seed 5 --sigma 0.01 -o "$T/b.png"
for f in b.png b.kernel b_kernel.png; do [ -s "$T/$f" ] || fail "blur: $f missing"; done
# the kernel written beside the image reproduces it (noise seed = kernel seed)
run "blur --kernel" "$BIN" blur "$SHARP" --kernel "$T/b.kernel" --noise-seed 5 --sigma 0.01 -o "$T/b2.png"
cmp -s "$T/b.png" "$T/b2.png" || fail "blur: --kernel with the written kernel does not reproduce --seed"
run "blur linear gray crop" "$BIN" blur "$SHARP" --kernel "$T/k/kernel_11.kernel" --boundary linear --gray \
  --crop-resize 60:48 --sharp-out "$T/s48.png" -o "$T/lin.png"

# ---- metrics ----
run "metrics --json" "$BIN" metrics --json "$T/b.png" "$SHARP"
psnr=$(json_number psnr "$T/out")
ssim=$(json_number ssim "$T/out")
awk -v p="$psnr" -v s="$ssim" 'BEGIN { exit !(p > 15 && p < 40 && s > 0.05 && s < 0.99) }' ||
  fail "metrics: blurred vs sharp PSNR '$psnr' SSIM '$ssim' out of range ($(cat "$T/out"))"
run "metrics identical" "$BIN" metrics --json "$SHARP" "$SHARP"
grep -q '"psnr": null, "ssim": 1.000000' "$T/out" || fail "metrics of identical images: $(cat "$T/out")"
run "metrics text" "$BIN" metrics "$T/b.png" "$SHARP"
grep -q "^PSNR [0-9.]* dB$" "$T/out" && grep -q "^SSIM 0\.[0-9]*$" "$T/out" || fail "metrics text output: $(cat "$T/out")"
run "metrics shift-tolerant" "$BIN" metrics --json --shift-tolerant 3 --border 4 "$T/b.png" "$SHARP"
st=$(json_number psnr "$T/out")
awk -v a="$st" -v b="$psnr" 'BEGIN { exit !(a + 0.5 > b) }' || fail "shift-tolerant PSNR $st far below plain $psnr"
grep -q '"shift_tolerant": 3, "border": 4' "$T/out" || fail "metrics: shift fields: $(cat "$T/out")"

# ---- --help ----
for c in kernels blur metrics; do
  "$BIN" $c --help >"$T/out" 2>"$T/err" || fail "$c --help: non-zero exit"
  grep -q "^usage: gpdeblur $c" "$T/out" || fail "$c --help: no usage on stdout"
  [ -s "$T/err" ] && fail "$c --help wrote to stderr"
done

# ---- bad input: one line on stderr, non-zero exit ----
head -c 300 "$SHARP" >"$T/trunc.png"
must_fail "truncated PNG" 1 "trunc.png" "$BIN" metrics "$T/trunc.png" "$SHARP"
must_fail "truncated PNG (blur)" 1 "trunc.png" "$BIN" blur "$T/trunc.png" --seed 1 -o "$T/x.png"
must_fail "kernel larger than image" 1 "larger" "$BIN" blur "$SHARP" --crop-resize 20:20 --seed 1 -o "$T/x.png"
# --version: the build (git describe of the tree, or "unknown" outside a
# checkout) and one line per engine naming its libraries
run "--version" "$BIN" --version
head -n 1 "$T/out" | grep -Eq '^gpdeblur ([0-9a-f]{7,}(-dirty)?|unknown)$' || fail "--version: first line '$(head -n 1 "$T/out")'"
if [ -d "$SRC/.git" ] && command -v git >/dev/null; then
  want=$(git -C "$SRC" describe --always --dirty --abbrev=12)
  head -n 1 "$T/out" | grep -q "^gpdeblur ${want%-dirty}" || fail "--version: '$(head -n 1 "$T/out")' is not the tree's $want"
fi
grep -q '^ref:  OpenBLAS [0-9]' "$T/out" || fail "--version: no OpenBLAS line: $(cat "$T/out")"
grep -Eq '^cpu:  oneDNN [0-9]+\.[0-9]+\.[0-9]+, fftw-3' "$T/out" || fail "--version: no oneDNN / FFTW line: $(cat "$T/out")"
grep -Eq '^cuda: (not built|CUDA runtime [0-9]+\.[0-9]+, cuDNN [0-9.]+, cuFFT [0-9.]+, cuBLAS [0-9.]+; )' "$T/out" ||
  fail "--version: no cuda line: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "--version: $(wc -l <"$T/out") lines, not 4"

must_fail "unknown option" 2 "unknown option '--bogus'" "$BIN" metrics --bogus "$SHARP" "$SHARP"
must_fail "unknown short option" 2 "unknown option '-q'" "$BIN" kernels -q -n 1 --seed 1 -o "$T/q"
must_fail "missing value" 2 "needs a value" "$BIN" blur "$SHARP" -o
must_fail "missing file" 1 "no_such.png" "$BIN" blur "$T/no_such.png" --seed 1 -o "$T/x.png"
must_fail "missing kernel" 1 "no_such.kernel" "$BIN" blur "$SHARP" --kernel "$T/no_such.kernel" -o "$T/x.png"
must_fail "bad number" 1 "count" "$BIN" kernels -n abc --seed 1 -o "$T/q"
must_fail "size mismatch" 1 "s48.png" "$BIN" metrics "$T/s48.png" "$SHARP"
must_fail "kernel and seed" 1 "exactly one" "$BIN" blur "$SHARP" --seed 1 --kernel "$T/b.kernel" -o "$T/x.png"
[ -e "$T/x.png" ] && fail "a failed blur left $T/x.png behind"

if [ "$fails" -ne 0 ]; then
  echo "cli_io: $fails check(s) failed" >&2
  exit 1
fi
echo "cli_io: all checks passed" >&2
