"""tools/file_shiptest.sh: a candidate's three tests are filed under its name only when
their a-rows are byte for byte the reference's filed rows."""
import os
import shutil
import subprocess
import tarfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETS = {"everyday": "paired-everyday.tar", "held-out": "paired-heldout.tar", "seen": "paired.tar"}
JUDGES = ("measuring-clip", "measuring-clip-drawn-pool")


def rows(tag, s, j):
    return f'{{"set": "english_all", "i": 0, "prompt": "{tag} {s} {j}", "rank": 0}}\n'


def make_tree(root, dev, a_tag="ref"):
    """a tree with REF's rows filed in docs/eval/phase1, and a device folder whose tests'
    a-rows are rows(a_tag, ...) (the reference's when a_tag is "ref")"""
    os.makedirs(root / "training" / "tools")
    shutil.copy(os.path.join(HERE, "tools", "file_shiptest.sh"), root / "training" / "tools")
    os.makedirs(dev)
    for s, tar in SETS.items():
        ref = root / "docs" / "eval" / "phase1" / s
        os.makedirs(ref)
        src = dev / "src" / s / "paired-cand"
        os.makedirs(src)
        for j in JUDGES:
            (ref / f"per-prompt-ref-{j}.jsonl").write_text(rows("ref", s, j))
            (src / f"per-prompt-a-{j}.jsonl").write_text(rows(a_tag, s, j))
            (src / f"per-prompt-b-{j}.jsonl").write_text(rows("cand", s, j))
            (src / f"compare-{j}.md").write_text(f"compare {s} {j}\n")
            (src / f"per-draw-{j}.json").write_text("{}\n")
        with tarfile.open(dev / tar, "w") as t:
            t.add(src, arcname="paired-cand")
    (dev / "metrics-measuring.txt").write_text("paired, cand, measuring-clip: a tie\n")


def run(root, dev, *args, name="cand", **env):
    """file_shiptest.sh NAME DEV phase2 ARGS..., with env (ONLY, NEW_REF) added to ours"""
    return subprocess.run(["bash", "training/tools/file_shiptest.sh", name, str(dev), "phase2", *args],
                          cwd=root, capture_output=True, text=True, timeout=60, env={**os.environ, **env})


def test_files_rows_under_the_candidates_name(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev)
    r = run(root, dev, "ref", "phase1")
    assert r.returncode == 0, r.stderr
    for s in SETS:
        out = root / "docs" / "eval" / "phase2" / s
        for j in JUDGES:
            assert (out / f"per-prompt-cand-{j}.jsonl").read_text() == rows("cand", s, j)
            assert (out / f"compare-ref-cand-{j}.md").read_text() == f"compare {s} {j}\n"
            assert (out / f"per-draw-cand-{j}.json").exists()
        assert not list(out.glob("*-a-*"))   # the a-rows are the reference's, already filed
    assert (root / "docs" / "eval" / "phase2" / "ship-test-cand.txt").read_text().startswith("paired, cand")
    assert "a-rows = phase1's ref rows" in r.stdout


def test_other_draws_file_nothing(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev, a_tag="other seeds")
    r = run(root, dev, "ref", "phase1")
    assert r.returncode != 0 and "differ" in r.stderr and "not filed" in r.stderr
    assert not (root / "docs" / "eval" / "phase2").exists()


def test_a_missing_test_is_named(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev)
    os.remove(dev / "paired.tar")
    r = run(root, dev, "ref", "phase1")
    assert r.returncode != 0 and "paired.tar is missing" in r.stderr
    assert not (root / "docs" / "eval" / "phase2").exists()


def test_wrong_arguments_print_the_usage(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev)
    r = run(root, dev, "ref")
    assert r.returncode == 2 and "NAME DEVICE_DIR PHASE REF REF_PHASE" in r.stderr


def test_only_files_the_named_tests(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev)
    os.remove(dev / "paired.tar")
    r = run(root, dev, "ref", "phase1", ONLY="everyday held-out")
    assert r.returncode == 0, r.stderr
    out = root / "docs" / "eval" / "phase2"
    for s in ("everyday", "held-out"):
        assert (out / s / "per-prompt-cand-measuring-clip.jsonl").read_text() == rows("cand", s, "measuring-clip")
    assert not (out / "seen").exists()


def test_only_naming_no_test_is_refused(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev)
    r = run(root, dev, "ref", "phase1", ONLY="sen")
    assert r.returncode == 2 and "names none" in r.stderr
    assert not (root / "docs" / "eval" / "phase2").exists()


def test_new_ref_files_the_a_rows_once_and_then_holds_to_them(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev, a_tag="ref at 8 draws")
    r = run(root, dev, "ref8", "phase2", NEW_REF="1")
    assert r.returncode == 0, r.stderr
    for s in SETS:
        out = root / "docs" / "eval" / "phase2" / s
        for j in JUDGES:
            assert (out / f"per-prompt-ref8-{j}.jsonl").read_text() == rows("ref at 8 draws", s, j)
            assert (out / f"per-prompt-cand-{j}.jsonl").read_text() == rows("cand", s, j)
    # a second candidate drawn with other a-rows is refused: REF's rows are filed now
    dev2 = tmp_path / "dev2"
    shutil.rmtree(root / "docs" / "eval" / "phase1")
    shutil.rmtree(root / "training")
    make_tree(root, dev2, a_tag="other seeds")
    r = run(root, dev2, "ref8", "phase2", name="cand2", NEW_REF="1")
    assert r.returncode != 0 and "differ" in r.stderr
    assert not list((root / "docs" / "eval" / "phase2").glob("*/per-prompt-cand2-*"))


def test_new_ref_needs_the_phase_itself(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    make_tree(root, dev, a_tag="ref at 8 draws")
    r = run(root, dev, "ref8", "phase1", NEW_REF="1")
    assert r.returncode != 0 and "not filed" in r.stderr
    assert not (root / "docs" / "eval" / "phase2").exists()
