#!/usr/bin/env bash
# End-to-end `gpdeblur deblur` and `gpdeblur project` on tiny generators that
# the test makes itself with `gpdeblur train` (one step each: random-ish
# weights, the real file format and loader), then bad inputs, each of which
# must fail with exactly one line on stderr and a non-zero exit.
#   bash tests/cli_deblur.sh path/to/gpdeblur SOURCE_DIR
set -uo pipefail
BIN=${1:?usage: cli_deblur.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_deblur.sh path/to/gpdeblur SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# ---- tiny generators ---------------------------------------------------------
mkdir -p "$T/faces"
cp "$SRC/tests/fixtures/chelsea_64.png" "$T/faces/a.png"
cp "$SRC/tests/fixtures/chelsea_64.png" "$T/faces/b.png"
if ! "$BIN" train --arch blur_vae --steps 1 --batch 4 --kernel-seeds 0:8 --width 4 --latent 5 --grid 0 \
      --device cpu --checkpoint-dir "$T/ck1" -o "$T/blur.safetensors" >/dev/null 2>"$T/train.err" ||
   ! "$BIN" train --arch dcgan --data "$T/faces" --steps 1 --batch 2 --width 4 --latent 8 --grid 0 \
      --device cpu --checkpoint-dir "$T/ck2" -o "$T/gen.safetensors" >/dev/null 2>>"$T/train.err"; then
  echo "SKIP: 'gpdeblur train' could not make the test's tiny generators: $(tail -1 "$T/train.err")" >&2
  exit 77
fi
G=(--image-gen "$T/gen.safetensors" --blur-gen "$T/blur.safetensors" --device cpu)
# a kernel of one pixel, to crop / resize images without blurring them
printf 'gpdeblur-kernel 1 1\n1\n' > "$T/one.kernel"

"$BIN" blur "$SRC/tests/fixtures/chelsea_64.png" --seed 3 -o "$T/blurry.png" 2>/dev/null || bad "blur (circular)"
"$BIN" blur "$SRC/tests/fixtures/chelsea_64.png" --seed 3 --boundary linear -o "$T/blurry37.png" 2>/dev/null ||
  bad "blur (linear)"

json_ok() { # FILE KEY...: the file's last line is one JSON object with these keys
  local line
  line=$(tail -1 "$1")
  case "$line" in "{"*"}") ;; *) bad "$1: last stdout line is not a JSON object: $line"; return ;; esac
  shift
  for k in "$@"; do
    case "$line" in *"\"$k\":"*) ;; *) bad "JSON lacks \"$k\": $line" ;; esac
  done
}

# ---- each algorithm, a few steps (the random blur VAE's kernels are large,
# so the steps are small; this checks the plumbing, not the quality) ---------
for alg in naive 1 2; do
  extra=()
  [ "$alg" != naive ] && extra=(--kernel-out "$T/k_$alg.kernel")
  if "$BIN" deblur "$T/blurry.png" -o "$T/out_$alg.png" --alg "$alg" "${G[@]}" --restarts 3 --steps 6 \
       --lr 1e-7 --adam-lr 1e-3 --seed 2 --truth "$SRC/tests/fixtures/chelsea_64.png" --range-out "$T/range_$alg.png" \
       --log "$T/log_$alg.csv" --log-every 2 "${extra[@]}" >"$T/out_$alg.json" 2>"$T/err_$alg.txt"; then
    json_ok "$T/out_$alg.json" alg chosen averaged measurement total diverged restart_iterations seconds psnr ssim graph_launches graph_capture_failures
    grep -q "\"alg\":\"$alg\"" "$T/out_$alg.json" || bad "alg $alg: JSON names another algorithm"
    grep -q '"averaged":1,' "$T/out_$alg.json" || bad "alg $alg: the result is not the best restart alone"
    grep -q '"graph_launches":0,"graph_capture_failures":0' "$T/out_$alg.json" || bad "alg $alg: graphs reported on the CPU"
    grep -q '"restart_iterations":18,' "$T/out_$alg.json" || bad "alg $alg: 3 restarts x 6 steps are not 18"
    grep -q '"psnr":-\?[0-9]' "$T/out_$alg.json" || bad "alg $alg: no PSNR with --truth"
    [ -s "$T/out_$alg.png" ] || bad "alg $alg: no output image"
    [ -s "$T/range_$alg.png" ] || bad "alg $alg: no range image"
    head -1 "$T/log_$alg.csv" | grep -q '^step,measurement0,measurement1,measurement2,total0,total1,total2$' ||
      bad "alg $alg: log header: $(head -1 "$T/log_$alg.csv")"
    # steps 0, 2, 4 and the final point 6
    [ "$(wc -l < "$T/log_$alg.csv")" -eq 5 ] || bad "alg $alg: log has $(wc -l < "$T/log_$alg.csv") lines, expected 5"
    if [ "$alg" != naive ]; then
      head -1 "$T/k_$alg.kernel" | grep -q '^gpdeblur-kernel 1 28' || bad "alg $alg: kernel file header"
      [ -s "$T/k_$alg.png" ] || bad "alg $alg: no kernel PNG"
    fi
  else
    bad "alg $alg failed: $(cat "$T/err_$alg.txt")"
  fi
