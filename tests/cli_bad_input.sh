#!/usr/bin/env bash
# A new user's mistakes, each refused before any work with a non-zero exit
# and one line on stderr naming the file (or option) and the problem: a
# results CSV with a NUL byte or a repeated row; truncated PPM / PGM / BMP /
# TGA, a BMP declaring 64 x 2097216 pixels in 800 bytes, a PNG with a bad
# CRC, a JPEG whose Huffman table declares more than 256 codes; weights with
# bytes inserted in their data or a NaN; all-zero, negative, mistyped and
# non-numeric kernels; --truth of another size; -o into a missing folder;
# --kernel-seeds that do not apply; seeds that would wrap at 2^64; `info`
# on a folder; `eval` on an empty folder.
#   bash tests/cli_bad_input.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_bad_input.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_bad_input.sh path/to/gpdeblur SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
export GPD_PROGRESS=0
SHARP="$SRC/tests/fixtures/chelsea_64.png"
IMG="$SRC/tests/fuzz/corpus/image"
REG="$SRC/tests/fuzz/regressions"

# refused NAME PATTERN... -- CMD...: a non-zero exit, exactly one line on
# stderr holding every PATTERN
refused() {
  local name=$1
  shift
  local patterns=()
  while [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
  done
  shift
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ $rc -ne 0 ] || fail "$name: exit 0"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$name: stderr has $(wc -l <"$T/err") lines: $(cat "$T/err")"
  for p in "${patterns[@]}"; do
    grep -qF -- "$p" "$T/err" || fail "$name: stderr lacks '$p': $(cat "$T/err")"
  done
}

# ---- a tiny generator and results CSVs (the real formats) -----------------------------
mkdir -p "$T/img" "$T/empty"
for i in 1 2 3; do cp "$SRC/tests/fixtures/housenum_test/00000$i.png" "$T/img/"; done
if ! "$BIN" train --arch svhn_vae --data "$T/img" --steps 1 --batch 2 --width 2 --latent 4 --grid 0 --device cpu \
      --checkpoint-dir "$T/ck" -o "$T/gen.safetensors" >/dev/null 2>"$T/train.err"; then
  echo "SKIP: 'gpdeblur train' could not make the test's tiny generator: $(tail -1 "$T/train.err")" >&2
  exit 77
fi
E=(eval "$T/img" --image-gen "$T/gen.safetensors" --alg naive -n 2 -r 1 --device cpu)
"$BIN" "${E[@]}" -o "$T/ok.csv" >/dev/null 2>&1 || fail "the reference eval failed"

# ---- the results CSV ---------------------------------------------------------------
# a NUL byte: --resume used to skip the rows after it and run them again
{ head -n 2 "$T/ok.csv"; printf '\0'; tail -n +3 "$T/ok.csv"; } >"$T/nul.csv"
cp "$T/ok.csv.json" "$T/nul.csv.json"
refused "resume, NUL byte" "$T/nul.csv" "line 3" "NUL byte" -- "$BIN" "${E[@]}" -o "$T/nul.csv" --resume
[ "$(wc -l <"$T/nul.csv")" -eq 4 ] || fail "resume with a NUL byte changed the file"
refused "summarize, NUL byte" "$T/nul.csv" "NUL byte" -- "$BIN" eval --summarize "$T/nul.csv"
# a repeated row: --summarize used to count it
{ cat "$T/ok.csv"; tail -n 1 "$T/ok.csv"; } >"$T/dup.csv"
cp "$T/ok.csv.json" "$T/dup.csv.json"
refused "summarize, repeated row" "$T/dup.csv" "line 5" "repeats line 4" -- "$BIN" eval --summarize "$T/dup.csv"
refused "resume, repeated row" "$T/dup.csv" "twice" -- "$BIN" "${E[@]}" -o "$T/dup.csv" --resume
refused "eval-merge, repeated row" "$T/dup.csv" "twice" -- "$BIN" eval-merge "$T/dup.csv" -o "$T/merged.csv"
[ ! -e "$T/merged.csv" ] || fail "eval-merge wrote a merge of a CSV with a repeated row"

# ---- images ----------------------------------------------------------------------------
head -c -7 "$IMG/rgb8.ppm" >"$T/cut.ppm"
head -c -3 "$IMG/gray8.pgm" >"$T/cut.pgm"
head -c -10 "$IMG/rgb24.bmp" >"$T/cut.bmp"
head -c 40 "$IMG/rgb24.tga" >"$T/cut.tga"
head -c -40 "$IMG/rle24.tga" >"$T/cut_rle.tga"
for f in cut.ppm cut.pgm cut.bmp cut.tga cut_rle.tga; do
  refused "truncated $f" "$T/$f" "truncated" -- "$BIN" metrics "$T/$f" "$T/$f"
done
refused "BMP of 64 x 2097216 pixels in 800 bytes" "huge_declared.bmp" "64x2097216" -- \
  "$BIN" metrics "$REG/image/huge_declared.bmp" "$SHARP"
refused "PNG with a bad CRC" "bad_crc.png" "CRC" -- "$BIN" blur "$REG/image/bad_crc.png" --seed 1 -o "$T/b.png"
refused "JPEG Huffman table of 265 codes" "dht_265_codes.jpg" "265 codes" -- \
  "$BIN" deblur "$REG/image/dht_265_codes.jpg" -o "$T/d.png" --device cpu
printf 'GIF89a\001\000\001\000' >"$T/a.gif"
refused "GIF" "a.gif" "is a GIF" -- "$BIN" metrics "$T/a.gif" "$SHARP"
refused "a truncated TGA from a pipe" "/dev/fd/" "truncated" -- "$BIN" metrics <(cat "$T/cut.tga") "$SHARP"
refused "an image that is a folder" "$T/empty" "directory" -- "$BIN" metrics "$T/empty" "$SHARP"

