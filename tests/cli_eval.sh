#!/usr/bin/env bash
# `gpdeblur eval`, `eval-merge` and `sweep` as a user runs them, on tiny
# generators made with `gpdeblur train` (one step: random-ish weights, the
# real file format): a run killed with SIGKILL mid-way and resumed gives the
# rows of an uninterrupted run, and one image at a time the rows of the
# batch of all (within float tolerance); a truncated PNG costs exactly one line on
# stderr and is counted; results are never resumed or merged across an
# image changed under its name; a run's --report holds its CSV's mean and its
# manifest's settings; bad options cost one line each; a sweep's gain over its
# first value is paired by image; the sweep's CSV
# plots with scripts/plot_sweep.py (when matplotlib is there);
# scripts/lift_by_length.py's buckets hold the CSV's images and its lift.
#   bash tests/cli_eval.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_eval.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_eval.sh path/to/gpdeblur SOURCE_DIR}
T=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
export GPD_PROGRESS=0

. "$SRC/tests/tiny_generators.sh"
G=(--image-gen "$T/gen.safetensors" --blur-gen "$T/blur.safetensors" --device cpu -r 2 --lr 1e-7)
# Two results CSVs hold the same rows: text fields and restart_iterations
# (16) equal, the numbers (8-10, 12-14) within float tolerance (an image's
# rounding depends on the batch it ran in), seconds (15) ignored.
same_rows() {
  awk -F, 'NR == FNR { a[FNR] = $0; n = FNR; next }
    { if (!(FNR in a)) { print "extra row " FNR; bad = 1; next }
      split(a[FNR], x, ",")
      for (i = 1; i <= 16; i++) {
        if (i == 15) continue
        if (i ~ /^(8|9|10|12|13|14)$/ && x[i] != "nan" && $i != "nan") {
          d = x[i] - $i; if (d < 0) d = -d; m = $i < 0 ? -$i : $i
          if (d > 1e-6 + 1e-5 * m) { print "row " FNR " field " i ": " x[i] " vs " $i; bad = 1 }
        } else if (x[i] != $i) { print "row " FNR " field " i ": " x[i] " vs " $i; bad = 1 }
      } }
    END { if (FNR != n) { print FNR " rows vs " n; bad = 1 } exit bad }' "$1" "$2"
}

# ---- a truncated PNG: one line on stderr, a skipped row, counted ------------
head -c 80 "$SRC/tests/fixtures/chelsea_64.png" > "$T/faces/000006.png"
if "$BIN" eval "$T/faces" -o "$T/ref.csv" "${G[@]}" -n 300 --report "$T/ref.md" >"$T/ref.out" 2>"$T/ref.err"; then
  [ "$(wc -l < "$T/ref.err")" -eq 1 ] || bad "expected one stderr line, got: $(cat "$T/ref.err")"
  grep -q "skipped 000006.png" "$T/ref.err" || bad "the stderr line does not name the image: $(cat "$T/ref.err")"
  grep -q "6 images (5 ok, 1 skipped, 0 diverged)" "$T/ref.out" || bad "summary: $(head -1 "$T/ref.out")"
  [ "$(wc -l < "$T/ref.csv")" -eq 7 ] || bad "ref.csv has $(wc -l < "$T/ref.csv") lines, expected 7"
  # the manifest names the build that made the rows, as --version does
  v=$("$BIN" --version | sed -n '1s/^gpdeblur //p')
  grep -qF "\"gpdeblur\": \"$v\"" "$T/ref.csv.json" || bad "the manifest does not record the build '$v': $(cat "$T/ref.csv.json")"
  # --report beside the run: its mean PSNR is the CSV's, its settings are those of the
  # manifest the run wrote (inputs hash included), as `eval --summarize` reports them
  mean=$(awk -F, 'NR > 1 && $7 == "ok" { s += $8; n++ } END { if (n) printf "%.2f", s / n }' "$T/ref.csv")
  grep -q "^| î1 (Algorithm 1) | faces | 5 | 1 | 0 | $mean ± " "$T/ref.md" ||
    bad "the report's row does not hold the CSV's mean PSNR $mean: $(grep '^| î1' "$T/ref.md")"
  inputs=$(sed -n 's/.*"inputs": "\(fnv1a64:[0-9a-f]*\)".*/\1/p' "$T/ref.csv.json")
  grep -qF -- "- inputs: \`$inputs\`" "$T/ref.md" || bad "the report's settings lack the manifest's inputs $inputs"
  if "$BIN" eval --summarize "$T/ref.csv" --report "$T/sum.md" >/dev/null 2>"$T/sum.err"; then
    diff <(sed -n '/^- /p' "$T/ref.md") <(sed -n '/^- /p' "$T/sum.md") >"$T/cmp.txt" ||
      bad "eval --report and eval --summarize --report name other settings: $(cat "$T/cmp.txt")"
  else
    bad "eval --summarize: $(cat "$T/sum.err")"
  fi