done

sum_of() { awk 'NR > 1 { for (i = 1; i <= NF; i++) s += $i } END { printf "%.4f", s }' "$1"; }
# deblur's JSON line -> two lines, "chosen":N and "measurement":X (both must be there)
chosen_and_measurement() { grep -o '"chosen":[0-9]*\|"measurement":[^,]*' "$1"; }
# --kernel-scale: the default returns the kernel summing to 1, raw the solve's own
# (the random blur VAE's kernels sum to far more than 1)
if "$BIN" deblur "$T/blurry.png" -o "$T/out_raw.png" --alg 1 "${G[@]}" --restarts 3 --steps 6 --lr 1e-7 --seed 2 \
     --kernel-scale raw --kernel-out "$T/k_raw.kernel" >"$T/out_raw.json" 2>"$T/err_raw.txt"; then
  [ "$(sum_of "$T/k_1.kernel")" = 1.0000 ] || bad "--kernel-scale unit: the kernel sums to $(sum_of "$T/k_1.kernel")"
  awk -v s="$(sum_of "$T/k_raw.kernel")" 'BEGIN { exit !(s > 1.01 || s < 0.99) }' ||
    bad "--kernel-scale raw: the kernel sums to $(sum_of "$T/k_raw.kernel"), the test needs a generator that does not make 1"
else
  bad "--kernel-scale raw failed: $(cat "$T/err_raw.txt")"
fi

# --average-best: the mean of the 3 restarts, said in the JSON; the best restart and its losses
# are still the ones reported, and the mean kernel sums to 1 (test_solver_groups checks the mean)
if "$BIN" deblur "$T/blurry.png" -o "$T/out_avg.png" --alg 1 "${G[@]}" --restarts 3 --steps 6 --lr 1e-7 --seed 2 \
     --average-best 3 --kernel-out "$T/k_avg.kernel" >"$T/out_avg.json" 2>"$T/err_avg.txt"; then
  grep -q '"averaged":3,' "$T/out_avg.json" || bad "--average-best 3: $(cat "$T/out_avg.json")"
  chosen_and_measurement "$T/out_avg.json" > "$T/avg.txt"
  chosen_and_measurement "$T/out_1.json" > "$T/one.txt"
  [ "$(wc -l < "$T/one.txt")" -eq 2 ] && cmp -s "$T/avg.txt" "$T/one.txt" || bad "--average-best 3: $(cat "$T/avg.txt") is not the best alone's $(cat "$T/one.txt")"
  [ "$(sum_of "$T/k_avg.kernel")" = 1.0000 ] || bad "--average-best 3: the kernel sums to $(sum_of "$T/k_avg.kernel")"
else
  bad "--average-best failed: $(cat "$T/err_avg.txt")"
fi

# --polish: Algorithm 2's non-blind finish changes the image, not the choice of restart or its
# losses (test_solver_groups checks what it computes)
if "$BIN" deblur "$T/blurry.png" -o "$T/out_np.png" --alg 2 "${G[@]}" --restarts 2 --steps 6 --seed 2 \
     >"$T/out_np.json" 2>"$T/err_np.txt" &&
   "$BIN" deblur "$T/blurry.png" -o "$T/out_po.png" --alg 2 "${G[@]}" --restarts 2 --steps 6 --seed 2 \
     --polish 40 --polish-lr 0.01 >"$T/out_po.json" 2>"$T/err_po.txt"; then
  chosen_and_measurement "$T/out_np.json" > "$T/np.txt"
  chosen_and_measurement "$T/out_po.json" > "$T/po.txt"
  [ "$(wc -l < "$T/np.txt")" -eq 2 ] && cmp -s "$T/np.txt" "$T/po.txt" ||
    bad "--polish changed the restart or its losses: $(cat "$T/po.txt") against $(cat "$T/np.txt")"
  ! cmp -s "$T/out_np.png" "$T/out_po.png" || bad "--polish 40 left the image as it was"
