#!/usr/bin/env bash
# gpdeblur montage: panel sizes and bad input.
set -u
BIN=$1; SRC=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
png_size() { # width x height from the IHDR chunk
  local w h
  w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
  h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
  echo "${w}x${h}"
}
"$BIN" kernels -n 1 --seed 3 -o "$T/k" >/dev/null || { echo "kernels failed"; exit 1; }
# a 64x64 image, a 28x28 kernel enlarged twice (56 wide), pad 4: 64 + 4 + 56 = 124 by 64
"$BIN" montage "$SRC/tests/fixtures/chelsea_64.png" "$T/k/kernel_3.kernel" -o "$T/m.png" || { echo "montage failed"; fail=1; }
size=$(png_size "$T/m.png")
[ "$size" = "124x64" ] || { echo "montage size $size, expected 124x64"; fail=1; }
"$BIN" montage "$SRC/tests/fixtures/chelsea_64.png" "$SRC/tests/fixtures/chelsea_64.png" --pad 0 -o "$T/m2.png" || fail=1
size=$(png_size "$T/m2.png")
[ "$size" = "128x64" ] || { echo "montage --pad 0 size $size, expected 128x64"; fail=1; }
# bad input: one line on stderr, non-zero exit
for args in "$T/missing.png -o $T/x.png" "--bogus -o $T/x.png $T/m.png" "$T/m.png"; do
  "$BIN" montage $args >/dev/null 2>"$T/err"; rc=$?
  lines=$(wc -l <"$T/err")
  if [ $rc -eq 0 ] || [ "$lines" -ne 1 ]; then echo "montage $args: rc $rc, $lines stderr lines"; fail=1; fi
done
exit $fail
