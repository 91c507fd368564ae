#!/usr/bin/env bash
# File a candidate's three ship tests (device_train.sh shiptest, run as the phase rules
# say: paired-everyday.tar, paired-heldout.tar, and paired.tar for the seen concepts)
# in docs/eval/PHASE/{everyday,held-out,seen}/: its rows as per-prompt-NAME-J.jsonl and
# per-draw-NAME-J.json, the comparisons as compare-REF-NAME-J.md, and the metrics as
# ship-test-NAME.txt.
# The a-rows are the tree's file's. They must be byte for byte REF's rows filed in
# docs/eval/REF_PHASE/ (the same seeds, the same judges), or nothing is filed: a
# candidate is only compared with rows drawn the same way.
#   bash training/tools/file_shiptest.sh NAME DEVICE_DIR PHASE REF REF_PHASE
#   e.g. file_shiptest.sh p52i /work/.device/6 phase52 p50 phase50
# ONLY="everyday held-out" files those tests alone (a call that had no time for the seen).
# NEW_REF=1 with REF_PHASE = PHASE: a-rows that REF has no filed rows for yet (REF drawn
# a new way, e.g. at 8 draws) are filed as REF's rows there; later candidates must match.
# Rule 4 (held out against p42) and the other reports: tools/phase_reports.sh.
set -eu
[ $# = 5 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
NAME=$1; DEV=$(realpath "$2"); PHASE=$3; REF=$4; REF_PHASE=$5
cd "$(dirname "$0")/../.."
SETS=""
for s in everyday:paired-everyday.tar held-out:paired-heldout.tar seen:paired.tar; do
  case " ${ONLY:-everyday held-out seen} " in *" ${s%%:*} "*) SETS="$SETS $s" ;; esac
done
[ -n "$SETS" ] || { echo "file_shiptest: ONLY=\"$ONLY\" names none of everyday, held-out, seen" >&2; exit 2; }
for s in $SETS; do
  [ -f "$DEV/${s#*:}" ] || { echo "file_shiptest: $DEV/${s#*:} is missing" >&2; exit 1; }
done
[ -f "$DEV/metrics-measuring.txt" ] || { echo "file_shiptest: $DEV/metrics-measuring.txt is missing" >&2; exit 1; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
declare -A SRC   # set -> the folder its tar unpacked to

# unpack all three, and check every a-row file before filing anything
bad=0
for s in $SETS; do
  set_=${s%%:*}
  mkdir -p "$TMP/$set_"
  tar xf "$DEV/${s#*:}" -C "$TMP/$set_"
  src=$(dirname "$(find "$TMP/$set_" -name 'per-prompt-a-*.jsonl' | head -1)")
  [ "$src" != . ] || { echo "file_shiptest: no a-rows in ${s#*:}" >&2; exit 1; }
  SRC[$set_]=$src
  for f in "$src"/per-prompt-a-*.jsonl; do
    j=$(basename "$f" .jsonl); j=${j#per-prompt-a-}
    ref=docs/eval/$REF_PHASE/$set_/per-prompt-$REF-$j.jsonl
    if cmp -s "$f" "$ref"; then
      echo "$set_ $j: a-rows = $REF_PHASE's $REF rows"
    elif [ "${NEW_REF:-0}" = 1 ] && [ "$REF_PHASE" = "$PHASE" ] && [ ! -e "$ref" ]; then
      echo "$set_ $j: a-rows filed as $REF's rows in $PHASE (new)"
    else
      echo "file_shiptest: $set_ $j: a-rows differ from $ref" >&2; bad=1
    fi
  done
done
[ $bad = 0 ] || { echo "file_shiptest: not filed (the draws are not $REF's)" >&2; exit 1; }

for s in $SETS; do
  set_=${s%%:*}; src=${SRC[$set_]}; out=docs/eval/$PHASE/$set_
  mkdir -p "$out"
  if [ "${NEW_REF:-0}" = 1 ]; then   # only those the check above let through as new
    for f in "$src"/per-prompt-a-*.jsonl; do
      b=$(basename "$f"); t="$out/per-prompt-$REF-${b#per-prompt-a-}"; [ -e "$t" ] || cp "$f" "$t"
    done
  fi
  for f in "$src"/per-prompt-b-*.jsonl; do b=$(basename "$f"); cp "$f" "$out/per-prompt-$NAME-${b#per-prompt-b-}"; done
  for f in "$src"/compare-*.md; do b=$(basename "$f"); cp "$f" "$out/compare-$REF-$NAME-${b#compare-}"; done
  for f in "$src"/per-draw-*.json; do
    [ -e "$f" ] || continue
    b=$(basename "$f"); cp "$f" "$out/per-draw-$NAME-${b#per-draw-}"
  done
done
cp "$DEV/metrics-measuring.txt" "docs/eval/$PHASE/ship-test-$NAME.txt"
echo "filed in docs/eval/$PHASE/"
grep "measuring-clip" "docs/eval/$PHASE/ship-test-$NAME.txt" || true