else
  bad "deblur --polish failed: $(cat "$T/err_np.txt" "$T/err_po.txt")"
fi

# --restarts-out: every restart in the folder, best first; rank 0 is the result (the best alone),
# the CSV lists them with their files, measurements in order, PSNR with --truth, kernels summing to 1
if "$BIN" deblur "$T/blurry.png" -o "$T/out_ro.png" --alg 2 "${G[@]}" --restarts 3 --steps 6 --adam-lr 1e-3 --seed 2 \
     --truth "$SRC/tests/fixtures/chelsea_64.png" --kernel-out "$T/k_ro.kernel" --restarts-out "$T/ro" \
     >"$T/out_ro.json" 2>"$T/err_ro.txt"; then
  csv="$T/ro/restarts.csv"
  head -1 "$csv" | grep -qx 'rank,restart,measurement,total,psnr,ssim,image,range_image,kernel' ||
    bad "--restarts-out: CSV header $(head -1 "$csv")"
  [ "$(wc -l < "$csv")" -eq 4 ] || bad "--restarts-out: $(($(wc -l < "$csv") - 1)) rows for 3 restarts"
  chosen=$(grep -o '"chosen":[0-9]*' "$T/out_ro.json" | cut -d: -f2)
  [ "$(awk -F, 'NR == 2 { print $2 }' "$csv")" = "$chosen" ] || bad "--restarts-out: rank 0 is not the chosen restart $chosen"
  awk -F, 'NR > 2 && $3 < prev { exit 1 } NR > 1 { prev = $3 }' "$csv" || bad "--restarts-out: measurements out of order"
  awk -F, 'NR > 1 && ($5 == "" || $6 == "") { exit 1 }' "$csv" || bad "--restarts-out: no PSNR / SSIM with --truth"
  cmp -s "$T/ro/00.png" "$T/out_ro.png" || bad "--restarts-out: rank 0's image is not the result"
  cmp -s "$T/ro/00_kernel.kernel" "$T/k_ro.kernel" || bad "--restarts-out: rank 0's kernel is not the result's"
  for r in 00 01 02; do
    [ -s "$T/ro/${r}.png" ] && [ -s "$T/ro/${r}_range.png" ] && [ -s "$T/ro/${r}_kernel.png" ] ||
      bad "--restarts-out: rank $r's files are missing"
    [ "$(sum_of "$T/ro/${r}_kernel.kernel")" = 1.0000 ] || bad "--restarts-out: rank $r's kernel sums to $(sum_of "$T/ro/${r}_kernel.kernel")"
  done
else
  bad "--restarts-out failed: $(cat "$T/err_ro.txt")"
fi

# the halving schedule: 4 restarts, points at 2 and 4 of 8 steps: 4 x 2 + 2 x 2 + 1 x 4 restart-iterations;
# the log keeps a column per restart (nan once it stopped)
if "$BIN" deblur "$T/blurry.png" -o "$T/out_half.png" --alg 2 "${G[@]}" --restarts 4 --steps 8 --adam-lr 1e-3 \
     --schedule halving --halving-at 0.25,0.5 --log "$T/log_half.csv" --log-every 1 >"$T/out_half.json" 2>"$T/err_half.txt"; then
  grep -q '"restart_iterations":16,' "$T/out_half.json" || bad "halving: $(cat "$T/out_half.json")"
  [ "$(tail -1 "$T/log_half.csv" | tr ',' '\n' | sed -n 2,5p | grep -vc nan)" -eq 1 ] ||
    bad "halving: the final log row should have one restart left: $(tail -1 "$T/log_half.csv")"
else
  bad "halving failed: $(cat "$T/err_half.txt")"
fi

# Algorithm 3: its own untrained generator, on a gray 32x32 crop
"$BIN" blur "$SRC/tests/fixtures/chelsea_64.png" --gray --kernel "$T/one.kernel" --sigma 0 --crop-resize 64:32 \
  -o "$T/gray32.png" 2>/dev/null || bad "making a 32x32 gray image"
