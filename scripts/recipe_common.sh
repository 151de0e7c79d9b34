# Shared by the training / measuring recipes (scripts/train_face_prior.sh,
# scripts/face_prior_curve.sh); sourced, not run.

# recipe_usage SCRIPT ARGS...: with no ARGS or -h / --help, prints the
# script's header comment (its usage) and exits (0 for help, 2 without args).
recipe_usage() {
  local script=$1
  shift
  if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,/^set -euo/p' "$script" | sed '$d; s/^# \{0,1\}//'
    [ $# -ge 1 ] && exit 0 || exit 2
  fi
}

# recipe_gpdeblur NAME: the gpdeblur to run ($GPDEBLUR, else this checkout's
# build/gpdeblur), or exits naming NAME when it is not built.
recipe_gpdeblur() {
  local bin=${GPDEBLUR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/gpdeblur}
  [ -x "$bin" ] || { echo "$1: $bin is not built (cmake --build build, or set GPDEBLUR)" >&2; exit 1; }
  echo "$bin"
}
