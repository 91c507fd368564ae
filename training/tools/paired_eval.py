"""A stronger paired test of two model files on English prompts: every held-out
concept with a distinct English name (379 in the shipped data set, where
evaluate.py takes 100; --split train: evaluate.py's 100 training concepts), each drawn with several noise seeds, both models in one
run with the same noise, scored by every judge given.

    cd training && python3 -m tools.paired_eval --a A.safetensors --b B.safetensors \
        --clip judges/clip-image.pt judges/measuring-clip.pt --draws 4 --out runs/paired

evaluate.py's English set (100 prompts, one draw) can call a mean CLIP score
gain only from about 1.1 points up (training log, phase 17). Here a prompt's
score is its mean over the draws, and its rank is its own prompt's place among
all the prompts by the draw-averaged similarity. Where the data set holds the
prompts' images (not the ship test's stand-in), each judge J also gives J-drawn,
the drawn measure (training log, phase 32) on the same generated images: a
prompt's "clip_score" there is 100 x the cosine, in J's image space, between its
generated image and its concept's real image (held out: the first of that name), and
its rank is that real image's place among all the prompts' real images. The
judges' text towers already name p31's images about as often as real ones;
image to image is what a recognisable object needs. --drawn-pool adds
J-drawn-pool: the same, but the real image's rank is among the prompts' real
images and every training image of another name too (about 10,000: a choice
among 100 seen concepts is too easy to tell kinds from objects). After each draw (both models)
it writes, per judge J, OUT/per-prompt-{a,b}-J.jsonl (set "english_all", the
format tools/compare_eval.py reads), OUT/compare-J.md and OUT/per-draw-J.json (each
prompt's score in each draw, for tools/draw_noise.py), so a run cut short
still leaves a paired result over the draws done; --minutes stops it from
starting another draw after that long. --shard K/N draws every N-th draw from K and
saves each (one process a GPU), and --merge sums such shards' draws into the same files
one run writes. --b-steps and --b-guidance give b its own
sampler settings, so a and b may be one model file under two settings;
--b-noisy-guidance G --noisy-from T gives b guidance G at the steps with t >= T
only (the noisy end, where the object is decided: training log, phase 9).
--a-rows DIR draws b alone and takes a's rows and per-draw scores from an
earlier run of the same prompts and draws (tools/stage_a_rows.py stages them
from a phase's filed rows): the noise depends on the draw and the prompt only,
so b's rows are those a run drawing both would give (tests/test_paired_eval.py),
in about half the time. Such a run writes its files after its last draw only.
--b-noise-from N gives b's draw d the noise of draw N + d: with one model file as
both a and b (or a's filed rows), how far the same file moves from its own rows by
the noise alone, the floor any candidate's paired counts stand on.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data.everyday import default_list, is_listed, read_list  # noqa: E402
from dir7 import rwkv7                          # noqa: E402
from dir7.clip import encode_images, load_clip  # noqa: E402
from dir7.dataset import (EVAL_SOURCES, as_model_input, blank_rows, english_names,  # noqa: E402
                          first_of_each_name, load)
from dir7.export import load_model              # noqa: E402
from dir7.text_encoder import batch_tokens      # noqa: E402
from evaluate import pick_concepts, sample_all  # noqa: E402
from tools.compare_eval import compare_set      # noqa: E402

SEED_BASE = 1_000_000   # draw d, batch starting at prompt j: noise seed SEED_BASE * (d + 1) + j


def held_out_concepts(meta, sources=EVAL_SOURCES):
    """The first held-out image (index into meta) of each distinct first English
    caption, in data set order (of EVAL_SOURCES: the 379 prompts of every ship test;
    of ("tuxpaint",): the held-out stamps' names, animals and objects that the emoji
    and clip art lack)."""
    pool = [i for i, m in enumerate(meta) if m["held_out"] and m["source"] in sources]
    return first_of_each_name(meta, pool)


def split_concepts(meta, split):
    """The concepts (indices into meta) of a --split: held_out, train, stamps or everyday."""
    if split == "stamps":
        return held_out_concepts(meta, ("tuxpaint",))
    return {"train": training_concepts, "held_out": held_out_concepts, "everyday": everyday_concepts}[split](meta)


def everyday_concepts(meta, listed=None):
    """The training emoji of data/everyday-emoji.txt (or of listed, a set of ids), the first
    of each English name, in data set order: what train.py --focus draws more often."""
    listed = read_list(default_list()) if listed is None else listed
    pool = [i for i, m in enumerate(meta) if not m["held_out"] and is_listed(m, listed)]
    return first_of_each_name(meta, pool)


def english_prompts(meta, sources=EVAL_SOURCES):
    """Every held-out concept's first English caption, once each, in data set order."""
    return english_names(meta, held_out_concepts(meta, sources))


