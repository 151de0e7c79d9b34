#!/usr/bin/env bash
# Crash safety of `gpdeblur eval`: killed with SIGKILL at every one of its
# durable-write points (GPD_TEST_KILL_AT=k: the manifest's temporary file,
# half of it, before and after its rename; the CSV created, half its header,
# the header; each row half written, written, synced), then killed again
# early in the resumed run, then resumed to the end: every time exactly one
# row per image, the same rows as a run never killed. Tiny images, a
# one-step generator and three solver steps keep it to seconds.
#   bash tests/cli_eval_kill.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_eval_kill.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_eval_kill.sh path/to/gpdeblur SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
export GPD_PROGRESS=0
unset GPD_TEST_KILL_AT GPD_TEST_KILL_TRACE

mkdir -p "$T/img"
for i in 1 2 3 4 5 6; do cp "$SRC/tests/fixtures/housenum_test/00000$i.png" "$T/img/"; done
if ! "$BIN" train --arch svhn_vae --data "$T/img" --steps 1 --batch 2 --width 2 --latent 4 --grid 0 --device cpu \
      --checkpoint-dir "$T/ck" -o "$T/gen.safetensors" >/dev/null 2>"$T/train.err"; then
  echo "SKIP: 'gpdeblur train' could not make the test's tiny generator: $(tail -1 "$T/train.err")" >&2
  exit 77
fi
E=(eval "$T/img" --image-gen "$T/gen.safetensors" --alg naive -n 3 -r 1 --device cpu)
# the rows without the seconds column (15th; no field here holds a comma)
rows() { cut -d, -f1-14,16 "$1"; }
# runs a command that may be killed, without the shell's "Killed" line
killable() {
  "$@" &
  wait $!
}

# ---- the run never killed, with the list of its kill points ------------------------
if ! GPD_TEST_KILL_TRACE=1 "$BIN" "${E[@]}" -o "$T/ref.csv" >/dev/null 2>"$T/trace"; then
  echo "FAIL: the reference run failed: $(grep -v '^kill point' "$T/trace")" >&2
  exit 1
fi
points=$(grep -c '^kill point' "$T/trace")
[ "$points" -ge 20 ] || bad "only $points kill points (at least 20 expected): $(cat "$T/trace")"
for where in "manifest: half written" "manifest: written, not renamed" "csv: header half written" \
  "csv: row half written" "csv: row written, not synced"; do
  grep -q "$where" "$T/trace" || bad "no kill point '$where'"
done
[ "$(wc -l < "$T/ref.csv")" -eq 7 ] || bad "ref.csv has $(wc -l < "$T/ref.csv") lines, expected 7"

# ---- killed at point k, killed again early in the resume, resumed to the end ----------------
ok=0
for k in $(seq 1 "$points"); do
  rm -f "$T"/run.csv*
  GPD_TEST_KILL_AT=$k killable "$BIN" "${E[@]}" -o "$T/run.csv" >/dev/null 2>"$T/err$k"
  rc=$?
  if [ $rc -ne 137 ]; then
    bad "kill point $k: exit $rc, expected 137 (SIGKILL): $(cat "$T/err$k")"
    continue
  fi
  # a second kill in the resumed run: at one of its first points (the cut
  # of a partial line, or a row)
  GPD_TEST_KILL_AT=$((1 + k % 4)) killable "$BIN" "${E[@]}" -o "$T/run.csv" --resume >/dev/null 2>>"$T/err$k"
  rc=$?
  if [ $rc -ne 137 ] && [ $rc -ne 0 ]; then
    bad "kill point $k, second kill: exit $rc: $(cat "$T/err$k")"
    continue
  fi
  if ! "$BIN" "${E[@]}" -o "$T/run.csv" --resume >"$T/out$k" 2>>"$T/err$k"; then
    bad "kill point $k: the resume failed: $(cat "$T/err$k")"
    continue
  fi
  data=$(($(wc -l < "$T/run.csv") - 1))
  dups=$(tail -n +2 "$T/run.csv" | cut -d, -f1 | sort | uniq -d | tr '\n' ' ')
  if [ "$data" -ne 6 ] || [ -n "$dups" ]; then
    bad "kill point $k ($(sed -n "s/^kill point $k: //p" "$T/trace")): $data rows for 6 images${dups:+, twice: $dups}"
  elif ! diff <(rows "$T/run.csv") <(rows "$T/ref.csv") >/dev/null; then
    bad "kill point $k: the resumed rows differ from the run never killed:
$(diff <(rows "$T/run.csv") <(rows "$T/ref.csv"))"
  else
    ok=$((ok + 1))
  fi
done
echo "$ok of $points kill points resumed to exactly one row per image, the rows of the run never killed"
[ "$ok" -eq "$points" ] || fail=1
exit $fail
