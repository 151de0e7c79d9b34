#!/usr/bin/env bash
# The shipped weights: each loads, has the architecture weights/README.md
# documents, and reproduces its documented held-out range error on a few
# items (the "test subset" rows of weights/README.md) within 0.3 dB.
# CelebA faces come from ../shared/data (skipped with a message when absent).
set -u
BIN=$1; SRC=$2
W="$SRC/weights"
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# info: architecture in the metadata, and every role loads
check_arch() { # FILE ARCH LATENT
  local json
  json=$("$BIN" info --json "$W/$1") || { bad "$1: gpdeblur info failed"; return; }
  echo "$json" | grep -q "\"arch\": *\"$2\"" || bad "$1: arch is not $2: $json"
  echo "$json" | grep -q "\"latent\": *\"$3\"" || bad "$1: latent is not $3"
}
check_arch blur_vae.safetensors blur_vae 50
check_arch dcgan_celeba64.safetensors dcgan_tf 100
check_arch svhn_vae.safetensors svhn_vae 100

# evalgen's mean range PSNR against the documented value
check_psnr() { # WHAT EXPECTED evalgen-args...
  local what=$1 want=$2 got
  shift 2
  got=$("$BIN" evalgen --device cpu "$@" 2>/dev/null | awk '/^range:/ {print $5}')
  if [ -z "$got" ]; then bad "$what: evalgen printed no range line"; return; fi
  awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; exit !(d < 0.3 && d > -0.3) }' ||
    bad "$what: range PSNR $got dB, documented $want dB"
  echo "$what: range PSNR $got dB (documented $want dB)"
}
check_psnr "blur_vae, held-out kernels 1e9..1e9+49" 42.15 \
  --weights "$W/blur_vae.safetensors" --kernel-seeds 1000000000:1000000050 --steps 200
check_psnr "svhn_vae, rendered test images 1..20" 26.30 \
  --weights "$W/svhn_vae.safetensors" --data "$SRC/tests/fixtures/housenum_test" --range 1:20 \
  --steps 200 --lr 0.05 --restarts 0
CELEBA="$SRC/../shared/data/celeba"
if [ -f "$CELEBA/008010.jpg" ]; then
  check_psnr "dcgan_celeba64, held-out faces 8001..8010" 19.27 \
    --weights "$W/dcgan_celeba64.safetensors" --data "$CELEBA" --celeba-range 8001:8010 \
    --steps 300 --lr 0.05 --restarts 1
else
  echo "SKIP: dcgan_celeba64 range error: $CELEBA not present (held-out faces come from ../shared/data)"
fi
exit $fail