def training_concepts(meta):
    """evaluate.py --split train's English set: 100 training concepts (indices into
    meta) in its seeded order (phase 24's fit to training concepts)."""
    return pick_concepts(meta, "train")[1]


def training_prompts(meta):
    """The English names of training_concepts."""
    return english_names(meta, training_concepts(meta))


def prompt_images(data, images, meta, concepts):
    """The concepts' own images as model input, for the drawn measure; None where the
    data set at data lacks them (the ship test's one-image stand-in for images.npy, a
    stand-in probe set with blank rows)."""
    if len(images) != len(meta) or blank_rows(data, concepts)[1]:
        return None
    return as_model_input(images[concepts])


def pool_rows(meta, prompts):
    """The training images (held_out False) that --drawn-pool ranks against besides the
    prompts' own: those whose English name is none of the prompts' (another image of a
    prompt's own name is no mistake to draw)."""
    names = set(prompts)
    return [i for i, e in enumerate(meta) if not e["held_out"] and e["captions"]["en"][0] not in names]


def encode_rows(clip, images, rows, dev, chunk=1024):
    """The judge's embeddings of images[rows] (uint8), made model input a chunk at a time:
    the pool's 10,000 images as floats at once would hold about 700 MB for the whole run."""
    return torch.cat([encode_images(clip, as_model_input(images[rows[i:i + chunk]]), dev)
                      for i in range(0, len(rows), chunk)])


def draw(model, prompts, d, steps, guidance, batch, dev):
    """One image per prompt; the noise depends on the draw and the prompt only."""
    return sample_all(model, prompts, steps, guidance, SEED_BASE * (d + 1), batch, dev)


class NoisyEndGuidance:
    """guidance `noisy` at timesteps t >= `start`, `rest` below"""
    def __init__(self, noisy, start, rest):
        self.noisy, self.start, self.rest = noisy, start, rest

    def __call__(self, t):
        return self.noisy if t >= self.start else self.rest


def sampler_settings(args):
    """({model: steps}, {model: guidance}): b's own where --b-steps / --b-guidance /
    --b-noisy-guidance give them"""
    def pick(own, shared):
        return shared if own is None else own
    b_guidance = pick(args.b_guidance, args.guidance)
    if args.b_noisy_guidance is not None:
        b_guidance = NoisyEndGuidance(args.b_noisy_guidance, args.noisy_from, b_guidance)
    return ({"a": args.steps, "b": pick(args.b_steps, args.steps)},
            {"a": args.guidance, "b": b_guidance})


def rows(prompts, sims, draws):
    """per-prompt rows from a similarity matrix summed over draws (image i, prompt k)"""
    mean = sims / draws
    rank = (mean > mean.diag()[:, None]).sum(1)
    return [{"set": "english_all", "i": i, "prompt": p, "rank": int(r), "clip_score": round(100 * float(c), 4),
             "draws": draws} for i, (p, r, c) in enumerate(zip(prompts, rank, mean.diag()))]


def read_a_rows(folder, keys, prompts, draws):
    """--a-rows: {measure: (a's per-prompt rows, a's per-draw score lists)} from folder's
    per-prompt-a-J.jsonl and per-draw-a-J.json, refused unless they hold these prompts in
    this order and this many draws"""
    fixed = {}
    for key in keys:
        paths = [os.path.join(folder, f"per-prompt-a-{key}.jsonl"), os.path.join(folder, f"per-draw-a-{key}.json")]
        missing = [x for x in paths if not os.path.isfile(x)]
        if missing:
            sys.exit(f"paired_eval --a-rows: {missing[0]} is missing")
        with open(paths[0], encoding="utf-8") as f:
            r = [json.loads(line) for line in f]
        with open(paths[1], encoding="utf-8") as f:
            per_draw = json.load(f)
        if [x["prompt"] for x in r] != prompts or per_draw["prompts"] != prompts:
            sys.exit(f"paired_eval --a-rows: {folder} holds other prompts than these {len(prompts)} ({key})")
        if len(per_draw["a"]) != draws or any(x["draws"] != draws for x in r):
            sys.exit(f"paired_eval --a-rows: {folder} holds {len(per_draw['a'])} draws, not {draws} ({key})")
        fixed[key] = (r, per_draw["a"])
    return fixed


