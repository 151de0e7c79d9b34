#!/usr/bin/env bash
# Nothing the repository ships names a folder of the machine it was made on:
# every tracked text file (docs, scripts, results CSVs and manifests) and the
# metadata of every tracked weights file (`gpdeblur info --json`) are
# searched for absolute paths of this machine: the source tree's own folder
# and its parent, /root/, /home/, and in shipped outputs (weights metadata,
# bench/results, *.md) /tmp/. Paths recorded by gpdeblur are relative to the
# repository (gpd/repo_path.h). Usage: cli_repo_paths.sh path/to/gpdeblur SOURCE_DIR
set -u
BIN=${1:?usage: cli_repo_paths.sh path/to/gpdeblur SOURCE_DIR}
SRC=${2:?usage: cli_repo_paths.sh path/to/gpdeblur SOURCE_DIR}
if ! git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  echo "SKIP: $SRC is not a git checkout (the tracked tree is what ships)"
  exit 77
fi
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

root=$(cd "$SRC" && pwd -P)
parent=$(dirname "$root")
# the machine's folders (a parent of / itself would match every path)
machine=("/root/" "/home/")
[ "$parent" != / ] && machine+=("$parent/")
machine+=("$root/")
shipped_extra=("/tmp/")

# every tracked text file but this test (which names the patterns)
self=tests/$(basename "${BASH_SOURCE[0]}")
for p in "${machine[@]}"; do
  hits=$(git -C "$SRC" grep -nIF -e "$p" -- . ":!$self" | head -5)
  [ -n "$hits" ] && bad "tracked files name '$p':"$'\n'"$hits"
done
# shipped outputs: results, docs
for p in "${shipped_extra[@]}"; do
  hits=$(git -C "$SRC" grep -nIF -e "$p" -- 'bench/results' '*.md' 'weights' | head -5)
  [ -n "$hits" ] && bad "shipped files name '$p':"$'\n'"$hits"
done

# weights metadata (binary files: git grep skips them)
n=0
while IFS= read -r w; do
  [ -n "$w" ] || continue
  json=$("$BIN" info --json "$SRC/$w" 2>&1) || { bad "$w: gpdeblur info failed: $json"; continue; }
  meta=$(printf '%s' "$json" | sed -n 's/.*"metadata":\({[^}]*}\).*/\1/p')
  [ -n "$meta" ] || { bad "$w: no metadata in gpdeblur info --json"; continue; }
  for p in "${machine[@]}" "${shipped_extra[@]}"; do
    case "$meta" in *"$p"*) bad "$w: metadata names '$p': $meta" ;; esac
  done
  # any absolute path: a value, or a word inside one, starting with '/'
  if printf '%s' "$meta" | grep -Eq '":"/|[ (=,]/[A-Za-z]'; then bad "$w: metadata holds an absolute path: $meta"; fi
  n=$((n + 1))
done < <(git -C "$SRC" ls-files -- '*.safetensors' ':!tests/fuzz/regressions/**') # fuzz inputs: broken on purpose
[ "$n" -gt 0 ] || bad "no tracked weights files found"
# the writers: data and weights given by absolute paths are recorded
# relative to the repository (train_data of a new file, an eval manifest)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export GPD_PROGRESS=0
if "$BIN" train --arch dcgan --data "$root/tests/fixtures/housenum_test" --steps 1 --batch 2 --width 4 --latent 8 --ema 0 \
     --grid 0 --device cpu -o "$T/gen.safetensors" >/dev/null 2>"$T/err" &&
   "$BIN" train --arch blur_vae --steps 1 --batch 4 --kernel-seeds 0:8 --width 4 --latent 5 --grid 0 --device cpu \
     -o "$T/blur.safetensors" >/dev/null 2>>"$T/err"; then
  data=$("$BIN" info --json "$T/gen.safetensors" | sed -n 's/.*"train_data":"\([^"]*\)".*/\1/p')
  case "$data" in
    "tests/fixtures/housenum_test: 20 images"*) ;;
    *) bad "train --data $root/tests/fixtures/housenum_test recorded train_data '$data'" ;;
  esac
  if "$BIN" eval "$root/tests/fixtures" -o "$T/r.csv" --image-gen "$T/gen.safetensors" --blur-gen "$T/blur.safetensors" \
       --device cpu -r 1 -n 2 >/dev/null 2>"$T/err"; then
    dir=$(sed -n 's/^ *"dir": "\([^"]*\)".*/\1/p' "$T/r.csv.json")
    [ "$dir" = tests/fixtures ] || bad "eval of $root/tests/fixtures recorded dir '$dir' in its manifest"
    # a report names its results CSVs as given, made relative to the repository
    if "$BIN" eval --summarize "$T/r.csv" --report "$T/r.md" >/dev/null 2>"$T/err"; then
      grep -q "r\.csv" "$T/r.md" || bad "the report does not name its results file"
      if grep -Eq "[ (]$T/" "$T/r.md"; then bad "the report names the absolute path $T/r.csv"; fi
    else
      bad "eval --summarize failed: $(tail -1 "$T/err")"
    fi
  else
    bad "eval failed: $(tail -1 "$T/err")"
  fi
else
  bad "train failed: $(tail -1 "$T/err")"
fi

echo "searched $(git -C "$SRC" ls-files | wc -l) tracked files and the metadata of $n weights files"
exit $fail
