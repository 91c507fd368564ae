#!/usr/bin/env bash
# The reports beside a phase's filed ship tests (tools/file_shiptest.sh), each headed by
# the command that wrote it, measuring judge throughout, named for NAME (a phase may test
# two candidates):
#   ranks-NAME.txt         top-1 / top-5 of REF and NAME (everyday split by REF's own
#                          draws; held out with p42's beside them)
#   against-p42-NAME.txt   the path from p42, whose held-out rows rule 4 reads
#   split-compare-NAME.txt everyday, within the names REF drew first and those below
#   draw-noise-NAME.txt    how much of each interval more draws would narrow
#   shared-words-NAME.txt  held out by the words shared with the everyday names p42
#                          missed (needs the data set's meta.json, training/cache/dataset)
#   seen-sources-NAME.txt  seen against REF by the sources of the training images that
#                          name each prompt (needs meta.json too)
#   bash training/tools/phase_reports.sh NAME PHASE REF REF_PHASE
#   e.g. phase_reports.sh p52i phase52 p50 phase50
# EVAL (default docs/eval, from the repository root) is where the phases' folders are.
set -eu
[ $# = 4 ] || { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
N=$1; PH=$2; REF=$3; RPH=$4
cd "$(dirname "$0")/../.."
E=$(realpath "${EVAL:-docs/eval}")
P=$E/$PH
cd training
J=measuring-clip
DP=$J-drawn-pool
REFD=$E/$RPH/everyday/per-prompt-$REF-$DP.jsonl
P42=$E/phase42
for f in "$REFD" "$P/everyday/per-prompt-$N-$DP.jsonl" "$P/held-out/per-prompt-$N-$J.jsonl" \
         "$P42/held-out/per-prompt-p42-$J.jsonl"; do
  [ -f "$f" ] || { echo "phase_reports: $f is missing" >&2; exit 1; }
done

{ echo "# python3 -m tools.rank_summary (training/) --split-by $RPH's $REF rows, on $REF's and $N's everyday rows; held out without it"
  echo "## everyday"
  python3 -m tools.rank_summary --split-by "$REFD" "$REFD" "$P/everyday/per-prompt-$N-$DP.jsonl"
  echo "## held out"
  python3 -m tools.rank_summary "$P42/held-out/per-prompt-p42-$J.jsonl" \
    "$E/$RPH/held-out/per-prompt-$REF-$J.jsonl" "$P/held-out/per-prompt-$N-$J.jsonl"
} > "$P/ranks-$N.txt"

{ echo "# the path from p42 (rule 4 is the held-out rows): python3 -m tools.compare_eval A B (training/), A = phase 42's p42 rows, B = $PH's $N rows, measuring judge"
  for s in everyday:$J everyday:$DP held-out:$J seen:$J seen:$DP; do
    d=${s%%:*}; j=${s#*:}
    [ -f "$P42/$d/per-prompt-p42-$j.jsonl" ] && [ -f "$P/$d/per-prompt-$N-$j.jsonl" ] || continue
    echo "## $d, p42 -> $N, $j"
    python3 -m tools.compare_eval "$P42/$d/per-prompt-p42-$j.jsonl" "$P/$d/per-prompt-$N-$j.jsonl"
  done
} > "$P/against-p42-$N.txt"

{ echo "# everyday, measuring judge, within the names $REF drew first and those it drew below first: python3 -m tools.compare_eval --split-by $RPH's $REF rows A B (training/)"
  for j in $J-drawn $DP; do
    echo "## $REF -> $N, $j"
    python3 -m tools.compare_eval --split-by "$REFD" "$E/$RPH/everyday/per-prompt-$REF-$j.jsonl" \
      "$P/everyday/per-prompt-$N-$j.jsonl"
  done
} > "$P/split-compare-$N.txt"

{ echo "# python3 -m tools.draw_noise FILE (training/), on $N's per-draw scores (a = $REF, b = $N), measuring judge"
  for d in everyday held-out seen; do
    [ -f "$P/$d/per-draw-$N-$J.json" ] || continue
    echo "## $d"; python3 -m tools.draw_noise "$P/$d/per-draw-$N-$J.json"
  done
} > "$P/draw-noise-$N.txt"

if [ -f cache/dataset/meta.json ]; then
  { echo "# held out, measuring judge, CLIP score, by the words each prompt shares with the everyday names p42 drew below first (hard) or first (easy): python3 -m tools.shared_words --drawn phase42's p42 everyday drawn-pool rows --by-source cache/dataset/meta.json A B (training/)"
    for a in "$RPH/held-out/per-prompt-$REF" phase42/held-out/per-prompt-p42; do
      echo "## ${a##*per-prompt-} -> $N"
      python3 -m tools.shared_words --drawn "$P42/everyday/per-prompt-p42-$DP.jsonl" \
        --by-source cache/dataset/meta.json "$E/$a-$J.jsonl" "$P/held-out/per-prompt-$N-$J.jsonl"
    done
  } > "$P/shared-words-$N.txt"
  if [ -f "$P/seen/per-prompt-$N-$J.jsonl" ]; then
    { echo "# seen, measuring judge, by the sources of the training images each prompt names: python3 -m tools.compare_eval --by-source cache/dataset/meta.json --seen A B (training/), A = $RPH's $REF rows"
      python3 -m tools.compare_eval --by-source cache/dataset/meta.json --seen \
        "$E/$RPH/seen/per-prompt-$REF-$J.jsonl" "$P/seen/per-prompt-$N-$J.jsonl"
    } > "$P/seen-sources-$N.txt"
  fi
else
  echo "phase_reports: no training/cache/dataset/meta.json (python3 -m data.build_dataset): shared-words-$N.txt and seen-sources-$N.txt not written" >&2
fi
echo "phase_reports: $(cd "$P" && ls ranks-$N.txt against-p42-$N.txt split-compare-$N.txt draw-noise-$N.txt shared-words-$N.txt seen-sources-$N.txt 2>/dev/null | tr '\n' ' ')in $P"
