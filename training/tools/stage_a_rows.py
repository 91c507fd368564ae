"""Stage a filed model's ship-test rows as paired_eval's a-rows (--a-rows), so that a ship
test against it draws the candidate alone (about half the sampling of a run drawing both).

A phase's folder (tools/file_shiptest.sh) holds, per measure J, the candidate NAME's
per-prompt-NAME-J.jsonl and per-draw-NAME-J.json, whose "b" lists are NAME's own scores.
This writes them where paired_eval reads a's: OUT/per-prompt-a-J.jsonl (the bytes as
filed) and OUT/per-draw-a-J.json ({"prompts", "a"}).

    cd training && python3 -m tools.stage_a_rows ../docs/eval/phase55/everyday p55a ../.carry/a-rows/everyday

Only where the reference is the tree's model file and its rows were filed with the same
prompts, draws and judges: paired_eval refuses other prompts or draw counts, and the
seen test, drawn with both models as before, still checks byte for byte that this
machine draws the reference's rows again (file_shiptest.sh).
"""
import argparse
import json
import os
import shutil
import sys


def stage(filed, name, out):
    """the measures staged, in name order; nothing written unless every one has both files"""
    head, tail = f"per-prompt-{name}-", ".jsonl"
    keys = sorted(f[len(head):-len(tail)] for f in os.listdir(filed) if f.startswith(head) and f.endswith(tail))
    if not keys:
        sys.exit(f"stage_a_rows: no per-prompt-{name}-*.jsonl in {filed}")
    missing = [k for k in keys if not os.path.isfile(os.path.join(filed, f"per-draw-{name}-{k}.json"))]
    if missing:
        sys.exit(f"stage_a_rows: {filed} lacks per-draw-{name}-{missing[0]}.json")
    os.makedirs(out, exist_ok=True)
    for k in keys:
        shutil.copyfile(os.path.join(filed, f"{head}{k}{tail}"), os.path.join(out, f"per-prompt-a-{k}.jsonl"))
        with open(os.path.join(filed, f"per-draw-{name}-{k}.json"), encoding="utf-8") as f:
            per_draw = json.load(f)
        with open(os.path.join(out, f"per-draw-a-{k}.json"), "w", encoding="utf-8") as f:
            json.dump({"prompts": per_draw["prompts"], "a": per_draw["b"]}, f, ensure_ascii=False)
    return keys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("filed", help="a phase's set folder, e.g. ../docs/eval/phase55/everyday")
    ap.add_argument("name", help="the filed model's name there, e.g. p55a")
    ap.add_argument("out")
    args = ap.parse_args()
    keys = stage(args.filed, args.name, args.out)
    print(f"stage_a_rows: {args.name}'s rows for {len(keys)} measures -> {args.out}")


if __name__ == "__main__":
    main()
