"""How much of a paired test's interval is the draws' noise, and how much the prompts'
own spread, from paired_eval's per-draw-J.json (each prompt's score in each draw, a and b).

Per prompt, d = b - a in each draw. The draws' variance sigma^2 (within a prompt, pooled
over prompts) and the variance of the prompts' true differences tau^2 (the variance of
the prompt means less sigma^2 / D, at least 0) give the 95% half-width of the mean
difference with D' draws: 1.96 sqrt((tau^2 + sigma^2 / D') / P). More draws narrow only
the first part; a rule can read how many draws buy how much before it picks them.

    cd training && python3 -m tools.draw_noise runs/paired-p47/per-draw-measuring-clip.json --draws 4,8,16,32
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.compare_eval import bootstrap_ci   # noqa: E402


def components(a, b):
    """{sigma2, tau2, prompts, draws, mean, means} from a and b, each [draws][prompts] scores"""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    if d.ndim != 2 or d.shape[0] < 2:
        raise ValueError("want [draws][prompts] scores of at least two draws: one draw shows no spread between draws")
    draws, prompts = d.shape
    means = d.mean(0)
    sigma2 = float(d.var(0, ddof=1).mean())
    tau2 = max(0.0, float(means.var(ddof=1)) - sigma2 / draws)
    return {"sigma2": sigma2, "tau2": tau2, "prompts": prompts, "draws": draws,
            "mean": float(means.mean()), "means": means}


def half_width(c, draws):
    """the 95% half-width of the mean difference over c's prompts with this many draws"""
    return 1.96 * math.sqrt((c["tau2"] + c["sigma2"] / draws) / c["prompts"])


def report(path, draw_counts):
    with open(path, encoding="utf-8") as f:
        x = json.load(f)
    c = components(x["a"], x["b"])
    lo, hi = bootstrap_ci(c["means"])
    lines = [f"{os.path.basename(path)}: {c['prompts']} prompts x {c['draws']} draws, b - a {c['mean']:+.2f} "
             f"(bootstrap {lo:+.2f}, {hi:+.2f}: half-width {(hi - lo) / 2:.2f})",
             f"    spread between draws sigma {math.sqrt(c['sigma2']):.2f}, between prompts tau "
             f"{math.sqrt(c['tau2']):.2f} (points)"]
    lines += [f"    {n} draws: half-width {half_width(c, n):.2f}" for n in draw_counts]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="paired_eval's per-draw-J.json files")
    ap.add_argument("--draws", default="4,8,16,32", help="the draw counts to give the half-width for")
    args = ap.parse_args()
    counts = [int(n) for n in args.draws.split(",")]
    for path in args.files:
        print(report(path, counts))


if __name__ == "__main__":
    main()
