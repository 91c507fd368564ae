"""Growing a trained U-Net: DIR-7 blocks added at more levels start as the identity.

A new block's three residual branches end in o_proj (time-mix), cross.o_proj and
ffn.value; with those zeroed the grown U-Net computes exactly what the trained one
did, and training then teaches the new blocks (CrossWKV included) from there.
"""
import torch

from .rwkv7 import Dir7Block


def new_dir7_blocks(unet, trained_keys):
    """Names ("down.1.dir7.0", ...) of the DIR-7 blocks in `unet` that the trained
    state dict does not have."""
    names = [n for n, m in unet.named_modules() if isinstance(m, Dir7Block)]
    return [n for n in names if not any(k.startswith(n + ".") for k in trained_keys)]


def grow_unet(unet, trained):
    """Load the trained U-Net state dict `trained` into the (larger) `unet`; zero the
    new blocks' output projections. Returns the new blocks' names. Raises ValueError
    when anything other than whole new DIR-7 blocks differs."""
    new = new_dir7_blocks(unet, trained.keys())
    missing, unexpected = unet.load_state_dict(trained, strict=False)
    if unexpected:
        raise ValueError(f"the trained model has tensors the grown one lacks: {unexpected[:4]}")
    stray = [k for k in missing if not any(k.startswith(n + ".") for n in new)]
    if stray:
        raise ValueError(f"tensors missing outside new DIR-7 blocks: {stray[:4]}")
    with torch.no_grad():
        for n in new:
            blk = unet.get_submodule(n)
            for lin in (blk.attn.o_proj, blk.cross.o_proj if hasattr(blk.cross, "o_proj") else blk.cross.tm.o_proj,
                        blk.ffn.value):
                lin.weight.zero_()
    return new