else
  bad "eval failed: $(cat "$T/ref.err")"
fi

# ---- progress in a log: a batch partly through counts before its rows come -------
# (the bar and the ETA of a run whose first batch takes 20 minutes are not 0 % and
# 0:00 for those 20 minutes); 5 readable images in one batch, 300 steps
if env -u GPD_PROGRESS GPD_PROGRESS_EVERY=0 "$BIN" eval "$T/faces" -o "$T/prog.csv" "${G[@]}" -n 300 >/dev/null 2>"$T/prog.err"; then
  grep -q '^eval: *[1-9][0-9]*% 0/6 ' "$T/prog.err" ||
    bad "no progress line counts the batch before its rows: $(grep '^eval' "$T/prog.err" | head -3)"
  ! grep '^eval: ' "$T/prog.err" | awk '{ sub("%", "", $2); if ($2 + 0 < last) exit 0; last = $2 + 0 } END { exit 1 }' ||
    bad "the progress went backwards: $(grep '^eval' "$T/prog.err" | tr '\n' '|' | head -c 600)"
else
  bad "eval with progress lines failed: $(cat "$T/prog.err")"
fi

# ---- one image at a time gives what the batch of all gave ------------------------
"$BIN" eval "$T/faces" -o "$T/ones.csv" "${G[@]}" -n 300 --batch-images 1 --limit 3 >/dev/null 2>&1 ||
  bad "eval --batch-images 1"
head -4 "$T/ref.csv" >"$T/ref3.csv"
same_rows "$T/ones.csv" "$T/ref3.csv" >"$T/cmp.txt" || bad "one at a time differs from batched: $(cat "$T/cmp.txt")"

