#!/usr/bin/env bash
# Before a device run: the tracked folders no device run reads (docs/ with the evaluation
# records, the C core's golden vectors and the fuzz corpus, 24 MB together) moved out of
# the working tree into .slim/ (ignored), so that each call's 64 MiB holds about 31 MiB
# of carried files beside the tree instead of 9; `back` returns them. (docs/ and fuzz/
# beside docs/eval since phase 33: the data set with Tux Paint's stamps needed their
# 0.6 MB in a chunk call.)
#   bash training/tools/slim_tree.sh out
#   JUDGES=1 bash training/tools/slim_tree.sh out   # the judges too (a chunk call)
#   MODEL=FILE JUDGES=1 bash training/tools/slim_tree.sh out   # and FILE in place of the
#       tree's model file for the calls (a run that goes on with another text encoder: the
#       denoiser reads the tree's, tools/carry.py); back returns the tree's own
#   bash training/tools/slim_tree.sh back     # after the last device call, before any commit
# While the tree is slim, git status lists their files as deleted: commit only named
# paths then (never -a), or run `back` first; `git checkout -- docs tests/golden fuzz`
# restores them from the history too (docs/ and fuzz/ whole). (A fresh device machine still listed docs/eval
# when the tree was slim, on 2026-12-02: the size limit counted only what was here.
# Nothing a device run does reads these folders.)
set -eu
# MODEL as given, from where this was called
[ -z "${MODEL:-}" ] || MODEL=$(realpath -m "$MODEL")
cd "$(dirname "$0")/../.."
S=.slim
PATHS="docs tests/golden fuzz"
TREE_MODEL=data/models/dir7-default.safetensors
# JUDGES=1 (out): training/judges too (12 MB), for calls that only train
# (device_train.sh chunk); back returns it whenever it is out
if [ "${JUDGES:-0}" = 1 ] || [ "${1:-}" = back ]; then PATHS="$PATHS training/judges"; fi
case "${1:-}" in
out)
  [ -e "$S" ] && { echo "slim_tree: $S/ is there already: run 'back' first" >&2; exit 1; }
  for p in $PATHS; do
    [ -d "$p" ] || { echo "slim_tree: $p is missing" >&2; exit 1; }
  done
  [ -z "${MODEL:-}" ] || [ -f "$MODEL" ] || { echo "slim_tree: MODEL=$MODEL is not a file" >&2; exit 1; }
  for p in $PATHS; do
    mkdir -p "$S/$(dirname "$p")"
    mv "$p" "$S/$p"
  done
  echo "slim_tree: $PATHS moved to $S/ (put back: bash training/tools/slim_tree.sh back)"
  if [ -n "${MODEL:-}" ]; then
    mkdir -p "$S/$(dirname "$TREE_MODEL")"
    mv "$TREE_MODEL" "$S/$TREE_MODEL"
    cp "$MODEL" "$TREE_MODEL"
    echo "slim_tree: $MODEL in place of $TREE_MODEL for the calls"
  fi
  ;;
back)
  [ -d "$S" ] || { echo "slim_tree: nothing to put back"; exit 0; }
  for p in $PATHS; do
    [ -e "$S/$p" ] || continue
    if [ -e "$p" ]; then   # restored meanwhile (git checkout): that copy stays, and so does ours
      echo "slim_tree: $p is there already; $S/$p left for you to compare" >&2
      continue
    fi
    mv "$S/$p" "$p"
  done
  # the tree's own model file over the calls' copy (MODEL=, out)
  [ -e "$S/$TREE_MODEL" ] && mv -f "$S/$TREE_MODEL" "$TREE_MODEL" && echo "slim_tree: $TREE_MODEL back"
  find "$S" -depth -type d -empty -delete
  [ -e "$S" ] || echo "slim_tree: $PATHS back"
  ;;
*)
  echo "usage: slim_tree.sh out|back" >&2; exit 2
  ;;
esac
