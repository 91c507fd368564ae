"""Byte-level RWKV-7 text encoder (contract section 6)."""
import torch
import torch.nn as nn

from .rwkv7 import TimeMix, ChannelMix

EOT = 256  # <|endoftext|>, prepended to every prompt


def tokenize(prompt: str, max_len: int):
    """[EOT] + the prompt's UTF-8 bytes, cut to max_len bytes."""
    return [EOT] + list(prompt.encode("utf-8"))[:max_len]


def batch_tokens(prompts, max_len, device=None, fixed=False):
    """Right-padded token ids [B, L] and a validity mask [B, L]: L is the longest
    prompt's length, or with fixed the longest possible (1 + max_len), one shape for
    every batch (torch.compile then compiles once, and faster; padding changes no
    output, as the text encoder is causal and CrossWKV steps over masked tokens)."""
    toks = [tokenize(p, max_len) for p in prompts]
    L = max_len + 1 if fixed else max(len(t) for t in toks)
    # filled on the CPU and moved once: a copy per prompt to a GPU costs more than the batch
    ids = torch.zeros(len(toks), L, dtype=torch.long)
    mask = torch.zeros(len(toks), L, dtype=torch.float32)
    for i, t in enumerate(toks):
        ids[i, :len(t)] = torch.tensor(t)
        mask[i, :len(t)] = 1
    return ids.to(device), mask.to(device)


class TextBlock(nn.Module):
    def __init__(self, dim, head_size, ranks, first, eps):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.attn = TimeMix(dim, head_size, ranks, first)
        self.ln2 = nn.LayerNorm(dim, eps=eps)
        self.ffn = ChannelMix(dim)

    def forward(self, x, v_first):
        a, v_first = self.attn(self.ln1(x), v_first)
        x = x + a
        return x + self.ffn(self.ln2(x)), v_first


class TextEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        t = cfg.text
        self.emb = nn.Embedding(t.vocab_size, t.dim)
        self.ln_in = nn.LayerNorm(t.dim, eps=cfg.layer_norm_eps)
        self.blocks = nn.ModuleList(
            TextBlock(t.dim, cfg.head_size, t.lora, i == 0, cfg.layer_norm_eps) for i in range(t.layers))
        self.ln_out = nn.LayerNorm(t.dim, eps=cfg.layer_norm_eps)

    def forward(self, ids, mask):
        """Per-token features [B, L, Dq]; padded positions are zero."""
        x = self.ln_in(self.emb(ids))
        v_first = None
        for blk in self.blocks:
            x, v_first = blk(x, v_first)
        return self.ln_out(x) * mask[..., None]

    def pooled(self, ids, mask):
        """The last real token's feature: the CLIP text embedding."""
        feats = self.forward(ids, mask)
        last = mask.sum(1).long() - 1
        return feats[torch.arange(ids.shape[0]), last]
