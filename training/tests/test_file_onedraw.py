"""tools/file_onedraw.sh: the one-draw test's new file is filed under its name, and only when
the file beside it drew its filed rows again; compare.md is compare_eval's table."""
import os
import shutil
import subprocess
import tarfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JUDGES = ("clip-image", "measuring-clip")


def rows(tag, j, n=12):
    """n prompts; the ranks and scores differ by tag so that compare_eval has work to do"""
    shift = {"ref": 0.0, "new": 1.5, "old": -1.0}.get(tag, 0.25)
    return "".join(f'{{"set": "generated_en", "i": {i}, "prompt": "{j} {i}", "rank": {i % 3}, '
                   f'"clip_score": {50 + i + shift * (i % 4)}}}\n' for i in range(n))


def make_tree(root, dev, cand_tag="ref"):
    """a tree with ref's rows filed in docs/eval/phase1/onedraw and old's in phase0, and a
    device folder whose onedraw.tar holds the tree's file (new) and the carried one
    (dir7-ref, drawing rows(cand_tag))"""
    tools = root / "training" / "tools"
    os.makedirs(tools)
    for f in ("file_onedraw.sh", "compare_eval.py", "__init__.py"):
        shutil.copy(os.path.join(HERE, "tools", f), tools)
    for name, phase in (("ref", "phase1"), ("old", "phase0")):
        d = root / "docs" / "eval" / phase / "onedraw"
        os.makedirs(d)
        for j in JUDGES:
            (d / f"per-prompt-{name}-{j}.jsonl").write_text(rows(name, j))
    src = dev / "src" / "onedraw"
    for prefix, tag in (("dir7-default", "new"), ("dir7-dir7-ref", cand_tag)):
        for j in JUDGES:
            os.makedirs(src / f"{prefix}-{j}")
            (src / f"{prefix}-{j}" / "per-prompt.jsonl").write_text(rows(tag, j))
            (src / f"{prefix}-{j}" / "metrics.json").write_text(f'{{"judge": "{j}", "model": "{tag}"}}\n')
            (src / f"{prefix}-{j}" / "samples.png").write_bytes(f"png {tag}".encode())
        (src / f"drawn-128-{prefix}.json").write_text(f'{{"drawn_top1": 0.5, "model": "{tag}"}}\n')
    with tarfile.open(dev / "onedraw.tar", "w") as t:
        t.add(src, arcname="onedraw")


def run(root, dev, *args):
    return subprocess.run(["bash", "training/tools/file_onedraw.sh", str(dev), "phase2", *args],
                          cwd=root, capture_output=True, text=True, timeout=120)


def test_files_the_new_file_and_compares_it(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    os.makedirs(dev)
    make_tree(root, dev)
    r = run(root, dev, "new", "ref", "ref:phase1", "old:phase0")
    assert r.returncode == 0, r.stderr
    out = root / "docs" / "eval" / "phase2" / "onedraw"
    for j in JUDGES:
        assert (out / f"per-prompt-new-{j}.jsonl").read_text() == rows("new", j)
        assert '"model": "new"' in (out / f"metrics-new-{j}.json").read_text()
        assert f"ref {j}: rows = phase1's" in r.stdout
    assert (out / "samples-new.png").read_bytes() == b"png new"
    assert '"model": "new"' in (out / "drawn-128-new.json").read_text()
    assert not list(out.glob("*-ref*"))   # ref's rows are filed in phase1 already
    compare = (out / "compare.md").read_text()
    for j in JUDGES:
        for o in ("ref", "old"):
            assert f"## {o} -> new, {j}\n| set | CLIP score B - A" in compare
    # the table is compare_eval's on the filed rows: new scores above ref's (shift 1.5)
    ref_table = compare.split("## ref -> new, clip-image\n")[1].split("##")[0]
    assert "| generated_en | +" in ref_table


def test_other_draws_file_nothing(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    os.makedirs(dev)
    make_tree(root, dev, cand_tag="other seeds")
    r = run(root, dev, "new", "ref", "ref:phase1")
    assert r.returncode != 0 and "differ" in r.stderr and "not filed" in r.stderr
    assert not (root / "docs" / "eval" / "phase2").exists()


def test_two_new_files_compare_the_tree_with_the_carried(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    os.makedirs(dev)
    make_tree(root, dev, cand_tag="cand")
    r = run(root, dev, "new", "cand")
    assert r.returncode == 0, r.stderr
    out = root / "docs" / "eval" / "phase2" / "onedraw"
    assert (out / "per-prompt-cand-clip-image.jsonl").read_text() == rows("cand", "clip-image")
    assert (out / "samples-cand.png").read_bytes() == b"png cand"
    compare = (out / "compare.md").read_text()
    assert "## cand -> new, measuring-clip" in compare and "-> cand" not in compare


def test_missing_tar_and_bad_arguments(tmp_path):
    root, dev = tmp_path / "tree", tmp_path / "dev"
    os.makedirs(dev)
    make_tree(root, dev)
    r = run(root, dev, "new", "ref", "ref-phase1")
    assert r.returncode == 2 and "not NAME:PHASE" in r.stderr
    r = run(root, dev, "new")
    assert r.returncode == 2 and "DEVICE_DIR PHASE TREE CAND" in r.stderr
    os.remove(dev / "onedraw.tar")
    r = run(root, dev, "new", "ref", "ref:phase1")
    assert r.returncode != 0 and "onedraw.tar is missing" in r.stderr
    assert not (root / "docs" / "eval" / "phase2").exists()
