"""train.py under torchrun: two ranks on the CPU (gloo) train the tiny network together.

Each rank used to stop and set its cosine lr by its own clock: a rank that stops a step
early leaves the others in their gradient all-reduce, and ranks with different lrs drift
apart. Here rank 1's clock runs 4 times as fast as rank 0's (tests/ddp_rank.py): the run
must still end on both ranks at the same step, within the timeout, with the same weights;
and when rank 1's weights are moved before the end, train.py must say so and fail."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402

if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch without gloo", allow_module_level=True)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.config import tiny_config  # noqa: E402
from dir7.unet import Dir7Model  # noqa: E402

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 120   # a hung all-reduce waits 30 minutes; the run itself takes about 20 s here


@pytest.fixture()
def run_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.save(data / "images.npy", rng.integers(0, 256, (8, 64, 64, 4), dtype=np.uint8))
    meta = [{"source": "emoji", "id": str(i), "captions": {"en": [f"thing {i}"]}, "held_out": False}
            for i in range(8)]
    (data / "meta.json").write_text(json.dumps(meta))
    run = tmp_path / "run"
    run.mkdir()
    text = Dir7Model(tiny_config("state")).text.state_dict()
    torch.save({"model": {f"text.{k}": v for k, v in text.items()}}, run / "clip.pt")
    return data, run


def train_run(data, run, ranks=2, max_steps=40, **env):
    """train.py denoiser through tests/ddp_rank.py, under torchrun (ranks=0: one plain process)"""
    # "--": torchrun would read train.py's --run as an ambiguous abbreviation of its own --run-path
    launch = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks), "--"] if ranks else []
    cmd = [sys.executable, *launch, os.path.join(TRAINING, "tests", "ddp_rank.py"), "denoiser",
           "--data", str(data), "--run", str(run), "--batch", "2", "--minutes", "1", "--max-steps", str(max_steps),
           "--anneal", "--lr", "1e-3", "--prediction", "v"]
    p = subprocess.Popen(cmd, cwd=TRAINING, env={**os.environ, "OMP_NUM_THREADS": "1", **env},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_ranks(p, str(run))
        out, _ = p.communicate()
        pytest.fail(f"the two ranks hung (killed after {TIMEOUT_S} s):\n{out[-3000:]}")
    return p.returncode, out


def kill_ranks(agent, run):
    """torchrun's ranks live in their own process groups and hold its output open: killing
    the agent alone would leave the test waiting on them, so kill every process that was
    given this test's run folder."""
    os.killpg(agent.pid, signal.SIGKILL)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if run.encode() in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:   # gone already, or not ours to read
            pass


def test_ranks_with_drifting_clocks_stop_together_with_the_same_weights(run_dir):
    data, run = run_dir
    rc, out = train_run(data, run, DDP_SKEW="4")
    assert rc == 0, out[-3000:]
    ck = torch.load(run / "denoiser-state.pt", map_location="cpu")
    # rank 1's clock ends the run for both: at 4x it reaches a minute in 15 s
    assert 3 <= ck["step"] < 40, out[-3000:]
    print(f"{ck['step']} steps")
    assert f"denoiser: {ck['step']} steps" in out


def test_ranks_whose_weights_differ_fail_the_run(run_dir):
    data, run = run_dir
    rc, out = train_run(data, run, DDP_SKEW="1", DDP_PERTURB="1")
    assert rc != 0
    assert "the weights of rank(s) [1] differ from rank 0's" in out


def test_one_process_without_torchrun_trains_as_before(run_dir):
    data, run = run_dir
    rc, out = train_run(data, run, ranks=0, max_steps=5)
    assert rc == 0, out[-3000:]
    assert torch.load(run / "denoiser-state.pt", map_location="cpu")["step"] == 5
    assert "denoiser: 5 steps" in out, out[-3000:]
