#!/usr/bin/env bash
# The face-prior recipe end to end at toy size: scripts/train_face_prior.sh
# (the recipe's options with a tiny net and 8 faces appended) trains, stops,
# resumes to a larger step budget and leaves EMA snapshots at the
# --snapshot-every steps and the final file; scripts/face_prior_curve.sh
# measures each snapshot once (a second call adds nothing) with evalgen's
# numbers; scripts/plot_face_prior.py draws loss and range PSNR (when
# matplotlib is there).   bash tests/cli_face_prior.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_face_prior.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_face_prior.sh path/to/gpdeblur SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
export GPD_PROGRESS=0 GPDEBLUR=$BIN CELEBA=$T/faces DEVICE=cpu

mkdir -p "$T/faces"
for i in 1 2 3 4 5 6 7 8; do cp "$SRC/tests/fixtures/chelsea_64.png" "$T/faces/00000$i.png"; done
TINY=(--celeba-range 1:8 --width 4 --latent 8 --batch 4 --grid 0)

# ---- train 2 steps, then resume to 4 --------------------------------------------
if ! STEPS=2 SNAPSHOT_EVERY=2 bash "$SRC/scripts/train_face_prior.sh" "$T/run" "${TINY[@]}" >"$T/a.out" 2>"$T/a.err"; then
  echo "SKIP: the recipe could not train here: $(tail -1 "$T/a.err")" >&2
  exit 77
fi
STEPS=4 SNAPSHOT_EVERY=2 bash "$SRC/scripts/train_face_prior.sh" "$T/run" "${TINY[@]}" >"$T/b.out" 2>"$T/b.err" ||
  bad "the resumed run failed: $(tail -1 "$T/b.err")"
grep -q "resuming from" "$T/b.err" || bad "the second run did not resume: $(head -3 "$T/b.err")"
grep -q "augmentation flip,color,translation,cutout, EMA of G 0.999" "$T/a.err" || bad "not the recipe: $(head -3 "$T/a.err")"
for s in 2 4; do
  f="$T/run/snapshot_0000000$s.safetensors"
  [ -f "$f" ] || { bad "no snapshot at step $s"; continue; }
  got=$("$BIN" info --json "$f" | sed -n 's/.*"train_steps":"\([0-9]*\)".*/\1/p')
  [ "$got" = "$s" ] || bad "snapshot_0000000$s says train_steps '$got'"
done
[ "$(ls "$T/run" | grep -c '^snapshot_')" -eq 2 ] || bad "snapshots: $(ls "$T/run")"
final=$("$BIN" info --json "$T/run/dcgan_celeba64.safetensors" 2>/dev/null)
for want in '"train_steps":"4"' '"train_ema":"0.999"' '"width":"4"' '"train_precision":"bf16"'; do
  case "$final" in *"$want"*) ;; *) bad "final file lacks $want: $final" ;; esac
done

# ---- the range-PSNR curve ---------------------------------------------------------
C=(env FACES=1:2 STEPS=5 RESTARTS=1 bash "$SRC/scripts/face_prior_curve.sh" "$T/run")
"${C[@]}" >"$T/c.out" 2>"$T/c.err" || bad "curve failed: $(tail -1 "$T/c.err")"
"${C[@]}" >"$T/c2.out" 2>>"$T/c.err" || bad "second curve call failed: $(tail -1 "$T/c.err")"
csv="$T/run/range_curve.csv"
[ "$(wc -l < "$csv")" -eq 3 ] || bad "range_curve.csv should have a header and 2 rows: $(cat "$csv")"
[ -s "$T/c2.out" ] && bad "the second call measured again: $(cat "$T/c2.out")"
want=$("$BIN" evalgen --weights "$T/run/snapshot_00000004.safetensors" --data "$T/faces" --celeba-range 1:2 \
         --steps 5 --restarts 1 --device cpu 2>/dev/null | awk '/^range:/ {print $5}')
got=$(awk -F, '$1 == 4 {print $6}' "$csv")
[ -n "$want" ] && [ "$got" = "$want" ] || bad "curve row of step 4: psnr '$got', evalgen gives '$want'"

# ---- the plot ------------------------------------------------------------------------
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 "$SRC/scripts/plot_face_prior.py" "$T/run" -o "$T/curve.png" >/dev/null 2>"$T/p.err" ||
    bad "plot failed: $(tail -1 "$T/p.err")"
  [ -s "$T/curve.png" ] || bad "no plot written"
else
  echo "(matplotlib missing: plot not checked)"
fi
exit $fail