if "$BIN" deblur "$T/gray32.png" -o "$T/out_3.png" --alg 3 --blur-gen "$T/blur.safetensors" --device cpu \
     --restarts 2 --steps 3 --fit-steps 2 --untrained-width 4 --untrained-latent 8 --lr-z 1e-6 \
     --kernel-out "$T/k_3.kernel" >"$T/out_3.json" 2>"$T/err_3.txt"; then
  json_ok "$T/out_3.json" alg chosen measurement total diverged seconds psnr ssim graph_launches graph_capture_failures
  grep -q '"psnr":null' "$T/out_3.json" || bad "alg 3: PSNR without --truth should be null"
else
  bad "alg 3 failed: $(cat "$T/err_3.txt")"
fi

# Algorithm 3's checkpoints: a run stopped after step 7 of its first restart
# (GPD_TEST_ALG3_STOP_AT: saved, then an error, as a kill after a save
# leaves it), run again, ends bit for bit where the uninterrupted run does,
# and leaves no file behind; a file of another solve is refused
A3=(--alg 3 --blur-gen "$T/blur.safetensors" --device cpu --restarts 2 --steps 20 --fit-steps 3 --untrained-width 4
    --untrained-latent 8 --kernel-out "$T/k_a3.kernel")
if "$BIN" deblur "$T/gray32.png" -o "$T/a3_whole.png" "${A3[@]}" >"$T/a3_whole.json" 2>"$T/a3.err"; then
  cp "$T/k_a3.kernel" "$T/k_a3_whole.kernel"
  if GPD_TEST_ALG3_STOP_AT=7 "$BIN" deblur "$T/gray32.png" -o "$T/a3_cont.png" "${A3[@]}" --checkpoint-dir "$T/ck" \
       >/dev/null 2>"$T/a3.err"; then
    bad "alg 3 checkpoints: the stopped run exited 0"
  fi
  grep -q "stopped after step 7 of its main phase" "$T/a3.err" || bad "alg 3 checkpoints: $(cat "$T/a3.err")"
  [ "$(ls "$T/ck" | grep -c '^alg3_[0-9a-f]\{16\}_r0\.safetensors$')" -eq 1 ] || bad "alg 3 checkpoints: no file for restart 0: $(ls "$T/ck")"
  if "$BIN" deblur "$T/gray32.png" -o "$T/a3_cont.png" "${A3[@]}" --checkpoint-dir "$T/ck" \
       >"$T/a3_cont.json" 2>"$T/a3.err"; then
    cmp -s "$T/a3_whole.png" "$T/a3_cont.png" || bad "alg 3 checkpoints: the continued image differs"
    cmp -s "$T/k_a3_whole.kernel" "$T/k_a3.kernel" || bad "alg 3 checkpoints: the continued kernel differs"
    for key in measurement total restart_iterations chosen; do
      [ "$(grep -o "\"$key\":[^,]*" "$T/a3_whole.json")" = "$(grep -o "\"$key\":[^,]*" "$T/a3_cont.json")" ] ||
        bad "alg 3 checkpoints: $key $(grep -o "\"$key\":[^,]*" "$T/a3_cont.json") against $(grep -o "\"$key\":[^,]*" "$T/a3_whole.json")"
    done
    [ -z "$(ls "$T/ck")" ] || bad "alg 3 checkpoints: files left: $(ls "$T/ck")"
  else
    bad "alg 3 checkpoints: the continued run failed: $(cat "$T/a3.err")"
  fi
  # the file of restart 0 with another solve's fingerprint inside: refused, one line
  GPD_TEST_ALG3_STOP_AT=1 "$BIN" deblur "$T/gray32.png" -o "$T/a3_cont.png" "${A3[@]}" --checkpoint-dir "$T/ck" \
    >/dev/null 2>&1
  f=$(ls "$T/ck"/alg3_*_r0.safetensors 2>/dev/null | head -n 1)
  if [ -n "$f" ]; then
    # the same name, a fingerprint inside that is not its own (the same length: the header stays valid)
    sed -i 's/"fingerprint":"alg3_[0-9a-f]\{16\}/"fingerprint":"alg3_ffffffffffffffff/' "$f"
    if "$BIN" deblur "$T/gray32.png" -o "$T/a3_cont.png" "${A3[@]}" --checkpoint-dir "$T/ck" >/dev/null 2>"$T/a3.err"; then
      bad "alg 3 checkpoints: another solve's file was continued"
    fi
    [ "$(wc -l < "$T/a3.err")" -eq 1 ] && grep -q "made by another solve" "$T/a3.err" ||
      bad "alg 3 checkpoints: another solve's file: $(cat "$T/a3.err")"
  else
    bad "alg 3 checkpoints: no file after a stop at step 1"
  fi
