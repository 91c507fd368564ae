"""Growing a trained U-Net so that the grown one starts by computing exactly what the
trained one did, and training then teaches the new parts from there:

- DIR-7 blocks at more levels: a block's three residual branches end in o_proj
  (time-mix), cross.o_proj and ffn.value; zeroed, the block is the identity.
- More ResBlocks per level (num_res_blocks): a new down block (cin = cout) with conv2
  zeroed is the identity, so its skip equals the one before it; a new up block is put
  second, reads that equal skip, and passes h through: its 1x1 skip conv is [I | 0] and
  its conv2 is zero. The trained up blocks keep their order around it (1 -> 2).
- The text embedding (unet.text_embed): zeroed, it adds nothing to the time embedding.
"""
import re

import torch

from .rwkv7 import Dir7Block

_STAGE_KEY = re.compile(r"^(down|up)\.(\d+)\.(res|dir7)\.(\d+)\.(.*)$")
_PART = re.compile(r"^((?:down|up)\.\d+\.(?:res|dir7)\.\d+|mid\.dir7\.\d+|text_embed)\.")


def _res_blocks(keys):
    """num_res_blocks of a trained U-Net state dict (down stage 0's ResBlock count)."""
    return 1 + max(int(m.group(4)) for m in map(_STAGE_KEY.match, keys)
                   if m and m.group(1) == "down" and m.group(2) == "0" and m.group(3) == "res")


def _renamed(trained, old_n, new_n):
    """Trained tensors under their names in a U-Net with new_n ResBlocks per level: down
    blocks keep their index; up block j > 0 moves to j + (new_n - old_n)."""
    out = {}
    for k, v in trained.items():
        m = _STAGE_KEY.match(k)
        if m and m.group(1) == "up" and int(m.group(4)) > 0:
            k = f"up.{m.group(2)}.{m.group(3)}.{int(m.group(4)) + new_n - old_n}.{m.group(5)}"
        out[k] = v
    return out


def _zero_dir7(blk):
    cross_out = blk.cross.o_proj if hasattr(blk.cross, "o_proj") else blk.cross.tm.o_proj
    for lin in (blk.attn.o_proj, cross_out, blk.ffn.value):
        lin.weight.zero_()


def _pass_through_res(rb, up):
    """A ResBlock that returns its input (down) or the input's first cout channels (up)."""
    rb.conv2.weight.zero_(); rb.conv2.bias.zero_()
    if up:
        w = rb.skip.weight                    # [cout, cin, 1, 1], cin = cout + the skip's channels
        w.zero_(); rb.skip.bias.zero_()
        w[:, :w.shape[0], 0, 0] = torch.eye(w.shape[0])


def grow_unet(unet, trained):
    """Load the trained U-Net state dict `trained` into the (larger) `unet` and set the new
    parts as above. Returns the new parts' names. Raises ValueError when anything else
    differs."""
    old_n, new_n = _res_blocks(trained.keys()), unet.up[0].res.__len__() - 1
    if new_n < old_n:
        raise ValueError(f"the trained model has {old_n} ResBlocks per level, this one {new_n}")
    state = _renamed(trained, old_n, new_n)
    missing, unexpected = unet.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"the trained model has tensors the grown one lacks: {unexpected[:4]}")
    new = sorted({_PART.match(k).group(1) if _PART.match(k) else k for k in missing})
    new_res_up = {f"up.{l}.res.{j}" for l in range(len(unet.up)) for j in range(1, 1 + new_n - old_n)}
    new_res_down = {f"down.{l}.res.{j}" for l in range(len(unet.down)) for j in range(old_n, new_n)}
    new_dir7 = [n for n in new if ".dir7." in n or n.startswith("mid.dir7.")]
    stray = [n for n in new if n not in new_res_up | new_res_down | set(new_dir7) | {"text_embed"}]
    if stray:
        raise ValueError(f"tensors missing outside the parts that can grow: {stray[:4]}")
    with torch.no_grad():
        for n in new:
            mod = unet.get_submodule(n)
            if isinstance(mod, Dir7Block):
                _zero_dir7(mod)
            elif n == "text_embed":
                mod.weight.zero_(); mod.bias.zero_()
            else:
                _pass_through_res(mod, up=n.startswith("up."))
    return new


def new_dir7_blocks(unet, trained_keys):
    """Names ("down.1.dir7.0", ...) of the DIR-7 blocks in `unet` that the trained
    state dict does not have (same ResBlock count per level)."""
    names = [n for n, m in unet.named_modules() if isinstance(m, Dir7Block)]
    return [n for n in names if not any(k.startswith(n + ".") for k in trained_keys)]
