"""tools/paired_eval.py: its prompts, its draw-averaged scores and ranks, and the
noise it gives the two models (training log, phase 20)."""
import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import evaluate                               # noqa: E402
import tools.paired_eval as pe                 # noqa: E402
from dir7.dataset import english_names, probe_indices  # noqa: E402


def test_english_prompts_are_the_distinct_held_out_names_in_order():
    meta = [{"captions": {"en": [n]}, "held_out": h, "source": "emoji"} for n, h in
            [("cat", True), ("dog", False), ("cat", True), ("sun", True), ("dog", True), ("sun", False)]]
    assert pe.english_prompts(meta) == ["cat", "sun", "dog"]


def test_a_source_added_later_leaves_every_evaluation_prompt_as_it_was():
    # Tux Paint's stamps are appended to the data set (phase 33): the ship test's
    # prompts, evaluate.py's sets and its real images must not move, or no figure
    # recorded before would compare
    meta = [{"captions": {"en": [f"c{i % 150}"]}, "held_out": i % 7 == 0,
             "source": "emoji" if i % 2 else "openclipart"} for i in range(400)]
    grown = meta + [{"captions": {"en": [f"stamp {i}"]}, "held_out": i % 3 == 0, "source": "tuxpaint"}
                    for i in range(60)]
    assert pe.english_prompts(grown) == pe.english_prompts(meta)
    assert pe.training_prompts(grown) == pe.training_prompts(meta)
    for split in ("held_out", "train"):
        assert evaluate.pick_concepts(grown, split) == evaluate.pick_concepts(meta, split)
    # caption_gain's images: "eval" on the grown set picks what "all" picked before it
    for split in ("held_out", "train"):
        assert probe_indices(grown, 20, split, "eval") == probe_indices(meta, 20, split, "all")
        assert probe_indices(grown, 20, split, "all") != probe_indices(meta, 20, split, "all")
    # the stamps' own held-out names are a set of their own (--split stamps)
    assert pe.english_prompts(grown, ("tuxpaint",)) == [f"stamp {i}" for i in range(0, 60, 3)]
    assert pe.english_prompts(meta, ("tuxpaint",)) == []


def test_training_prompts_are_evaluates_training_english_set():
    meta = [{"captions": {"en": [f"c{i % 150}"]}, "held_out": i % 7 == 0,
             "source": "emoji" if i % 2 else "openclipart"} for i in range(400)]
    _, concepts, _ = evaluate.pick_concepts(meta, "train")
    got = pe.training_prompts(meta)
    assert got == [meta[i]["captions"]["en"][0] for i in concepts]
    assert len(got) == 100 == len(set(got))
    assert set(got) <= {m["captions"]["en"][0] for m in meta if not m["held_out"]}


def test_rows_score_and_rank_by_the_draw_averaged_similarity():
    # two draws of 3 images against 3 prompts (rows: images). Image 0 ranks its own
    # prompt second in draw 1 (0.5 < 0.6) but first on average (0.7 > 0.4); image 1
    # first in draw 1 (0.7 > 0.2) but second on average (0.5 < 0.7)
    d1 = torch.tensor([[0.5, 0.6, 0.0], [0.1, 0.7, 0.2], [0.0, 0.3, 0.4]], dtype=torch.float64)
    d2 = torch.tensor([[0.9, 0.2, 0.0], [0.1, 0.3, 1.2], [0.0, 0.1, 0.8]], dtype=torch.float64)
    r = pe.rows(["a", "b", "c"], d1 + d2, 2)
    assert [x["rank"] for x in r] == [0, 1, 0]
    assert [x["clip_score"] for x in r] == pytest.approx([70.0, 50.0, 60.0])
    assert all(x["set"] == "english_all" and x["draws"] == 2 for x in r)