else
  bad "alg 3 (for checkpoints) failed: $(cat "$T/a3.err")"
fi

# linear boundary: a 37x37 blurry image, a 64x64 result
if "$BIN" deblur "$T/blurry37.png" -o "$T/out_lin.png" --boundary linear "${G[@]}" --restarts 2 --steps 3 --lr 1e-7 \
     >"$T/out_lin.json" 2>"$T/err_lin.txt"; then
  json_ok "$T/out_lin.json" alg measurement
  "$BIN" metrics "$T/out_lin.png" "$SRC/tests/fixtures/chelsea_64.png" >/dev/null 2>&1 ||
    bad "linear boundary: the result is not 64x64 like the generator"
else
  bad "linear boundary failed: $(cat "$T/err_lin.txt")"
fi

# range projection (on one thread: --threads)
if "$BIN" project "$SRC/tests/fixtures/chelsea_64.png" -o "$T/proj.png" --image-gen "$T/gen.safetensors" \
     --device cpu --threads 1 --restarts 2 --steps 5 >"$T/proj.json" 2>"$T/proj.err"; then
  json_ok "$T/proj.json" psnr range_error chosen seconds graph_launches graph_capture_failures
  grep -q '"psnr":[0-9]' "$T/proj.json" || bad "project: no PSNR"
  grep -q 'range error: PSNR' "$T/proj.err" || bad "project: no range error line on stderr"
else
  bad "project failed: $(cat "$T/proj.err")"
fi

# groups on threads (forked CPU engines): the plan is said on stderr and the
# result is the single batch's
if GPD_SOLVER_THREADS=2 "$BIN" deblur "$T/blurry.png" -o "$T/out_thr.png" --alg 1 "${G[@]}" --restarts 3 --steps 6 \
     --lr 1e-7 --seed 2 >"$T/out_thr.json" 2>"$T/err_thr.txt"; then
  grep -q '^memory: 3 restarts need [0-9.]* MiB, [0-9.]* [MG]iB free: running 2 groups of 2, 2 at a time$' \
    "$T/err_thr.txt" || bad "threads: no plan line on stderr: $(cat "$T/err_thr.txt")"
  chosen_and_measurement "$T/out_thr.json" > "$T/thr.txt"
  chosen_and_measurement "$T/out_1.json" > "$T/one.txt"
  [ "$(wc -l < "$T/one.txt")" -eq 2 ] && cmp -s "$T/thr.txt" "$T/one.txt" || bad "threads: $(cat "$T/thr.txt") differs from one batch's $(cat "$T/one.txt")"
  cmp -s "$T/out_thr.png" "$T/out_1.png" || bad "threads: the image differs from one batch's"
else
  bad "GPD_SOLVER_THREADS=2 failed: $(cat "$T/err_thr.txt")"
fi

# progress when stderr is a file (a log, a batch job's output): whole lines,
# no carriage returns or escapes, the last at 100 %; a short run (under
# GPD_PROGRESS_EVERY, default a minute) writes nothing
if GPD_PROGRESS_EVERY=0 "$BIN" deblur "$T/blurry.png" -o "$T/out_log.png" --alg 1 "${G[@]}" --lr 1e-7 --restarts 2 --steps 6 \
     >/dev/null 2>"$T/err_log.txt"; then
  [ "$(grep -c '^deblur: ' "$T/err_log.txt")" -ge 2 ] || bad "progress lines: fewer than 2 in $(cat "$T/err_log.txt")"
  ! grep -q $'[\r\033]' "$T/err_log.txt" || bad "progress lines: control characters in the log"
  tail -n 1 "$T/err_log.txt" | grep -q '^deblur: 100% 6/6 .* it/s elapsed [0-9]*:[0-9][0-9] ETA 0:00' ||
    bad "progress lines: the last is not 100 %: $(tail -n 1 "$T/err_log.txt")"
else
  bad "deblur with progress lines failed: $(cat "$T/err_log.txt")"
