"""Self-consistency of the PyTorch reference (needs torch; skipped without it)."""
import math
import os
import sys

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from dir7.config import tiny_config, Dir7Config           # noqa: E402
from dir7.wkv import wkv7_recurrent, wkv7_chunked, wkv7_chunked_batched  # noqa: E402
from dir7 import rwkv7                                     # noqa: E402
from dir7.unet import Dir7Model                            # noqa: E402
from dir7.text_encoder import batch_tokens, tokenize, EOT  # noqa: E402
from dir7 import diffusion                                 # noqa: E402
from dir7.export import save_model, load_model             # noqa: E402


def rand_wkv(B=2, T=90, H=2, N=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    r, k, v = (torch.randn(B, T, H, N, generator=g) for _ in range(3))
    w = -0.6065306597126334 * torch.sigmoid(torch.randn(B, T, H, N, generator=g))
    kk = torch.nn.functional.normalize(torch.randn(B, T, H, N, generator=g), dim=-1)
    lr = torch.sigmoid(torch.randn(B, T, H, N, generator=g))
    return r, w, k, v, -kk, kk * lr


@pytest.mark.parametrize("chunk", [16, 64])
def test_chunked_equals_recurrent(chunk):
    args = rand_wkv()
    s0 = 0.1 * torch.randn(2, 2, 64, 64)
    o1, s1 = wkv7_recurrent(*args, state=s0)
    o2, s2 = wkv7_chunked(*args, state=s0, chunk=chunk)
    assert (o1 - o2).abs().max() <= 1e-4 * (1 + o1.abs().max())
    assert (s1 - s2).abs().max() <= 1e-4 * (1 + s1.abs().max())


@pytest.mark.parametrize("chunk", [16, 32, 64])
def test_batched_chunked_equals_recurrent(chunk):
    args = rand_wkv(T=150)
    s0 = 0.1 * torch.randn(2, 2, 64, 64)
    o1, s1 = wkv7_recurrent(*args, state=s0)
    o2, s2 = wkv7_chunked_batched(*args, state=s0, chunk=chunk)
    assert (o1 - o2).abs().max() <= 1e-4 * (1 + o1.abs().max())
    assert (s1 - s2).abs().max() <= 1e-4 * (1 + s1.abs().max())


def test_training_path_equals_reference_model():
    torch.manual_seed(3)
    m = Dir7Model(tiny_config()).eval()
    ids, mask = batch_tokens(["a red apple", "x"], 32)
    x = torch.randn(2, 4, 16, 16)
    with torch.no_grad():
        ref = m.unet(x, torch.tensor([3, 900]), m.text(ids, mask), mask)
        rwkv7.WKV_IMPL = "batched"
        try:
            fast = m.unet(x, torch.tensor([3, 900]), m.text(ids, mask), mask)
        finally:
            rwkv7.WKV_IMPL = "reference"
    assert (ref - fast).abs().max() <= 1e-4 * (1 + ref.abs().max())


def test_recurrence_matches_definition():
    """One step by the contract's formula, written out with explicit loops."""
    r, w, k, v, a, b = (x[:, :1, :1, :8] for x in rand_wkv(B=1, T=1, H=1, N=8))
    S0 = torch.randn(1, 1, 8, 8)
    o, S = wkv7_recurrent(r, w, k, v, a, b, state=S0)
    S_ref = torch.zeros(8, 8)
    for i in range(8):
        sa = sum(S0[0, 0, i, j] * a[0, 0, 0, j] for j in range(8))
        for j in range(8):
            S_ref[i, j] = S0[0, 0, i, j] * math.exp(w[0, 0, 0, j]) + sa * b[0, 0, 0, j] + v[0, 0, 0, i] * k[0, 0, 0, j]
    assert torch.allclose(S[0, 0], S_ref, atol=1e-5)
    assert torch.allclose(o[0, 0, 0], S_ref @ r[0, 0, 0], atol=1e-5)


def test_tokenizer():
    assert tokenize("ab", 10) == [EOT, 97, 98]
    assert tokenize("é", 10) == [EOT, 0xC3, 0xA9]
    assert len(tokenize("x" * 100, 32)) == 33


@pytest.mark.parametrize("mode", ["state", "paper"])
def test_padding_does_not_change_a_prompt(mode):
    torch.manual_seed(0)
    m = Dir7Model(tiny_config(mode)).eval()
    ids, mask = batch_tokens(["a", "a much longer prompt"], 32)
    ids1, mask1 = batch_tokens(["a"], 32)
    x = torch.randn(1, 4, 16, 16)
    with torch.no_grad():
        e2 = m.unet(x.expand(2, -1, -1, -1), torch.tensor([5, 5]), m.text(ids, mask), mask)[0]
        e1 = m.unet(x, torch.tensor([5]), m.text(ids1, mask1), mask1)[0]
    assert torch.allclose(e1, e2, atol=1e-5)


@pytest.mark.parametrize("mode", ["state", "paper"])
def test_fixed_length_batches_give_the_same_output(mode):
    # train.py --compile pads every batch to 1 + max_len (one shape to compile)
    torch.manual_seed(2)
    m = Dir7Model(tiny_config(mode)).eval()
    prompts = ["a red apple", "", "un chat noir"]
    ids, mask = batch_tokens(prompts, 32)
    idsf, maskf = batch_tokens(prompts, 32, fixed=True)
    assert ids.shape == (3, 13) and idsf.shape == maskf.shape == (3, 33)
    assert torch.equal(idsf[:, :13], ids) and not idsf[:, 13:].any() and not maskf[:, 13:].any()
    x, t = torch.randn(3, 4, 16, 16), torch.tensor([5, 500, 900])
    with torch.no_grad():
        e = m.unet(x, t, m.text(ids, mask), mask)
        ef = m.unet(x, t, m.text(idsf, maskf), maskf)
    assert torch.allclose(e, ef, atol=1e-5)   # fp32: the chunked WKV sums in another order


def test_model_file_round_trip(tmp_path):
    torch.manual_seed(1)
    m = Dir7Model(tiny_config()).eval()
    p = tmp_path / "m.safetensors"
    save_model(m, p)
    m2 = load_model(p)
    for (n1, t1), (n2, t2) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert n1 == n2 and torch.equal(t1, t2)
    assert Dir7Config.from_json(m.cfg.to_json()) == m.cfg


def test_schedule_and_timesteps():
    ab = diffusion.alphas_cumprod(tiny_config().diffusion)
    assert len(ab) == 1000 and abs(ab[0] - (1 - 1e-4)) < 1e-12 and ab[-1] < 1e-4
    ts = diffusion.timesteps(1000, 20)
    assert ts[0] == 999 and ts[-1] == 49 and all(a > b for a, b in zip(ts, ts[1:]))
    assert len(set(diffusion.timesteps(1000, 1000))) == 1000
    assert diffusion.first_step(20, 0.5) == 10 and diffusion.first_step(20, 0.01) == 19


def test_min_snr_weight():
    """1 where SNR <= gamma (noisy steps keep their full loss), gamma / SNR above it."""
    ab = torch.tensor(diffusion.alphas_cumprod(tiny_config().diffusion), dtype=torch.float64)
    w = diffusion.min_snr_weight(ab, 5.0)
    snr = ab / (1 - ab)
    assert torch.all(w[snr <= 5] == 1)
    assert torch.allclose(w[snr > 5] * snr[snr > 5], torch.full_like(w[snr > 5], 5.0))
    assert w[0] < 1e-3 and w[999] == 1 and torch.all(w[1:] >= w[:-1])   # t=0: SNR about 1e4
    # this schedule's SNR falls to 5 at t = 130
    assert int((snr > 5).sum()) == 130


@pytest.mark.parametrize("sampler", diffusion.SAMPLERS)
def test_samplers_are_deterministic(sampler):
    torch.manual_seed(2)
    m = Dir7Model(tiny_config()).eval()
    a = diffusion.sample(m, "x", steps=3, sampler=sampler, seed=5)
    b = diffusion.sample(m, "x", steps=3, sampler=sampler, seed=5)
    c = diffusion.sample(m, "x", steps=3, sampler=sampler, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (4, 16, 16) and a.abs().max() <= 1.0 + 1e-6
