#!/usr/bin/env bash
# File the one-draw test (device_train.sh onedraw, or shiptest with the evalset carried:
# DEVICE_DIR/onedraw.tar) in docs/eval/PHASE/onedraw/: each new file's rows and metrics
# per judge (per-prompt-NAME-J.jsonl, metrics-NAME-J.json), its 128 drawn probe emoji
# (drawn-128-NAME.json) and its sample grid (samples-NAME.png), and compare.md: each new
# file against every other file named (tools/compare_eval.py).
#   bash training/tools/file_onedraw.sh DEVICE_DIR PHASE TREE CAND [REF:REF_PHASE ...]
#   e.g. file_onedraw.sh /work/.device/6 phase55 p55a p50 p50:phase50 p42:phase42
# TREE names the tree's model file in that call, CAND the carried one beside it. A file
# named among the REFs is not filed again: its rows must be byte for byte those filed in
# docs/eval/REF_PHASE/onedraw/ (the same prompts, seeds and judges), or nothing is filed.
# A REF that is neither TREE nor CAND is only compared with (its filed rows).
set -eu
[ $# -ge 4 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
DEV=$(realpath "$1"); PHASE=$2; TREE=$3; CAND=$4; shift 4
cd "$(dirname "$0")/../.."
ROOT=$PWD
[ -f "$DEV/onedraw.tar" ] || { echo "file_onedraw: $DEV/onedraw.tar is missing" >&2; exit 1; }
declare -A REF_PHASE   # name -> the phase its rows are filed in
REFS=()
for r in "$@"; do
  case $r in *:*) ;; *) echo "file_onedraw: $r is not NAME:PHASE" >&2; exit 2 ;; esac
  REF_PHASE[${r%%:*}]=${r#*:}; REFS+=("${r%%:*}")
done
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
tar xf "$DEV/onedraw.tar" -C "$TMP"
OD=$TMP/onedraw

# the run names its folders PREFIX-JUDGE: the tree's file dir7-default, the carried one
# dir7-NAME (shiptest's and onedraw's copy of CAND as runs/dir7-NAME.safetensors)
JUDGES=()
for d in "$OD"/dir7-default-*/; do
  [ -f "$d/per-prompt.jsonl" ] && JUDGES+=("$(basename "$d" | sed 's/^dir7-default-//')")
done
[ ${#JUDGES[@]} -gt 0 ] || { echo "file_onedraw: no rows of the tree's file in onedraw.tar" >&2; exit 1; }
cand_prefix=
for d in "$OD"/*-"${JUDGES[0]}"/; do
  p=$(basename "$d"); p=${p%-"${JUDGES[0]}"}
  [ "$p" = dir7-default ] && continue
  [ -z "$cand_prefix" ] || { echo "file_onedraw: more than one carried file in onedraw.tar" >&2; exit 1; }
  cand_prefix=$p
done
[ -n "$cand_prefix" ] || { echo "file_onedraw: no rows of the carried file in onedraw.tar" >&2; exit 1; }
declare -A PREFIX=([$TREE]=dir7-default [$CAND]=$cand_prefix)
for n in "$TREE" "$CAND"; do
  for j in "${JUDGES[@]}"; do
    [ -f "$OD/${PREFIX[$n]}-$j/per-prompt.jsonl" ] ||
      { echo "file_onedraw: $n has no $j rows in onedraw.tar" >&2; exit 1; }
  done
done

# a file already filed must have drawn the same rows again
NEW=()
bad=0
for n in "$TREE" "$CAND"; do
  if [ -n "${REF_PHASE[$n]:-}" ]; then
    for j in "${JUDGES[@]}"; do
      ref=docs/eval/${REF_PHASE[$n]}/onedraw/per-prompt-$n-$j.jsonl
      if cmp -s "$OD/${PREFIX[$n]}-$j/per-prompt.jsonl" "$ref"; then
        echo "$n $j: rows = ${REF_PHASE[$n]}'s"
      else
        echo "file_onedraw: $n $j: rows differ from $ref" >&2; bad=1
      fi
    done
  else
    NEW+=("$n")
  fi
done
[ $bad = 0 ] || { echo "file_onedraw: not filed (the draws are not the filed ones)" >&2; exit 1; }
[ ${#NEW[@]} -gt 0 ] || { echo "file_onedraw: both files are filed already; nothing new" >&2; exit 1; }

out=docs/eval/$PHASE/onedraw
mkdir -p "$out"
for n in "${NEW[@]}"; do
  p=${PREFIX[$n]}
  for j in "${JUDGES[@]}"; do
    cp "$OD/$p-$j/per-prompt.jsonl" "$out/per-prompt-$n-$j.jsonl"
    [ -f "$OD/$p-$j/metrics.json" ] && cp "$OD/$p-$j/metrics.json" "$out/metrics-$n-$j.json"
  done
  [ -f "$OD/drawn-128-$p.json" ] && cp "$OD/drawn-128-$p.json" "$out/drawn-128-$n.json"
  # the images are drawn once per judge with the same seeds: the first judge's grid
  [ -f "$OD/$p-${JUDGES[0]}/samples.png" ] && cp "$OD/$p-${JUDGES[0]}/samples.png" "$out/samples-$n.png"
done

# where a name's rows are: filed just now, or in its REF phase
rows() { if [ -n "${REF_PHASE[$1]:-}" ]; then echo "$ROOT/docs/eval/${REF_PHASE[$1]}/onedraw/per-prompt-$1-$2.jsonl"
         else echo "$ROOT/$out/per-prompt-$1-$2.jsonl"; fi; }
{
  echo "# the one-draw test (evaluate.py, 100 held-out prompts, one draw, en and the emoji in en/zh/es/fr) of $TREE (the tree's file) with $CAND beside it: python3 -m tools.compare_eval A B (training/); A's rows from the phases named: ${*:-none}"
  for j in "${JUDGES[@]}"; do
    for n in "${NEW[@]}"; do
      others=("${REFS[@]}")
      # two new files: the carried one is the reference of the tree's
      [ ${#NEW[@]} = 2 ] && [ "$n" = "$TREE" ] && others+=("$CAND")
      for o in "${others[@]}"; do
        [ "$o" = "$n" ] && continue
        a=$(rows "$o" "$j")
        echo "## $o -> $n, $j"
        if [ -f "$a" ]; then
          (cd training && python3 -m tools.compare_eval "$a" "$(rows "$n" "$j")")
        else
          echo "(no $j rows for $o: $a)"
        fi
      done
    done
  done
} > "$out/compare.md"
echo "filed ${NEW[*]} in $out/"
grep -A4 "^## .*, ${JUDGES[0]}" "$out/compare.md" | grep "generated_en" || true
