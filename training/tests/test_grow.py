"""Growing a trained U-Net (dir7/grow.py): DIR-7 blocks at another level, more ResBlocks per
level, the text embedding."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.config import tiny_config                         # noqa: E402
from dir7.grow import grow_unet                             # noqa: E402
from dir7.text_encoder import batch_tokens                  # noqa: E402
from dir7.unet import Dir7Model                             # noqa: E402


def small_and_grown(mode):
    small_cfg = tiny_config(mode)
    small_cfg.unet.dir7_levels = [False, True]
    torch.manual_seed(0)
    small = Dir7Model(small_cfg).eval()
    grown = Dir7Model(tiny_config(mode)).eval()   # DIR-7 blocks at both levels
    grown.text.load_state_dict(small.text.state_dict())
    return small, grown


def inputs(small, seed, t):
    """Two prompts (one empty), a seeded noisy batch at timesteps t, and the small
    model's text features for them."""
    ids, mask = batch_tokens(["red apple", ""], 32)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 4, 16, 16, generator=g)
    with torch.no_grad():
        text = small.text(ids, mask)
    return x, torch.tensor(t), text, mask


@pytest.mark.parametrize("mode", ["state", "paper"])
def test_grown_unet_computes_what_the_trained_one_did(mode):
    small, grown = small_and_grown(mode)
    new = grow_unet(grown.unet, small.unet.state_dict())
    assert new == ["down.0.dir7.0", "up.0.dir7.0", "up.0.dir7.1"]
    x, t, text, mask = inputs(small, 1, [10, 700])
    with torch.no_grad():
        want = small.unet(x, t, text, mask)
        got = grown.unet(x, t, text, mask)
    # the same arithmetic plus exact zeros: fp32 agreement to 1e-6
    assert torch.allclose(got, want, atol=1e-6, rtol=0)
    # and the new blocks are live: a step on their zeroed outputs changes the result
    blk = grown.unet.get_submodule("down.0.dir7.0")
    with torch.no_grad():
        blk.ffn.value.weight.normal_(0, 0.1)
        assert not torch.allclose(grown.unet(x, t, text, mask), want, atol=1e-4)


def test_grow_refuses_a_model_that_differs_elsewhere():
    small, grown = small_and_grown("state")
    sd = dict(small.unet.state_dict())
    del sd["conv_in.weight"]
    with pytest.raises(ValueError, match="outside the parts that can grow"):
        grow_unet(grown.unet, sd)
    with pytest.raises(ValueError, match="lacks"):
        grow_unet(small.unet, grown.unet.state_dict())


@pytest.mark.parametrize("mode", ["state", "paper"])
def test_more_res_blocks_and_text_embed_start_as_the_trained_unet(mode):
    small, _ = small_and_grown(mode)
    cfg = tiny_config(mode)
    cfg.unet.num_res_blocks, cfg.unet.text_embed = 2, True
    grown = Dir7Model(cfg).eval()
    grown.text.load_state_dict(small.text.state_dict())
    new = grow_unet(grown.unet, small.unet.state_dict())
    assert new == ["down.0.dir7.0", "down.0.dir7.1", "down.0.res.1", "down.1.dir7.1", "down.1.res.1",
                   "text_embed", "up.0.dir7.0", "up.0.dir7.1", "up.0.dir7.2", "up.0.res.1",
                   "up.1.dir7.1", "up.1.res.1"]
    # the trained second up block moved to third place
    assert torch.equal(grown.unet.up[1].res[2].conv1.weight, small.unet.up[1].res[1].conv1.weight)
    x, t, text, mask = inputs(small, 2, [10, 900])
    with torch.no_grad():
        want = small.unet(x, t, text, mask)
        assert torch.allclose(grown.unet(x, t, text, mask), want, atol=1e-5, rtol=0)
        # each kind of new part is live once its zeros move
        for name, param in (("text_embed", "weight"), ("up.1.res.1", "conv2.weight"),
                            ("down.0.res.1", "conv2.weight")):
            saved = grown.unet.get_parameter(f"{name}.{param}").clone()
            grown.unet.get_parameter(f"{name}.{param}").normal_(0, 0.1)
            assert not torch.allclose(grown.unet(x, t, text, mask), want, atol=1e-4), name
            grown.unet.get_parameter(f"{name}.{param}").copy_(saved)


def test_text_embed_reads_the_last_real_token():
    cfg = tiny_config("state")
    cfg.unet.text_embed = True
    torch.manual_seed(3)
    m = Dir7Model(cfg).eval()
    ids, mask = batch_tokens(["red apple", "a"], 32)
    with torch.no_grad():
        text = m.text(ids, mask)
        x = torch.randn(1, 4, 16, 16).repeat(2, 1, 1, 1)
        t = torch.tensor([500, 500])
        # the padding after "a" must not matter: alone, it gives the same output
        ids1, mask1 = batch_tokens(["a"], 32)
        alone = m.unet(x[:1], t[:1], m.text(ids1, mask1), mask1)
        both = m.unet(x, t, text, mask)
    assert torch.allclose(both[1:], alone, atol=1e-5, rtol=0)