# ---- weights -----------------------------------------------------------------------------
refused "info, 64 bytes inserted in the data" "inserted_64_bytes.safetensors" "belong to none" -- \
  "$BIN" info "$REG/safetensors/inserted_64_bytes.safetensors"
refused "info, a NaN weight" "nan_weight.safetensors" "generator.0.bias holds nan" -- \
  "$BIN" info "$REG/safetensors/nan_weight.safetensors"
refused "deblur, a NaN weight" "nan_weight.safetensors" "holds nan" -- \
  "$BIN" deblur "$SHARP" -o "$T/d.png" --alg naive --image-gen "$REG/safetensors/nan_weight.safetensors" --device cpu
refused "info on a folder" "$T/empty" "is a directory" -- "$BIN" info "$T/empty"

# ---- kernels ------------------------------------------------------------------------------
printf 'gpdeblur-kernel 1 2\n0 0\n0 0\n' >"$T/zero.kernel"
printf -- '-0.25 -0.25\n-0.25 -0.25\n' >"$T/negative.txt"
printf 'gpdeblur-kernal 1 2\n1 0\n0 1\n' >"$T/typo.kernel"
printf 'gpdeblur-kernel 1 2\n1 abc\n0 1\n' >"$T/abc.kernel"
printf '0.5 abc\n0.25 0.25\n' >"$T/abc.txt"
refused "all-zero kernel" "zero.kernel" "all zeros" -- "$BIN" blur "$SHARP" --kernel "$T/zero.kernel" -o "$T/b.png"
refused "negative kernel" "negative.txt" "negative" -- "$BIN" blur "$SHARP" --kernel "$T/negative.txt" -o "$T/b.png"
refused "kernel header typo" "typo.kernel" "'gpdeblur-kernal 1 2'" "header" -- \
  "$BIN" blur "$SHARP" --kernel "$T/typo.kernel" -o "$T/b.png"
refused "abc in a .kernel" "abc.kernel" "line 2" "'abc'" -- "$BIN" blur "$SHARP" --kernel "$T/abc.kernel" -o "$T/b.png"
refused "abc in rows" "abc.txt" "line 1" "'abc'" -- "$BIN" montage "$T/abc.txt" -o "$T/m.png"
mkdir -p "$T/kdir"
cp "$T/zero.kernel" "$T/kdir/"
refused "eval --kernels with an all-zero kernel" "zero.kernel" "all zeros" -- \
  "$BIN" "${E[@]}" --kernels "$T/kdir" -o "$T/k.csv"

# ---- the command line ----------------------------------------------------------------------
"$BIN" blur "$SHARP" --seed 3 -o "$T/blurry.png" >/dev/null 2>&1 || fail "blur for the --truth case"
refused "deblur --truth of another size" "rgb24.bmp" "5x6" "64x64" -- \
  "$BIN" deblur "$T/blurry.png" --truth "$IMG/rgb24.bmp" -o "$T/d.png" --device cpu
mkdir -p "$T/runs"
refused "deblur -o inside --restarts-out" "-o '$T/runs/00.png'" "--restarts-out '$T/runs'" -- \
  "$BIN" deblur "$T/blurry.png" --restarts-out "$T/runs" -o "$T/runs/00.png" --device cpu
refused "deblur --kernel-out inside --restarts-out" "--kernel-out" "lies in --restarts-out" -- \
  "$BIN" deblur "$T/blurry.png" --restarts-out "$T/runs/" -o "$T/d.png" --kernel-out "$T/runs/../runs/k.kernel" --device cpu
for cmd in deblur train eval; do
  case $cmd in
  deblur) args=(deblur "$SHARP" --device cpu --log "$T/log.csv" -o "$T/missing/out.png") ;;
  train) args=(train --arch svhn_vae --data "$T/img" --steps 1 --device cpu -o "$T/missing/gen.safetensors") ;;
  eval) args=("${E[@]}" -o "$T/missing/r.csv") ;;
  esac
  refused "$cmd -o into a missing folder" "$T/missing" "does not exist" -- "$BIN" "${args[@]}"
done
[ ! -e "$T/log.csv" ] || fail "deblur wrote its --log before refusing -o"
refused "evalgen --kernel-seeds with image data" "--kernel-seeds" "$T/gen.safetensors" -- \
  "$BIN" evalgen --weights "$T/gen.safetensors" --data "$T/img" --kernel-seeds 5:10 --device cpu
refused "evalgen --range with kernels" "--range" -- \
  "$BIN" evalgen --weights "$SRC/weights/blur_vae.safetensors" --range 1:3 --device cpu
refused "kernels: seeds past 2^64" "--seed 18446744073709551615" "18446744073709551615" -- \
  "$BIN" kernels -n 2 --seed 18446744073709551615 -o "$T/kernels"
[ ! -e "$T/kernels" ] || fail "kernels made its folder before refusing the seeds"
refused "eval: seeds past 2^64" "--seed 18446744073709551614" "3 items" -- \
  "$BIN" "${E[@]}" --seed 18446744073709551614 -o "$T/s.csv"
refused "eval: noise seeds past 2^64" "--noise-seed" -- \
  "$BIN" "${E[@]}" --noise-seed 18446744073709551615 -o "$T/s.csv"
refused "eval on an empty folder" "no images in $T/empty" -- \
  "$BIN" eval "$T/empty" --image-gen "$T/gen.safetensors" --alg naive -o "$T/e.csv" --device cpu

[ $fails -eq 0 ] && echo "every bad input refused with one line"
exit $((fails > 0))
