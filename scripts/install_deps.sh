#!/usr/bin/env bash
# Installs the Debian packages gpdeblur needs when they are missing.
# Build: cmake, a C compiler, OpenBLAS, FFTW, stb. Fixtures and the PyTorch
# side of the benchmarks: python3-torch, python3-skimage, python3-matplotlib
# (GPD_PYTHON_DEPS=1). `make fuzz`: clang and its libFuzzer (GPD_FUZZ_DEPS=1).
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in cmake gcc make libopenblas-dev libfftw3-dev libstb-dev libdnnl-dev; do
  have_pkg "$p" || need+=("$p")
done
if [ "${GPD_PYTHON_DEPS:-0}" = 1 ]; then
  for p in python3-torch python3-skimage python3-matplotlib fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf; do
    have_pkg "$p" || need+=("$p")
  done
fi
if [ "${GPD_FUZZ_DEPS:-0}" = 1 ]; then
  for p in clang libclang-rt-14-dev; do
    have_pkg "$p" || need+=("$p")
  done
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >&2
