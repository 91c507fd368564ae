"""Growing a trained U-Net with DIR-7 blocks at another level (dir7/grow.py)."""
import os
import sys

import pytest
import torch

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


@pytest.mark.parametrize("mode", ["state", "paper"])
def test_grown_unet_computes_what_the_trained_one_did(mode):
    small, grown = small_and_grown(mode)
    new = grow_unet(grown.unet, small.unet.state_dict())
    assert new == ["down.0.dir7.0", "up.0.dir7.0", "up.0.dir7.1"]
    ids, mask = batch_tokens(["red apple", ""], 32)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 16, 16, generator=g)
    t = torch.tensor([10, 700])
    with torch.no_grad():
        text = small.text(ids, mask)
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
    with pytest.raises(ValueError, match="outside new DIR-7 blocks"):
        grow_unet(grown.unet, sd)
    with pytest.raises(ValueError, match="lacks"):
        grow_unet(small.unet, grown.unet.state_dict())