fi
if "$BIN" deblur "$T/blurry.png" -o "$T/out_log.png" --alg 1 "${G[@]}" --lr 1e-7 --restarts 2 --steps 6 >/dev/null 2>"$T/err_log.txt"; then
  [ ! -s "$T/err_log.txt" ] || bad "a short run wrote progress to a log: $(cat "$T/err_log.txt")"
else
  bad "deblur (short, no progress) failed: $(cat "$T/err_log.txt")"
fi

# ---- bad inputs: one line, non-zero exit ----------------------------------
expect_fail() { # WHAT EXPECTED-TEXT command...
  local what=$1 want=$2
  shift 2
  "$@" >"$T/bad.out" 2>"$T/bad.err"
  local rc=$?
  [ $rc -ne 0 ] || bad "$what: exit 0"
  [ "$(wc -l < "$T/bad.err")" -eq 1 ] || bad "$what: stderr is not one line: $(cat "$T/bad.err")"
  grep -qF -- "$want" "$T/bad.err" || bad "$what: stderr '$(cat "$T/bad.err")' lacks '$want'"
  [ ! -s "$T/bad.out" ] || bad "$what: printed on stdout: $(cat "$T/bad.out")"
}
"$BIN" blur "$SRC/tests/fixtures/chelsea_64.png" --kernel "$T/one.kernel" --sigma 0 --crop-resize 64:32 \
  -o "$T/rgb32.png" 2>/dev/null || bad "making a 32x32 image"
"$BIN" blur "$SRC/tests/fixtures/chelsea_64.png" --kernel "$T/one.kernel" --sigma 0 --crop-resize 64:20 \
  -o "$T/rgb20.png" 2>/dev/null || bad "making a 20x20 image"
expect_fail "kernel picture over the output" "would write its picture $T/x.png over another output" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --steps 1 --kernel-out "$T/x.kernel"
expect_fail "size the generator cannot make" "image is 32x32x3 but the image generator makes 64x64x3 (circular boundary)" \
  "$BIN" deblur "$T/rgb32.png" -o "$T/x.png" "${G[@]}" --steps 1
expect_fail "linear size" "linear boundary: the blurry image must be 37x37x3" \
  "$BIN" deblur "$T/rgb32.png" -o "$T/x.png" "${G[@]}" --steps 1 --boundary linear
expect_fail "blur VAE as image generator" "holds the blur VAE, not an image generator" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --image-gen "$T/blur.safetensors" --blur-gen "$T/blur.safetensors" --device cpu
expect_fail "image generator as blur generator" "holds a dcgan_tf image generator, not the blur VAE" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --image-gen "$T/gen.safetensors" --blur-gen "$T/gen.safetensors" --device cpu
expect_fail "a size no shipped generator makes" "no shipped image generator makes 20x20x3 images (circular boundary): the shipped ones make 64x64x3 (dcgan_celeba64) and 32x32x3 (svhn_vae); pass --image-gen FILE, or --alg 3 --boundary linear for a photo of any size" \
  "$BIN" deblur "$T/rgb20.png" -o "$T/x.png" --blur-gen "$T/blur.safetensors" --device cpu --steps 1
expect_fail "kernel that does not fit" "the blur generator's 28x28 kernel does not fit a 20x20 image" \
  "$BIN" deblur "$T/rgb20.png" -o "$T/x.png" --alg 3 --blur-gen "$T/blur.safetensors" --device cpu --steps 1
cp "$SRC/tests/fixtures/chelsea_64.png" "$T/gen.png"
expect_fail "not a weights file" "$T/gen.png" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --image-gen "$T/gen.png" --blur-gen "$T/blur.safetensors" --device cpu
expect_fail "missing default weights" "the default blur generator $T/none/blur_vae.safetensors is missing" \
  env GPD_WEIGHTS_DIR="$T/none" "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --device cpu
expect_fail "bad option value" "--restarts" "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --restarts 0
expect_fail "unknown algorithm" "--alg: '4' is not naive, 1, 2 or 3" "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --alg 4
expect_fail "memory limit below one restart" "memory: one restart needs" \
  env GPD_MEMORY_LIMIT_MB=1 "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --steps 1
