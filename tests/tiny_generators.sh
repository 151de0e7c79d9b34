# Sourced by CLI tests that need a face folder and generators in the real
# file format without the cost of real ones: five copies of the 64x64
# fixture in $T/faces, and a blur VAE and a DCGAN made by one step of
# `gpdeblur train` ($T/blur.safetensors, $T/gen.safetensors, random-ish
# weights). Needs BIN, SRC and T; exits 77 (skip) when train cannot run.
mkdir -p "$T/faces"
for i in 1 2 3 4 5; do cp "$SRC/tests/fixtures/chelsea_64.png" "$T/faces/00000$i.png"; done
if ! "$BIN" train --arch blur_vae --steps 1 --batch 4 --kernel-seeds 0:8 --width 4 --latent 5 --grid 0 \
      --device cpu --checkpoint-dir "$T/ck1" -o "$T/blur.safetensors" >/dev/null 2>"$T/train.err" ||
   ! "$BIN" train --arch dcgan --data "$T/faces" --steps 1 --batch 2 --width 4 --latent 8 --grid 0 \
      --device cpu --checkpoint-dir "$T/ck2" -o "$T/gen.safetensors" >/dev/null 2>>"$T/train.err"; then
  echo "SKIP: 'gpdeblur train' could not make the test's tiny generators: $(tail -1 "$T/train.err")" >&2
  exit 77
fi