# ---- killed with SIGKILL mid-run (batches of 2 images), then resumed ------------------
"$BIN" eval "$T/faces" -o "$T/run.csv" "${G[@]}" -n 300 --batch-images 2 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ -f "$T/run.csv" ] && [ "$(wc -l < "$T/run.csv")" -ge 3 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if kill -9 "$pid" 2>/dev/null; then
  wait "$pid" 2>/dev/null
  lines=$(wc -l < "$T/run.csv")
  [ "$lines" -lt 7 ] || bad "the killed run had already finished ($lines lines)"
  # a write cut short, as a kill in the middle of one would leave
  printf '000006.png,5,10000' >> "$T/run.csv"
  if "$BIN" eval "$T/faces" -o "$T/run.csv" "${G[@]}" -n 300 --resume >"$T/resume.out" 2>"$T/resume.err"; then
    grep -q "cut a partial last line" "$T/resume.err" || bad "no note about the partial line: $(cat "$T/resume.err")"
    same_rows "$T/run.csv" "$T/ref.csv" >"$T/cmp.txt" || bad "killed + resumed differs from uninterrupted: $(cat "$T/cmp.txt")"
  else
    bad "resume failed: $(cat "$T/resume.err")"
  fi
else
  wait "$pid" 2>/dev/null
  bad "the run ended before it could be killed (too fast to test)"
fi
pid=

# ---- shards, merged ------------------------------------------------------------------
"$BIN" eval "$T/faces" -o "$T/s1.csv" "${G[@]}" -n 300 --shard 1/2 >/dev/null 2>&1 || bad "shard 1/2"
"$BIN" eval "$T/faces" -o "$T/s2.csv" "${G[@]}" -n 300 --shard 2/2 >/dev/null 2>&1 || bad "shard 2/2"
"$BIN" eval-merge "$T/s1.csv" "$T/s2.csv" -o "$T/all.csv" >/dev/null 2>"$T/merge.err" || bad "merge: $(cat "$T/merge.err")"
same_rows "$T/all.csv" "$T/ref.csv" >"$T/cmp.txt" || bad "merged shards differ from the unsharded run: $(cat "$T/cmp.txt")"

one_line() { # EXPECTED_STATUS WHAT -- command...
  local want=$1 what=$2
  shift 3
  "$@" >/dev/null 2>"$T/err.txt"
  local st=$?
  [ "$st" -eq "$want" ] || bad "$what: exit $st, expected $want"
  [ "$(wc -l < "$T/err.txt")" -eq 1 ] || bad "$what: expected one line on stderr, got: $(cat "$T/err.txt")"
}

# ---- the same names, other pixels: never resumed or merged -----------------------------
# (a rerendered test set, another copy of a data set); manifests written before the
# "inputs" setting existed lack it and still resume
mkdir -p "$T/changed"
cp "$T/faces"/00000[1-3].png "$T/changed/"
"$BIN" eval "$T/changed" -o "$T/ch.csv" "${G[@]}" -n 3 >/dev/null 2>&1 || bad "eval of the copy"
grep -q '"inputs": "fnv1a64:[0-9a-f]\{16\}"' "$T/ch.csv.json" || bad "the manifest has no inputs hash: $(cat "$T/ch.csv.json")"
"$BIN" eval "$T/changed" -o "$T/ch1.csv" "${G[@]}" -n 3 --shard 1/2 >/dev/null 2>&1 || bad "shard 1/2 of the copy"
"$BIN" eval "$T/changed" -o "$T/ch.csv" "${G[@]}" -n 3 --resume >/dev/null 2>&1 || bad "resume over the same images refused"
"$BIN" blur "$T/faces/000001.png" --seed 3 -o "$T/blurred.png" >/dev/null 2>&1 && cp "$T/blurred.png" "$T/changed/000002.png" ||
  bad "blur"
"$BIN" eval "$T/changed" -o "$T/ch2.csv" "${G[@]}" -n 3 --shard 2/2 >/dev/null 2>&1 || bad "shard 2/2 of the changed copy"
one_line 1 "resume over changed images" -- "$BIN" eval "$T/changed" -o "$T/ch.csv" "${G[@]}" -n 3 --resume
grep -q "inputs=fnv1a64" "$T/err.txt" || bad "the refusal does not name the inputs: $(cat "$T/err.txt")"
one_line 1 "merge across changed images" -- "$BIN" eval-merge "$T/ch1.csv" "$T/ch2.csv" -o "$T/x.csv"
sed -i -e ':a' -e 'N' -e '$!ba' -e 's/,\n  "inputs": "fnv1a64:[0-9a-f]*"//' "$T/ch.csv.json"
grep -q inputs "$T/ch.csv.json" && bad "the test could not remove the inputs hash: $(cat "$T/ch.csv.json")"
"$BIN" eval "$T/changed" -o "$T/ch.csv" "${G[@]}" -n 3 --resume >/dev/null 2>"$T/old.err" ||
  bad "a manifest without an inputs hash no longer resumes: $(cat "$T/old.err")"

# ---- bad input: one line on stderr each, non-zero exit --------------------------
one_line 2 "unknown option" -- "$BIN" eval "$T/faces" -o "$T/x.csv" --no-such-option
one_line 1 "bad shard" -- "$BIN" eval "$T/faces" -o "$T/x.csv" "${G[@]}" --shard 3/2
one_line 1 "missing folder" -- "$BIN" eval "$T/nowhere" -o "$T/x.csv" "${G[@]}"
one_line 1 "no -o" -- "$BIN" eval "$T/faces" "${G[@]}"
one_line 1 "existing results" -- "$BIN" eval "$T/faces" -o "$T/ref.csv" "${G[@]}" -n 300
one_line 1 "overlapping shards" -- "$BIN" eval-merge "$T/s1.csv" "$T/s1.csv" -o "$T/x.csv"
one_line 1 "missing shard" -- "$BIN" eval-merge "$T/s1.csv" -o "$T/x.csv"
one_line 1 "bad sweep parameter" -- "$BIN" sweep "$T/faces" --param blur --out-dir "$T/sw" "${G[@]}"
one_line 2 "sweep without a folder" -- "$BIN" sweep --param sigma --out-dir "$T/sw" "${G[@]}"

# ---- a noise sweep and its plot ---------------------------------------------------------
if "$BIN" sweep "$T/faces" --param sigma --values 0.01,0.05 --out-dir "$T/sw" "${G[@]}" -n 3 --limit 2 \
     --report "$T/sw.md" >"$T/sw.out" 2>"$T/sw.err"; then
  [ "$(wc -l < "$T/sw/sweep.csv")" -eq 3 ] || bad "sweep.csv: $(cat "$T/sw/sweep.csv")"
  [ -s "$T/sw/sigma_0.05.csv" ] && [ -s "$T/sw/sigma_0.05.csv.json" ] || bad "no per-value results for sigma 0.05"
  [ "$(grep -c '^| blurry input (.*; sigma 0.0[15]) |' "$T/sw.md")" -eq 2 ] ||
    bad "a noise sweep's report should have a blurry row per value: $(grep blurry "$T/sw.md")"
  [ "$(awk -F, 'NR == 3 { print $NF }' "$T/sw/sweep.csv")" = sigma_0.05.csv ] ||
    bad "sweep.csv should name its results beside it: $(tail -1 "$T/sw/sweep.csv")"
  grep -q "sigma 0.05" "$T/sw.md" || bad "the sweep report lacks sigma 0.05"
  # the gain over the first value, paired by image: the mean of the per-image differences
  gain=$(awk -F, 'FNR == 1 { f++; next } $7 == "ok" { p[f, $1] = $8; n[f]++ }
    END { for (k in p) { split(k, x, SUBSEP); if (x[1] == 2 && ((1, x[2]) in p)) { s += p[2, x[2]] - p[1, x[2]]; m++ } }
          if (m == 2) printf "%.4f", s / m }' "$T/sw/sigma_0.01.csv" "$T/sw/sigma_0.05.csv")
  awk -F, -v g="$gain" 'NR == 1 { ok = $23 == "gain_mean" && $24 == "gain_ci95" }
    NR == 2 { ok = ok && $23 == 0 } NR == 3 { d = $23 - g; ok = ok && g != "" && d < 1e-4 && d > -1e-4 && $24 > 0 }
    END { exit !ok }' "$T/sw/sweep.csv" ||
    bad "sweep.csv's gain over sigma 0.01 should be 0, then the paired mean $gain: $(cut -d, -f23,24 "$T/sw/sweep.csv" | tr '\n' ' ')"
  if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    /usr/bin/python3 "$SRC/scripts/plot_sweep.py" "$T/sw/sweep.csv" -o "$T/sw.png" >/dev/null 2>"$T/plot.err" ||
      bad "plot_sweep.py: $(cat "$T/plot.err")"
    [ -s "$T/sw.png" ] || bad "no plot"
    /usr/bin/python3 "$SRC/scripts/plot_sweep.py" "$T/sw/sweep.csv" --gain -o "$T/swg.png" >/dev/null 2>"$T/plot.err" &&
      [ -s "$T/swg.png" ] || bad "plot_sweep.py --gain: $(cat "$T/plot.err")"
    # a sweep.csv from before the gain columns: --gain says so in one line
    cut -d, -f1-22,25 "$T/sw/sweep.csv" >"$T/old_sweep.csv"
    one_line 1 "plot_sweep.py --gain on a sweep.csv without gain_mean" -- \
      /usr/bin/python3 "$SRC/scripts/plot_sweep.py" "$T/old_sweep.csv" --gain -o "$T/x.png"
  else
    echo "note: /usr/bin/python3 has no matplotlib; plot_sweep.py not run" >&2
  fi
else
  bad "sweep failed: $(cat "$T/sw.err")"
fi

# ---- --range-cache: a range sweep projects each image once, and its rows are the uncached ones --
RG=(--range --range-steps 4 --range-restarts 2 --range-lr 1e-6 "${G[@]}" -n 3 --limit 2)
if "$BIN" sweep "$T/faces" --param sigma --values 0.01,0.05 --out-dir "$T/swn" "${RG[@]}" >/dev/null 2>"$T/swn.err" &&
   "$BIN" sweep "$T/faces" --param sigma --values 0.01,0.05 --out-dir "$T/swc" "${RG[@]}" --range-cache "$T/rc" \
     >/dev/null 2>"$T/swc.err"; then
  [ "$(ls "$T/rc" | grep -c '^range_[0-9a-f]\{16\}\.safetensors$')" -eq 2 ] || bad "range cache: $(ls "$T/rc")"
  grep -q "range images: 0 read from $T/rc, 2 projected and added to it" "$T/swc.err" &&
    grep -q "range images: 2 read from $T/rc, 0 projected and added to it" "$T/swc.err" ||
    bad "range cache: the first value should project 2 images, the second read them: $(cat "$T/swc.err")"
  for v in 0.01 0.05; do
    tail -n +2 "$T/swn/sigma_$v.csv" >"$T/rows_n.csv"
    tail -n +2 "$T/swc/sigma_$v.csv" >"$T/rows_c.csv"
    same_rows "$T/rows_c.csv" "$T/rows_n.csv" >"$T/cmp.txt" || bad "range cache: sigma $v differs: $(cat "$T/cmp.txt")"
    [ "$(cut -d, -f14 "$T/rows_c.csv")" = "$(cut -d, -f14 "$T/rows_n.csv")" ] || bad "range cache: sigma $v: range PSNR differs"
  done
  # a third run reads everything (another noise value: the same range images)
  "$BIN" eval "$T/faces" -o "$T/rc3.csv" "${RG[@]}" --sigma 0.02 --range-cache "$T/rc" >/dev/null 2>"$T/rc3.err" &&
    grep -q "range images: 2 read from" "$T/rc3.err" || bad "range cache, eval: $(cat "$T/rc3.err")"
else
  bad "range sweeps failed: $(cat "$T/swn.err" "$T/swc.err" 2>/dev/null)"
fi
one_line 1 "range cache without --range" -- "$BIN" eval "$T/faces" -o "$T/x.csv" "${G[@]}" --range-cache "$T/rc"

# ---- a restarts sweep with --average-best: points below K average all they have ------------
GR=(--image-gen "$T/gen.safetensors" --blur-gen "$T/blur.safetensors" --device cpu --lr 1e-7)
if "$BIN" sweep "$T/faces" --param restarts --values 1,3 --average-best 2 --out-dir "$T/swr" "${GR[@]}" \
     -n 3 --limit 1 >"$T/swr.out" 2>"$T/swr.err"; then
  grep -q '"average_best"' "$T/swr/restarts_1.csv.json" && bad "restarts 1 claims an average: $(cat "$T/swr/restarts_1.csv.json")"
  grep -q '"average_best": *"2"' "$T/swr/restarts_3.csv.json" || bad "restarts 3 does not record average_best 2"
  [ "$(wc -l < "$T/swr/sweep.csv")" -eq 3 ] || bad "restarts sweep.csv: $(cat "$T/swr/sweep.csv")"
else
  bad "sweep --param restarts --average-best 2 failed: $(cat "$T/swr.err")"
fi

# ---- scripts/lift_by_length.py: one bucket of every length is the CSV's lift; two buckets whose
# edges are lengths of its kernels (seeds 10^9 + 0..5 draw 8, 19, 18, 13, 28, 21) hold all its images
if [ -x /usr/bin/python3 ]; then
  LBL=(/usr/bin/python3 "$SRC/scripts/lift_by_length.py" --gpdeblur "$BIN")
  if "${LBL[@]}" "$T/ref.csv" --buckets 5-28 --csv >"$T/lbl.csv" 2>"$T/lbl.err" &&
     "${LBL[@]}" "$T/ref.csv" --buckets 8-12,13-28 --csv >"$T/lbl2.csv" 2>>"$T/lbl.err"; then
    want=$(awk -F, 'NR > 1 && $7 == "ok" { s += $8 - $17; n++ } END { printf "%d %.4f", n, s / n }' "$T/ref.csv")
    awk -F, -v want="$want" 'NR == 2 { split(want, w, " "); d = $6 - w[2]; if (d < 0) d = -d; ok = $3 == w[1] && d < 1e-3 && $7 > 0 }
      END { exit !ok }' "$T/lbl.csv" || bad "lift_by_length.py over 5-28: $(tail -1 "$T/lbl.csv"), the CSV's ok rows and lift: $want"
    [ "$(awk -F, 'NR > 1 { n += $3 } END { print n }' "$T/lbl2.csv")" = "${want%% *}" ] ||
      bad "lift_by_length.py: two buckets should hold the ${want%% *} images between them: $(cat "$T/lbl2.csv")"
  else
    bad "lift_by_length.py: $(cat "$T/lbl.err")"
  fi
  # results whose kernels are files have no length: one line, before any work
  cp "$T/ref.csv" "$T/kf.csv"
  sed 's/"kernels": "[^"]*"/"kernels": "files fnv1a64:0123456789abcdef (3)"/' "$T/ref.csv.json" >"$T/kf.csv.json"
  one_line 1 "lift_by_length.py on results with kernel files" -- "${LBL[@]}" "$T/kf.csv"
  one_line 1 "lift_by_length.py --buckets 9-5" -- "${LBL[@]}" "$T/ref.csv" --buckets 9-5
fi

exit $fail