def test_write_results_calls_a_higher_diagonal_better_and_equal_models_a_tie(tmp_path):
    torch.manual_seed(0)
    n = 60
    base = torch.rand(n, n, dtype=torch.float64) * 0.5
    better = base + torch.diag(torch.full((n,), 0.05, dtype=torch.float64))
    prompts = [f"p{i}" for i in range(n)]
    pe.write_results(str(tmp_path), prompts, {"same": {"a": base, "b": base.clone()},
                                              "gain": {"a": base, "b": better}}, 1)
    same = (tmp_path / "compare-same.md").read_text()
    assert "b - a +0.00 (+0.00, +0.00): no difference" in same
    gain = (tmp_path / "compare-gain.md").read_text()
    assert "b - a +5.00 (+5.00, +5.00): better" in gain
    rows_b = [json.loads(x) for x in (tmp_path / "per-prompt-b-gain.jsonl").read_text().splitlines()]
    assert len(rows_b) == n and rows_b[0]["prompt"] == "p0"


def test_both_models_get_the_same_noise_and_each_draw_new_noise(monkeypatch):
    seeds = []

    def fake_sample(model, prompts, steps, guidance, seed=0, dev="cpu"):
        seeds.append((model, seed, tuple(prompts)))
        return torch.zeros(len(prompts), 4, 2, 2)

    monkeypatch.setattr(evaluate, "sample_batch", fake_sample)
    prompts = [f"p{i}" for i in range(5)]
    for d in (0, 1):
        for m in ("a", "b"):
            assert pe.draw(m, prompts, d, 2, 5.0, 2, "cpu").shape[0] == 5
    by_model = {m: [(s, p) for mm, s, p in seeds if mm == m] for m in ("a", "b")}
    assert by_model["a"] == by_model["b"]
    draw_seeds = [s for s, _ in by_model["a"]]
    assert len(draw_seeds) == 6 and len(set(draw_seeds)) == 6   # 3 batches x 2 draws, no seed reused


def test_b_steps_and_b_guidance_change_b_alone():
    from types import SimpleNamespace as NS
    shared = NS(steps=20, guidance=5.0, b_steps=None, b_guidance=None, b_noisy_guidance=None)
    assert pe.sampler_settings(shared) == ({"a": 20, "b": 20}, {"a": 5.0, "b": 5.0})
    own = NS(steps=20, guidance=5.0, b_steps=40, b_guidance=8.0, b_noisy_guidance=None)
    assert pe.sampler_settings(own) == ({"a": 20, "b": 40}, {"a": 5.0, "b": 8.0})


def test_b_noisy_guidance_acts_from_its_timestep_on_and_b_alone():
    from types import SimpleNamespace as NS
    args = NS(steps=20, guidance=5.0, b_steps=None, b_guidance=None, b_noisy_guidance=10.0, noisy_from=700)
    steps, guidance = pe.sampler_settings(args)
    assert guidance["a"] == 5.0
    assert [guidance["b"](t) for t in (999, 749, 700, 699, 49)] == [10.0, 10.0, 10.0, 5.0, 5.0]
    args.b_guidance = 7.0   # the rest of b's steps take b's own guidance
    assert pe.sampler_settings(args)[1]["b"](100) == 7.0


def test_a_guidance_schedule_samples_as_its_numbers_do():
    # a schedule that never switches is the plain number; one that switches at the first
    # step is the other number throughout; one in between differs from both
    from dir7.config import tiny_config
    from dir7.unet import Dir7Model
    torch.manual_seed(0)
    m = Dir7Model(tiny_config("state")).eval()
    prompts = ["red heart", "cat"]

    def run(g):
        with torch.no_grad():
            return evaluate.sample_batch(m, prompts, steps=4, guidance=g, seed=3)
    plain, strong = run(5.0), run(10.0)
    assert torch.equal(run(pe.NoisyEndGuidance(10.0, 1000, 5.0)), plain)
    assert torch.equal(run(pe.NoisyEndGuidance(10.0, 0, 5.0)), strong)
    mixed = run(pe.NoisyEndGuidance(10.0, 700, 5.0))
    assert not torch.equal(mixed, plain) and not torch.equal(mixed, strong)


def run_main(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["paired_eval.py", *argv])
    pe.main()


