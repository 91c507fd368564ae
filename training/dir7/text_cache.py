"""The frozen text encoder's features, kept per caption on the training device.

The denoiser's text encoder never changes while it trains, and a run sees the same
captions again and again (phase 22's run at batch 512: 383,659 distinct ones in its
first 3.07 million draws), so each caption is encoded once and its features are looked
up after that: the loop then neither tokenises on the host nor runs the text encoder's
many small kernels for the captions it has seen. Features are padded to the fixed
length (1 + max_len), as batch_tokens(fixed=True) gives them; padding changes no output.
"""
import torch

from .text_encoder import batch_tokens

FIRST_ROWS = 1024


def text_features(model, ids, mask):
    """The frozen text encoder's features [B, L, D] in float32, as training computes them."""
    with torch.no_grad(), torch.autocast(ids.device.type, torch.bfloat16):
        return model.text(ids, mask).float()


class TextFeatureCache:
    """caption -> (features [L, D], mask [L]) on `device`, for at most max_bytes of
    features; past that, new captions are encoded every time they come."""

    def __init__(self, model, device, max_bytes):
        t = model.cfg.text
        self.model, self.device, self.max_len = model, device, t.max_len
        self.length, self.dim = t.max_len + 1, t.dim
        self.capacity = int(max_bytes // (self.length * self.dim * 4))
        self.rows = {}        # caption -> its row in feats and masks
        self.feats = torch.empty(0, self.length, self.dim, device=device)
        self.masks = torch.empty(0, self.length, device=device)
        self.encoded = 0      # captions put through the text encoder (logged beside len())

    def _encode(self, captions):
        ids, mask = batch_tokens(captions, self.max_len, self.device, fixed=True)
        self.encoded += len(captions)
        return text_features(self.model, ids, mask), mask

    def _store(self, captions, feats, masks):
        n = len(self.rows)
        if n + len(captions) > self.feats.shape[0]:   # grow by doubling, up to the capacity
            rows = min(self.capacity, max(2 * self.feats.shape[0], n + len(captions), FIRST_ROWS))
            grown = torch.empty(rows, self.length, self.dim, device=self.device)
            grown[:n] = self.feats[:n]
            grown_masks = torch.empty(rows, self.length, device=self.device)
            grown_masks[:n] = self.masks[:n]
            self.feats, self.masks = grown, grown_masks
        self.feats[n:n + len(captions)] = feats
        self.masks[n:n + len(captions)] = masks
        for i, c in enumerate(captions):
            self.rows[c] = n + i

    def __call__(self, captions):
        """features [B, L, D] and mask [B, L] for a batch of captions, in its order."""
        new = list(dict.fromkeys(c for c in captions if c not in self.rows))
        fresh = {}
        if new:
            feats, masks = self._encode(new)
            keep = max(0, min(len(new), self.capacity - len(self.rows)))
            if keep:
                self._store(new[:keep], feats[:keep], masks[:keep])
            fresh = {c: i for i, c in enumerate(new) if i >= keep}   # encoded, not kept
        if not fresh:
            idx = torch.tensor([self.rows[c] for c in captions], device=self.device)
            return self.feats[idx], self.masks[idx]
        # the cache is full: its rows for the captions it holds, this batch's encoding for the rest
        out = torch.empty(len(captions), self.length, self.dim, device=self.device)
        out_mask = torch.empty(len(captions), self.length, device=self.device)
        held = [i for i, c in enumerate(captions) if c not in fresh]
        if held:
            rows = torch.tensor([self.rows[captions[i]] for i in held], device=self.device)
            out[held], out_mask[held] = self.feats[rows], self.masks[rows]
        rest = [i for i, c in enumerate(captions) if c in fresh]
        src = torch.tensor([fresh[captions[i]] for i in rest], device=self.device)
        out[rest], out_mask[rest] = feats[src], masks[src]
        return out, out_mask

    def __len__(self):
        return len(self.rows)
