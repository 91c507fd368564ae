"""train.py --text-cache-gb: the frozen text encoder's features looked up per caption
must be the features the encoder gives, in the batch's order, whatever the cache holds."""
import os
import sys
import types

import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "training"))
import train  # noqa: E402
from dir7.diffusion import alphas_cumprod  # noqa: E402
from dir7.export import load_model  # noqa: E402
from dir7.text_cache import TextFeatureCache, text_features  # noqa: E402
from dir7.text_encoder import batch_tokens  # noqa: E402

# Features of one caption do not depend on the others in its batch up to float rounding
# in the bf16 autocast matmuls; on this CPU they agree to the bit, the bound allows 1e-5.
TOL = 1e-5
ROW_BYTES = 129 * 128 * 4
CAPTIONS = ["red apple", "cat face", "", "猫脸", "grinning face, smile", "tram", "blue heart",
            "manzana roja", "star", "pile of poo"]


@pytest.fixture(scope="module")
def model():
    """the shipped model: a fresh one's U-Net ignores the text (zeroed output layers)"""
    return load_model(os.path.join(ROOT, "data", "models", "dir7-default.safetensors"))


def direct(model, captions):
    ids, mask = batch_tokens(captions, model.cfg.text.max_len, torch.device("cpu"), fixed=True)
    return text_features(model, ids, mask), mask


def check(model, cache, captions):
    feats, mask = cache(captions)
    want, want_mask = direct(model, captions)
    assert feats.shape == want.shape and torch.equal(mask, want_mask)
    assert (feats - want).abs().max().item() <= TOL


def test_cached_features_are_the_encoders_in_batch_order(model):
    cache = TextFeatureCache(model, torch.device("cpu"), 2 ** 30)
    check(model, cache, CAPTIONS[:6])
    assert cache.encoded == 6 and len(cache) == 6
    # repeats, a new order and two new captions: only the new ones are encoded
    batch = ["tram", "red apple", "", "tram", "blue heart", "star", "cat face", "red apple"]
    check(model, cache, batch)
    assert cache.encoded == 8 and len(cache) == 8
    check(model, cache, list(reversed(batch)))
    assert cache.encoded == 8


def test_the_cache_grows_and_keeps_its_rows(model, monkeypatch):
    monkeypatch.setattr("dir7.text_cache.FIRST_ROWS", 2)
    cache = TextFeatureCache(model, torch.device("cpu"), 2 ** 30)
    for i in range(0, len(CAPTIONS), 3):   # 3, 6, 9, 10 rows: three reallocations
        check(model, cache, CAPTIONS[i:i + 3])
    assert len(cache) == len(CAPTIONS) and cache.feats.shape[0] >= len(CAPTIONS)
    check(model, cache, CAPTIONS)
    assert cache.encoded == len(CAPTIONS)


def test_a_full_cache_encodes_what_it_cannot_hold(model):
    cache = TextFeatureCache(model, torch.device("cpu"), 3 * ROW_BYTES)
    assert cache.capacity == 3
    check(model, cache, CAPTIONS[:5])          # three kept, two encoded and given back
    assert len(cache) == 3 and cache.encoded == 5
    check(model, cache, CAPTIONS[3:8] + CAPTIONS[:2])
    assert len(cache) == 3 and cache.encoded == 10   # 3..7 again; 0 and 1 from the cache
    assert cache.feats.shape[0] == 3


def test_a_zero_byte_cache_holds_nothing(model):
    cache = TextFeatureCache(model, torch.device("cpu"), 0)
    check(model, cache, CAPTIONS[:4])
    assert len(cache) == 0 and cache.encoded == 4


def test_denoiser_loss_is_the_same_with_the_cache(model):
    # the U-Net in fp32: bf16 autocast on this CPU takes minutes a batch
    args = types.SimpleNamespace(t_min=0, min_snr=5.0, fp32=True, compile=True)
    ab = torch.tensor(alphas_cumprod(model.cfg.diffusion), dtype=torch.float32)
    captions = ["red apple", "cat face", "tram", "blue heart"]   # dropout empties the first
    x = torch.rand(len(captions), 4, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    cache = TextFeatureCache(model, torch.device("cpu"), 2 ** 30)
    losses = []
    for text_cache in (None, cache, cache):   # without, filling, and from the cache
        torch.manual_seed(3)   # the same caption dropout
        gen = torch.Generator().manual_seed(2)   # the same timesteps and noise
        with torch.no_grad():
            losses.append(train.denoiser_loss(model, model.unet, x, captions, ab, gen, args,
                                              text_cache=text_cache).item())
    assert cache.encoded > 0
    assert losses[1] == pytest.approx(losses[0], rel=1e-5, abs=1e-7)
    assert losses[2] == pytest.approx(losses[0], rel=1e-5, abs=1e-7)
    # the prompts move this loss by about 1e-3 of itself, so a wrong row would show
    torch.manual_seed(3)
    with torch.no_grad():
        other = train.denoiser_loss(model, model.unet, x, captions[::-1], ab, torch.Generator().manual_seed(2),
                                    args).item()
    assert other != pytest.approx(losses[0], rel=1e-5, abs=1e-7)