@pytest.fixture()
def tiny_models(monkeypatch):
    """paired_eval's loaders give two random tiny models, two tiny judges, six held-out names"""
    from dir7.clip import Clip
    from dir7.config import tiny_config
    from dir7.unet import Dir7Model
    torch.manual_seed(0)
    cfg = tiny_config("state")
    models = {"a": Dir7Model(cfg).eval(), "b": Dir7Model(cfg).eval()}
    judges = {"j1": Clip(cfg).eval(), "j2": Clip(cfg).eval()}
    meta = [{"captions": {"en": [f"thing {i}"]}, "held_out": True, "source": "emoji"} for i in range(6)]
    monkeypatch.setattr(pe, "load_model", lambda path: models[path])
    monkeypatch.setattr(pe, "load_clip", lambda path, dev: (judges[os.path.basename(path)[:-3]], 0))
    # the ship test's stand-in: one blank image for the whole data set (no drawn measure)
    monkeypatch.setattr(pe, "load", lambda path: (np.zeros((1, 16, 16, 4), np.uint8), meta))
    return ["--a", "a", "--b", "b", "--clip", "j1.pt", "j2.pt", "--steps", "2", "--batch", "4"]


def test_shards_merged_write_the_files_of_one_run_to_the_bit(tmp_path, monkeypatch, tiny_models):
    # a multi-GPU machine draws the ship test's draws one GPU each (device_train.sh):
    # its rows must be those of one run, or no committed row would pair with them
    run_main(monkeypatch, *tiny_models, "--draws", "3", "--out", str(tmp_path / "one"))
    for k in (0, 1):
        run_main(monkeypatch, *tiny_models, "--draws", "3", "--shard", f"{k}/2",
                 "--out", str(tmp_path / f"shard-{k}"))
    assert sorted(os.listdir(tmp_path / "shard-0")) == ["draw-0.pt", "draw-2.pt"]
    assert sorted(os.listdir(tmp_path / "shard-1")) == ["draw-1.pt"]
    run_main(monkeypatch, "--merge", str(tmp_path / "shard-0"), str(tmp_path / "shard-1"),
             "--out", str(tmp_path / "merged"))
    one = sorted(os.listdir(tmp_path / "one"))
    assert one == sorted(os.listdir(tmp_path / "merged")) and len(one) == 8   # 2 judges x (a, b, compare, per-draw)
    for name in one:
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    rows = [json.loads(x) for x in (tmp_path / "one" / "per-prompt-b-j2.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["draws"] == 3 for r in rows)


def test_each_draws_scores_are_kept_and_average_to_the_rows(tmp_path, monkeypatch, tiny_models):
    run_main(monkeypatch, *tiny_models, "--draws", "3", "--out", str(tmp_path))
    x = json.loads((tmp_path / "per-draw-j1.json").read_text())
    assert x["prompts"] == [f"thing {i}" for i in range(6)]
    for m in ("a", "b"):
        assert len(x[m]) == 3 and all(len(d) == 6 for d in x[m])
        rows = [json.loads(r) for r in (tmp_path / f"per-prompt-{m}-j1.jsonl").read_text().splitlines()]
        mean = np.mean(x[m], axis=0)
        assert [r["clip_score"] for r in rows] == pytest.approx(mean.tolist(), abs=1e-3)   # both rounded to 1e-4
    assert len({tuple(d) for d in x["b"]}) == 3   # each draw its own noise


def test_b_noise_from_gives_b_a_later_draws_noise_and_a_its_own(tmp_path, monkeypatch, tiny_models):
    # the noise floor: one file as a and b, b drawn with draws 2..3's noise against a's 0..1
    same = ["--a", "a", "--b", "a", *tiny_models[4:]]
    run_main(monkeypatch, *same, "--draws", "4", "--out", str(tmp_path / "four"))
    run_main(monkeypatch, *same, "--draws", "2", "--b-noise-from", "2", "--out", str(tmp_path / "later"))
    four = json.loads((tmp_path / "four" / "per-draw-j1.json").read_text())
    later = json.loads((tmp_path / "later" / "per-draw-j1.json").read_text())
    assert four["a"] == four["b"]                      # one file, the same noise: the same scores
    assert later["a"] == four["a"][:2]
    assert later["b"] == four["a"][2:]
    assert later["a"] != later["b"]


def test_merge_refuses_a_missing_or_repeated_draw(tmp_path, monkeypatch, tiny_models):
    run_main(monkeypatch, *tiny_models, "--draws", "3", "--shard", "0/2", "--out", str(tmp_path / "s0"))
    with pytest.raises(SystemExit, match=r"want draws 0..D-1, found \[0, 2\]"):
        run_main(monkeypatch, "--merge", str(tmp_path / "s0"), "--out", str(tmp_path / "m"))
    with pytest.raises(SystemExit, match="draw 0 is in two shards"):
        run_main(monkeypatch, "--merge", str(tmp_path / "s0"), str(tmp_path / "s0"), "--out", str(tmp_path / "m"))


def test_concepts_are_the_images_of_the_prompts_in_order():
    meta = [{"captions": {"en": [n]}, "held_out": h, "source": "emoji"} for n, h in
            [("cat", True), ("dog", False), ("cat", True), ("sun", True), ("dog", True), ("sun", False)]]
    assert pe.held_out_concepts(meta) == [0, 3, 4]
    meta = [{"captions": {"en": [f"c{i % 150}"]}, "held_out": i % 7 == 0,
             "source": "emoji" if i % 2 else "openclipart"} for i in range(400)]
    assert english_names(meta, pe.training_concepts(meta)) == pe.training_prompts(meta)
    assert pe.training_concepts(meta) == evaluate.pick_concepts(meta, "train")[1]


def test_everyday_concepts_are_the_listed_training_emoji_once_each():
    meta = [{"captions": {"en": [n]}, "held_out": h, "source": src, "id": i} for n, h, src, i in
            [("fox", False, "emoji", "F"), ("fox", True, "emoji", "F2"), ("sun", False, "openclipart", "S"),
             ("apple", False, "emoji", "A"), ("fox", False, "emoji", "F3"), ("cat", False, "emoji", "C")]]
    assert pe.everyday_concepts(meta, {"F", "F2", "S", "A", "F3"}) == [0, 3]
    # the committed list: every id is one character, and a face is not on it
    meta = [{"captions": {"en": ["grinning face"]}, "held_out": False, "source": "emoji", "id": "😀"},
            {"captions": {"en": ["red apple"]}, "held_out": False, "source": "emoji", "id": "🍎"}]
    assert pe.split_concepts(meta, "everyday") == [1]


def test_prompt_images_only_from_a_data_set_that_holds_them(tmp_path):
    meta = [{"captions": {"en": [f"c{i}"]}, "held_out": True, "source": "emoji"} for i in range(5)]
    images = np.arange(5 * 2 * 2 * 4, dtype=np.uint8).reshape(5, 2, 2, 4)
    got = pe.prompt_images(str(tmp_path), images, meta, [3, 1])
    assert got.shape == (2, 4, 2, 2) and torch.equal(got[0], pe.as_model_input(images[3:4])[0])
    # the ship test's one-image stand-in, and a probe stand-in whose rows 3 and 1 are blank
    assert pe.prompt_images(str(tmp_path), images[:1], meta, [3, 1]) is None
    (tmp_path / "stand-in.json").write_text(json.dumps({"filled": [0, 3]}))
    assert pe.prompt_images(str(tmp_path), images, meta, [3, 1]) is None
    assert pe.prompt_images(str(tmp_path), images, meta, [3, 0]) is not None


def loaded_models(monkeypatch):
    """{path: model} of the models paired_eval loads (from tiny_models' loader), so that a
    fake draw can tell a from b"""
    models, real_load = {}, pe.load_model

    def keep(path):
        models[path] = real_load(path)
        return models[path]
    monkeypatch.setattr(pe, "load_model", keep)
    return models


def test_drawn_measure_pairs_each_prompt_with_its_own_real_image(tmp_path, monkeypatch, tiny_models):
    # b "draws" each prompt's own real image, a draws them one place out of turn: by the
    # drawn measure every b image is nearest its own (cosine 1, rank 0) and b is better;
    # a repeated name and --skip check that the real images follow the prompts
    meta = [{"captions": {"en": [n]}, "held_out": True, "source": "emoji"} for n in
            ["t0", "t1", "t0", "t2", "t3", "t4", "t5"]]
    images = np.random.default_rng(0).integers(0, 256, (len(meta), 16, 16, 4), dtype=np.uint8)
    monkeypatch.setattr(pe, "load", lambda path: (images, meta))
    own = pe.as_model_input(images[[1, 3, 4, 5, 6]])     # t1..t5, after --skip 1

    def fake_draw(model, prompts, d, steps, guidance, batch, dev):
        assert len(prompts) == 5
        return own if model is models["b"] else own.roll(1, 0)
    models = loaded_models(monkeypatch)
    monkeypatch.setattr(pe, "draw", fake_draw)
    run_main(monkeypatch, *tiny_models, "--draws", "1", "--skip", "1", "--out", str(tmp_path))
    rows = [json.loads(x) for x in (tmp_path / "per-prompt-b-j1-drawn.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == ["t1", "t2", "t3", "t4", "t5"]
    assert all(r["rank"] == 0 for r in rows)
    assert [r["clip_score"] for r in rows] == pytest.approx([100.0] * 5, abs=1e-3)
    assert "own image b - a" in (tmp_path / "compare-j2-drawn.md").read_text()
    assert ": better;" in (tmp_path / "compare-j2-drawn.md").read_text()
    a_rows = [json.loads(x) for x in (tmp_path / "per-prompt-a-j1-drawn.jsonl").read_text().splitlines()]
    assert all(r["rank"] > 0 for r in a_rows)


def test_the_stand_in_gives_no_drawn_measure(tmp_path, monkeypatch, tiny_models, capsys):
    run_main(monkeypatch, *tiny_models, "--draws", "1", "--out", str(tmp_path))
    assert "lacks the prompts' images: no drawn measure" in capsys.readouterr().out
    assert not [n for n in os.listdir(tmp_path) if "drawn" in n]


def test_pool_rows_are_training_images_of_other_names():
    meta = [{"captions": {"en": [n]}, "held_out": h, "source": "emoji"} for n, h in
            [("cat", True), ("dog", False), ("cat", False), ("sun", False), ("fox", True)]]
    assert pe.pool_rows(meta, ["cat", "fox"]) == [1, 3]


def test_drawn_pool_ranks_the_own_image_among_the_training_images_too(tmp_path, monkeypatch, tiny_models):
    # four seen concepts, and training images of other names; b draws each prompt's own
    # image (rank 0 among all), a draws a pool image (another name's) for the first
    # prompt: the pool measure ranks p0's own image below that one
    meta = [{"captions": {"en": [n]}, "held_out": False, "source": "emoji"} for n in
            ["p0", "p1", "p2", "p3", "other0", "other1", "p0"]]
    images = np.random.default_rng(1).integers(0, 256, (len(meta), 16, 16, 4), dtype=np.uint8)
    monkeypatch.setattr(pe, "load", lambda path: (images, meta))
    monkeypatch.setattr(pe, "training_concepts", lambda meta: [0, 1, 2, 3])
    own = pe.as_model_input(images[:4])
    a_draws = own.clone()
    a_draws[0] = pe.as_model_input(images[4:5])[0]   # "other0" for "p0"
    models = loaded_models(monkeypatch)
    monkeypatch.setattr(pe, "draw", lambda model, *rest: own if model is models["b"] else a_draws)
    run_main(monkeypatch, *tiny_models, "--split", "train", "--draws", "1", "--drawn-pool",
             "--out", str(tmp_path))

    def ranks(name):
        return [json.loads(x)["rank"] for x in (tmp_path / name).read_text().splitlines()]
    assert ranks("per-prompt-b-j1-drawn-pool.jsonl") == [0, 0, 0, 0]
    assert "own image b - a" in (tmp_path / "compare-j1-drawn-pool.md").read_text()
    assert ranks("per-prompt-a-j1-drawn-pool.jsonl")[0] >= 1    # other0 is nearer than p0's own
    assert ranks("per-prompt-a-j1-drawn-pool.jsonl")[1:] == [0, 0, 0]
    # the second "p0" image is left out of the pool: drawing p0's own image is no mistake
    assert pe.pool_rows(meta, ["p0", "p1", "p2", "p3"]) == [4, 5]


def test_encode_rows_in_chunks_equals_the_whole_at_once():
    from dir7.clip import Clip
    from dir7.config import tiny_config
    torch.manual_seed(0)
    clip = Clip(tiny_config("state")).eval()
    images = np.random.default_rng(2).integers(0, 256, (9, 16, 16, 4), dtype=np.uint8)
    rows = [8, 1, 5, 2, 7]
    with torch.no_grad():
        whole = pe.encode_images(clip, pe.as_model_input(images[rows]), "cpu")
        chunked = pe.encode_rows(clip, images, rows, "cpu", chunk=2)
    assert torch.allclose(whole, chunked, atol=1e-6)    # fp32: chunking changes no sum


def file_like_shiptest(run_dir, name, dest):
    """run_dir's b rows filed under name, as tools/file_shiptest.sh files a candidate's"""
    os.makedirs(dest, exist_ok=True)
    for f in os.listdir(run_dir):
        if f.startswith("per-prompt-b-"):
            os.rename(os.path.join(run_dir, f), os.path.join(dest, f.replace("per-prompt-b-", f"per-prompt-{name}-")))
        elif f.startswith("per-draw-"):
            os.rename(os.path.join(run_dir, f), os.path.join(dest, f.replace("per-draw-", f"per-draw-{name}-")))


def test_a_rows_from_a_filed_run_give_the_files_of_a_run_drawing_both(tmp_path, monkeypatch, tiny_models):
    # one run draws both; then b's rows are filed as "ref" and staged as a-rows, and a run
    # drawing only the other model against them must write what a run drawing both writes
    import tools.stage_a_rows as sa
    args = [*tiny_models[4:], "--draws", "3"]      # the judges and sampler settings, not --a / --b
    run_main(monkeypatch, "--a", "a", "--b", "b", *args, "--out", str(tmp_path / "ab"))
    run_main(monkeypatch, "--a", "b", "--b", "a", *args, "--out", str(tmp_path / "ba"))
    file_like_shiptest(str(tmp_path / "ab"), "ref", str(tmp_path / "filed"))
    keys = sa.stage(str(tmp_path / "filed"), "ref", str(tmp_path / "staged"))
    assert keys == ["j1", "j2"]
    drawn = loaded_models(monkeypatch)
    run_main(monkeypatch, "--a", "b", "--b", "a", *args, "--a-rows", str(tmp_path / "staged"),
             "--out", str(tmp_path / "reused"))
    assert list(drawn) == ["a"]                    # b (here the reference) was never loaded
    both = sorted(os.listdir(tmp_path / "ba"))
    assert sorted(os.listdir(tmp_path / "reused")) == both and len(both) == 8
    for name in both:
        assert (tmp_path / "reused" / name).read_bytes() == (tmp_path / "ba" / name).read_bytes(), name
    # on several GPUs: shards draw the candidate alone, --merge adds the same a-rows
    for k in (0, 1):
        run_main(monkeypatch, "--a", "b", "--b", "a", *args, "--a-rows", str(tmp_path / "staged"),
                 "--shard", f"{k}/2", "--out", str(tmp_path / f"shard-{k}"))
    run_main(monkeypatch, "--merge", str(tmp_path / "shard-0"), str(tmp_path / "shard-1"),
             "--a-rows", str(tmp_path / "staged"), "--out", str(tmp_path / "merged"))
    for name in both:
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "ba" / name).read_bytes(), name


def test_a_rows_of_other_prompts_or_draws_are_refused(tmp_path, monkeypatch, tiny_models):
    import tools.stage_a_rows as sa
    run_main(monkeypatch, *tiny_models, "--draws", "2", "--out", str(tmp_path / "ab"))
    file_like_shiptest(str(tmp_path / "ab"), "ref", str(tmp_path / "filed"))
    sa.stage(str(tmp_path / "filed"), "ref", str(tmp_path / "staged"))
    with pytest.raises(SystemExit, match="holds 2 draws, not 3"):
        run_main(monkeypatch, *tiny_models, "--draws", "3", "--a-rows", str(tmp_path / "staged"),
                 "--out", str(tmp_path / "x"))
    with pytest.raises(SystemExit, match="other prompts than these 5"):
        run_main(monkeypatch, *tiny_models, "--draws", "2", "--skip", "1", "--a-rows", str(tmp_path / "staged"),
                 "--out", str(tmp_path / "y"))
    os.remove(tmp_path / "staged" / "per-draw-a-j2.json")
    with pytest.raises(SystemExit, match="per-draw-a-j2.json is missing"):
        run_main(monkeypatch, *tiny_models, "--draws", "2", "--a-rows", str(tmp_path / "staged"),
                 "--out", str(tmp_path / "z"))
    with pytest.raises(SystemExit, match="no per-prompt-nobody"):
        sa.stage(str(tmp_path / "filed"), "nobody", str(tmp_path / "w"))