def write_results(out, prompts, sims, draws, scores=None, fixed_a=None):
    """per-prompt files and the paired comparison (b against a) for each judge; with
    scores (add_scores'), each draw's own scores too (per-draw-J.json); with fixed_a
    (read_a_rows'), a's rows and scores from there, written again as read"""
    for judge, by_model in sims.items():
        per = {name: rows(prompts, s, draws) for name, s in by_model.items()}
        per_draw = None if scores is None else scores[judge]
        if fixed_a is not None:
            a_rows, a_draws = fixed_a[judge]
            per = {"a": a_rows} | per
            per_draw = None if per_draw is None else {"a": a_draws} | per_draw
        for name, r in per.items():
            with open(os.path.join(out, f"per-prompt-{name}-{judge}.jsonl"), "w") as f:
                f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in r)
        if per_draw is not None:
            with open(os.path.join(out, f"per-draw-{judge}.json"), "w") as f:
                json.dump({"prompts": prompts} | per_draw, f, ensure_ascii=False)
        c = compare_set(per["a"], per["b"])
        t1, t5 = c["top1"], c["top5"]
        what = "similarity to the prompt's own image" if "-drawn" in judge else "CLIP score"
        text = (f"{judge}, {len(prompts)} prompts x {draws} draws: {what} b - a "
                f"{c['clip_score_diff']:+.2f} ({c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}): {c['clip_score']}; "
                f"top-1 only b / only a {t1['only_b']} / {t1['only_a']} (p {t1['p']:.3f}): {t1['verdict']}; "
                f"top-5 {t5['only_b']} / {t5['only_a']} (p {t5['p']:.3f}): {t5['verdict']}\n")
        with open(os.path.join(out, f"compare-{judge}.md"), "w") as f:
            f.write(text)
        print(text, end="", flush=True)


def parse_shard(text):
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text}: want K/N") from None
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"--shard {text}: want 0 <= K < N")
    return k, n


def add_draw(sims, draw_sims):
    """sims ({judge: {model: matrix}}, summed over draws so far) plus one draw's matrices.
    One run and --merge both sum through here, in draw order, so their sums agree to the bit."""
    return {j: {m: sims.get(j, {}).get(m, 0) + s for m, s in by_model.items()}
            for j, by_model in draw_sims.items()}


def add_scores(scores, draw_sims):
    """scores ({judge: {model: [one list a draw]}}) plus one draw's: each prompt's score
    in that draw alone (100 x the diagonal, as rows() gives the mean), so that the spread
    between draws can be told from the spread between prompts (tools/draw_noise.py)"""
    return {j: {m: scores.get(j, {}).get(m, []) + [[round(100 * float(c), 4) for c in s.diagonal()]]
                for m, s in by_model.items()} for j, by_model in draw_sims.items()}


def save_draw(out, d, prompts, sims):
    """One draw's similarity matrices ({judge: {model: [images, prompts]}}) for --merge."""
    torch.save({"draw": d, "prompts": prompts, "sims": sims}, os.path.join(out, f"draw-{d}.pt"))


