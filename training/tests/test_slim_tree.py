"""tools/slim_tree.sh: the folders a device run does not read go out of the working
tree and come back unchanged."""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_tree(root):
    for path, text in (("docs/eval/phase1/m.json", "{}"), ("tests/golden/g.bin", "gold"),
                       ("docs/model-card.md", "card"), ("fuzz/corpus/c.bin", "seed"),
                       ("README.md", "readme")):
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)
    os.makedirs(os.path.join(root, "training", "tools"))
    shutil.copy(os.path.join(HERE, "tools", "slim_tree.sh"), os.path.join(root, "training", "tools"))


def slim(root, verb, model=None, cwd=""):
    """slim_tree.sh VERB run from root/cwd, with MODEL=model when given"""
    env = dict(os.environ, MODEL=model) if model else None
    script = os.path.relpath(os.path.join(root, "training", "tools", "slim_tree.sh"), os.path.join(root, cwd))
    return subprocess.run(["bash", script, verb], cwd=os.path.join(root, cwd), env=env,
                          capture_output=True, text=True, timeout=60)


def read(root, path):
    with open(os.path.join(root, path)) as f:
        return f.read()


def test_out_and_back(tmp_path):
    make_tree(tmp_path)
    assert slim(tmp_path, "out").returncode == 0
    for gone in ("docs", "tests/golden", "fuzz"):
        assert not (tmp_path / gone).exists(), gone
    assert read(tmp_path, "README.md") == "readme"   # the rest stays
    again = slim(tmp_path, "out")
    assert again.returncode != 0 and "back" in again.stderr   # a second out would mix two stashes
    assert slim(tmp_path, "back").returncode == 0
    assert read(tmp_path, "docs/eval/phase1/m.json") == "{}"
    assert read(tmp_path, "tests/golden/g.bin") == "gold"
    assert read(tmp_path, "docs/model-card.md") == "card"
    assert read(tmp_path, "fuzz/corpus/c.bin") == "seed"
    assert not (tmp_path / ".slim").exists()


def test_back_keeps_a_copy_restored_meanwhile(tmp_path):
    make_tree(tmp_path)
    slim(tmp_path, "out")
    os.makedirs(tmp_path / "docs" / "eval")   # as git checkout -- docs/eval would
    (tmp_path / "docs" / "eval" / "new.json").write_text("[]")
    r = slim(tmp_path, "back")
    assert r.returncode == 0 and "left for you to compare" in r.stderr
    assert read(tmp_path, "docs/eval/new.json") == "[]"
    assert read(tmp_path, ".slim/docs/eval/phase1/m.json") == "{}"   # nothing lost
    assert read(tmp_path, ".slim/docs/model-card.md") == "card"
    assert read(tmp_path, "tests/golden/g.bin") == "gold"


def test_judges_go_out_only_when_asked_and_always_come_back(tmp_path):
    make_tree(tmp_path)
    os.makedirs(tmp_path / "training" / "judges")
    (tmp_path / "training" / "judges" / "j.pt").write_text("judge")
    assert slim(tmp_path, "out").returncode == 0
    assert read(tmp_path, "training/judges/j.pt") == "judge"   # a plain out keeps them
    assert slim(tmp_path, "back").returncode == 0
    r = subprocess.run(["bash", "training/tools/slim_tree.sh", "out"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60, env={**os.environ, "JUDGES": "1"})
    assert r.returncode == 0 and not (tmp_path / "training" / "judges").exists()
    assert slim(tmp_path, "back").returncode == 0   # back, without JUDGES set
    assert read(tmp_path, "training/judges/j.pt") == "judge"
    assert not (tmp_path / ".slim").exists()


def test_a_model_file_in_place_of_the_trees_for_the_calls(tmp_path):
    # a run that goes on with another text encoder needs it in the tree's model file
    make_tree(tmp_path)
    os.makedirs(tmp_path / "data" / "models")
    (tmp_path / "data" / "models" / "dir7-default.safetensors").write_text("shipped")
    (tmp_path / "cand.safetensors").write_text("candidate")
    # a path relative to where it is called from (prepare_chunk.sh calls it from training/)
    r = slim(tmp_path, "out", model="../cand.safetensors", cwd="training")
    assert r.returncode == 0, r.stderr
    assert read(tmp_path, "data/models/dir7-default.safetensors") == "candidate"
    assert slim(tmp_path, "back").returncode == 0
    assert read(tmp_path, "data/models/dir7-default.safetensors") == "shipped"
    assert read(tmp_path, "cand.safetensors") == "candidate"
    assert not (tmp_path / ".slim").exists()


def test_a_missing_model_file_moves_nothing(tmp_path):
    make_tree(tmp_path)
    r = slim(tmp_path, "out", model=str(tmp_path / "none.safetensors"))
    assert r.returncode != 0 and "not a file" in r.stderr
    assert (tmp_path / "docs" / "eval").exists() and not (tmp_path / ".slim").exists()