expect_fail "tf32 on the CPU" "--precision tf32 is a GPU tensor-core mode" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --device cpu --precision tf32
expect_fail "bf16 on ref" "the ref engine computes in fp32 only" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --device ref --precision bf16
expect_fail "bad precision" "--precision: 'fp64' is not fp32, tf32 or bf16" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --precision fp64
expect_fail "no threads" "--threads: 0 is outside [1, 1024]" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --threads 0
expect_fail "threads not a number (train)" "--threads: 'two' is not an integer" \
  "$BIN" train --arch dcgan --data "$T/faces" --threads two -o "$T/x.safetensors"
expect_fail "too many threads (evalgen)" "--threads: 5000 is outside [1, 1024]" \
  "$BIN" evalgen --weights "$T/gen.safetensors" --threads 5000
expect_fail "bad precision (project)" "--precision: 'half' is not fp32, tf32 or bf16" \
  "$BIN" project "$SRC/tests/fixtures/chelsea_64.png" -o "$T/x.png" --image-gen "$T/gen.safetensors" --precision half
expect_fail "halving with Algorithm 3" "Algorithm 3 runs its restarts one after another" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --alg 3 --schedule halving --blur-gen "$T/blur.safetensors" --device cpu
expect_fail "bad schedule" "--schedule: 'half' is not full or halving" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --schedule half
expect_fail "bad kernel scale" "--kernel-scale: 'half' is not unit or raw" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --kernel-scale half
expect_fail "bad restart choice" "--select: 'best' is not measurement or total" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --select best
expect_fail "bad free-image start" "--init-image: 'y' is not noise or blurry" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --init-image y
expect_fail "negative Adam decay" "--adam-lr-decay" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --adam-lr-decay -5
expect_fail "anneal beyond the run" "--adam-lr-anneal" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --adam-lr-anneal 1.5
expect_fail "polishing Algorithm 1" "the non-blind finish (polish) is for Algorithm 2" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 1 --polish 5
expect_fail "negative polish" "--polish" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --polish -5
expect_fail "polish without a step" "--polish-lr" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --polish 5 --polish-lr 0
expect_fail "averaging no restart" "--average-best" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --average-best 0
expect_fail "averaging more restarts than run" "average_best must be between 1 and the restarts (2; got 3)" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --restarts 2 --average-best 3
expect_fail "averaging Algorithm 3's restarts" "Algorithm 3 returns one restart" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --alg 3 --device cpu --restarts 2 --average-best 2
expect_fail "averaging at the raw kernel scale" "cannot keep the raw kernel scale" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --average-best 2 --kernel-scale raw
expect_fail "every restart of Algorithm 3" "--restarts-out: Algorithm 3 keeps only the best restart's outputs" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --alg 3 --device cpu --restarts-out "$T/ro3"
expect_fail "every restart at the raw kernel scale" "--restarts-out writes every restart at --kernel-scale unit" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --restarts-out "$T/ro3" --kernel-scale raw
expect_fail "every restart into a missing folder" "--restarts-out '$T/none/ro': the folder '$T/none' does not exist" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --restarts-out "$T/none/ro"
expect_fail "negative kernel Adam step" "--adam-lr-kernel" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --alg 2 --adam-lr-kernel -0.1
expect_fail "bad halving points" "--halving-at: the points must increase" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --halving-at 0.5,0.2
expect_fail "all restarts diverge" "restarts diverged" \
  "$BIN" deblur "$T/blurry.png" -o "$T/x.png" "${G[@]}" --restarts 2 --steps 20 --lr 1e3
# an encoder-only blur VAE file (the decoder's tensors removed)
if /usr/bin/python3 - "$T/blur.safetensors" "$T/encoder.safetensors" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n]); data = raw[8 + n:]
out, blob = {}, b""
for name, t in head.items():
    if name == "__metadata__": out[name] = t; continue
    if not name.startswith("encoder."): continue
    b, e = t["data_offsets"]; out[name] = dict(t, data_offsets=[len(blob), len(blob) + e - b]); blob += data[b:e]
h = json.dumps(out).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + blob)
EOF
then
  expect_fail "encoder-only file" "has no decoder.* tensors" \
    "$BIN" deblur "$T/blurry.png" -o "$T/x.png" --image-gen "$T/gen.safetensors" --blur-gen "$T/encoder.safetensors" --device cpu
else
  echo "note: /usr/bin/python3 unavailable; the encoder-only case was not run" >&2
fi

[ $fail -eq 0 ] && echo "cli_deblur: all checks passed" >&2
exit $fail