def merge(dirs, out, a_rows=None):
    """The draws that --shard runs saved in dirs, summed in draw order (as one run sums
    them, so the rows come out the same to the last bit), written as one run writes them.
    Draws 0..D-1 must all be there, once, for the same prompts. a_rows: as --a-rows."""
    found = {}
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if name.startswith("draw-") and name.endswith(".pt"):
                x = torch.load(os.path.join(d, name))
                if x["draw"] in found:
                    sys.exit(f"paired_eval --merge: draw {x['draw']} is in two shards")
                found[x["draw"]] = x
    if not found or sorted(found) != list(range(len(found))):
        sys.exit(f"paired_eval --merge: want draws 0..D-1, found {sorted(found)} in {dirs}")
    prompts = found[0]["prompts"]
    if any(x["prompts"] != prompts for x in found.values()):
        sys.exit("paired_eval --merge: the shards drew different prompts")
    sims, scores = {}, {}
    for d in range(len(found)):
        sims = add_draw(sims, found[d]["sims"])
        scores = add_scores(scores, found[d]["sims"])
    fixed = read_a_rows(a_rows, sims, prompts, len(found)) if a_rows else None
    os.makedirs(out, exist_ok=True)
    write_results(out, prompts, sims, len(found), scores, fixed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", help="the reference model file (the shipped one)")
    ap.add_argument("--b", help="the candidate")
    ap.add_argument("--clip", nargs="+", help="judges (CLIP checkpoints)")
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--split", default="held_out", choices=["held_out", "train", "stamps", "everyday"],
                    help="held_out: every held-out concept (the ship test); train: the 100 training "
                         "concepts of evaluate.py --split train (how well seen concepts are drawn); "
                         "stamps: the held-out Tux Paint stamps' names (since phase 33); everyday: "
                         "the training emoji of data/everyday-emoji.txt (train.py --focus, phase 42)")
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--b-guidance", type=float, default=None,
                    help="b's guidance, when not --guidance (then a and b may be the same file: a sampler "
                         "setting against another)")
    ap.add_argument("--b-steps", type=int, default=None,
                    help="b's sampler steps, when not --steps (like --b-guidance)")
    ap.add_argument("--b-noisy-guidance", type=float, default=None,
                    help="b's guidance at the steps with t >= --noisy-from only")
    ap.add_argument("--noisy-from", type=int, default=700)
    ap.add_argument("--b-noise-from", type=int, default=0, metavar="N",
                    help="b's draw d takes draw N+d's noise (a's stays draw d's): the noise floor")
    ap.add_argument("--batch", type=int, default=200, help="prompts per sampler batch")
    ap.add_argument("--limit", type=int, default=0, help="the first N prompts only (a quick check)")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N prompts (before --limit)")
    ap.add_argument("--minutes", type=float, default=0, help="start no draw after this long (0: no limit)")
    ap.add_argument("--shard", type=parse_shard, default=None, metavar="K/N",
                    help="draw only the draws d with d %% N == K, and save each to OUT/draw-D.pt for "
                         "--merge (one GPU each: the ship test on a multi-GPU machine)")
    ap.add_argument("--drawn-pool", action="store_true",
                    help="also J-drawn-pool: the drawn measure ranked among every training image too")
    ap.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                    help="no drawing: sum the draws that --shard runs saved in DIRs and write the results")
    ap.add_argument("--a-rows", default=None, metavar="DIR",
                    help="draw b alone; a's rows and per-draw scores from DIR (tools/stage_a_rows.py)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.merge:
        return merge(args.merge, args.out, args.a_rows)
    if not (args.a and args.b and args.clip):
        ap.error("--a, --b and --clip are required (except with --merge)")
    t0 = time.time()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rwkv7.WKV_IMPL = "batched"
    os.makedirs(args.out, exist_ok=True)
    images, meta = load(args.data)
    concepts = split_concepts(meta, args.split)
    if not concepts:
        sys.exit(f"paired_eval: no prompts for --split {args.split} in {args.data}")
    concepts = concepts[args.skip:][:args.limit or None]
    prompts = english_names(meta, concepts)
    real = prompt_images(args.data, images, meta, concepts)
    if real is None:
        print(f"paired_eval: {args.data} lacks the prompts' images: no drawn measure", flush=True)
    models = {"b": load_model(args.b).to(dev).eval()}
    if not args.a_rows:
        models = {"a": load_model(args.a).to(dev).eval()} | models
    steps, guidance = sampler_settings(args)
    # what each measure compares a draw's images with, by which judge: its text
    # embeddings of the prompts (J), and its image embeddings of the prompts' own
    # images (J-drawn), each a matrix (image i, prompt k)
    judges, targets = {}, {}
    with torch.no_grad():
        # the judges' prompt tokens at a's length, as ever (b's where a is not loaded)
        ids, mask = batch_tokens(prompts, next(iter(models.values())).cfg.text.max_len, dev)
        for path in args.clip:
            name = os.path.splitext(os.path.basename(path))[0]
            judges[name], _ = load_clip(path, dev)
            targets[name] = (name, judges[name].encode_text(ids, mask))
        if real is not None:
            targets.update({f"{j}-drawn": (j, encode_images(clip, real, dev)) for j, clip in judges.items()})
            if args.drawn_pool:   # the prompts' own images first: rows() ranks against the diagonal
                pool = pool_rows(meta, prompts)
                targets.update({f"{j}-drawn-pool": (j, torch.cat([targets[f"{j}-drawn"][1],
                                                                   encode_rows(clip, images, pool, dev)]))
                                for j, clip in judges.items()})
        # a's rows from an earlier run: read (and checked) before the first draw
        fixed = read_a_rows(args.a_rows, targets, prompts, args.draws) if args.a_rows else None
        sims, scores, done = {}, {}, 0
        k, n = args.shard or (0, 1)
        for d in range(k, args.draws, n):
            if done and args.minutes and time.time() - t0 > args.minutes * 60:
                break
            this = {key: {} for key in targets}
            for m, model in models.items():
                x = draw(model, prompts, d + (args.b_noise_from if m == "b" else 0), steps[m], guidance[m],
                         args.batch, dev)
                emb = {j: encode_images(clip, x, dev) for j, clip in judges.items()}
                for key, (j, target) in targets.items():
                    this[key][m] = (emb[j] @ target.t()).double().cpu()
            done += 1
            print(f"draw {d + 1} done at {time.time() - t0:.0f}s", flush=True)
            if args.shard:
                save_draw(args.out, d, prompts, this)
                continue
            sims = add_draw(sims, this)
            scores = add_scores(scores, this)
            if fixed is None or done == args.draws:   # fixed a rows pair with all the draws only
                write_results(args.out, prompts, sims, done, scores, fixed)


if __name__ == "__main__":
    main()
