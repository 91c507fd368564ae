"""The DIR-7 U-Net denoiser (contract section 5) and the whole model."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

from .rwkv7 import Dir7Block
from .text_encoder import TextEncoder


def timestep_embedding(t, dim):
    """[cos(t f), sin(t f)], f_i = 10000^(-i / (dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def last_token(text, text_mask):
    """Each prompt's last real token's feature [B, D]: the RWKV state has read the whole
    prompt there (the CLIP's text embedding before its projection)."""
    last = text_mask.sum(1).long() - 1
    return text[torch.arange(text.shape[0], device=text.device), last]


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb_proj = nn.Linear(time_dim, 2 * cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb_proj(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Stage(nn.Module):
    """ResBlocks, each followed by a DIR-7 block when the stage carries them.
    All DIR-7 blocks of one stage share the first block's v (v_first)."""

    def __init__(self, cins, cout, cfg, text_dim, with_dir7):
        super().__init__()
        u = cfg.unet
        self.res = nn.ModuleList(ResBlock(c, cout, u.time_dim, u.norm_groups, u.norm_eps) for c in cins)
        self.dir7 = nn.ModuleList(
            Dir7Block(cout, text_dim, cfg.head_size, u.lora, u.cross_mode, i == 0, cfg.layer_norm_eps)
            for i in range(len(cins))) if with_dir7 else None

    def block(self, i, h, emb, v_first, text, text_mask, cache):
        h = self.res[i](h, emb)
        if self.dir7 is not None:
            B, C, H, W = h.shape
            x = h.flatten(2).transpose(1, 2)            # raster-order tokens [B, T, C]
            x, v_first = self.dir7[i](x, v_first, text, text_mask, cache)
            h = x.transpose(1, 2).reshape(B, C, H, W)
        return h, v_first


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        u = cfg.unet
        text_dim = cfg.text.dim
        C0 = u.base_channels
        chans = [C0 * m for m in u.channel_mult]
        self.base = C0
        self.time_embed = nn.Sequential(nn.Linear(C0, u.time_dim), nn.SiLU(), nn.Linear(u.time_dim, u.time_dim))
        # GLIDE's global conditioning: the prompt reaches every ResBlock, at every resolution
        self.text_embed = nn.Linear(text_dim, u.time_dim) if u.text_embed else None
        self.conv_in = nn.Conv2d(u.image_channels, C0, 3, padding=1)
        self.down = nn.ModuleList()
        skips, ch = [C0], C0
        for i, c in enumerate(chans):
            cins = [ch] + [c] * (u.num_res_blocks - 1)
            self.down.append(Stage(cins, c, cfg, text_dim, u.dir7_levels[i]))
            ch = c
            skips += [c] * u.num_res_blocks
            if i < len(chans) - 1:
                self.down[-1].down = Downsample(c)
                skips.append(c)
        self.mid = Stage([ch, ch], ch, cfg, text_dim, u.mid_dir7)
        self.up = nn.ModuleList([None] * len(chans))
        for i in reversed(range(len(chans))):
            c = chans[i]
            cins = []
            for _ in range(u.num_res_blocks + 1):
                cins.append(ch + skips.pop())
                ch = c
            st = Stage(cins, c, cfg, text_dim, u.dir7_levels[i])
            if i > 0:
                st.up = Upsample(c)
            self.up[i] = st
        self.norm_out = nn.GroupNorm(u.norm_groups, ch, eps=u.norm_eps)
        self.conv_out = nn.Conv2d(ch, u.image_channels, 3, padding=1)

    def forward(self, x, t, text, text_mask, cache=None):
        emb = self.time_embed(timestep_embedding(t, self.base))
        if self.text_embed is not None:
            emb = emb + self.text_embed(last_token(text, text_mask))
        h = self.conv_in(x)
        hs = [h]
        for st in self.down:
            v_first = None
            for i in range(len(st.res)):
                h, v_first = st.block(i, h, emb, v_first, text, text_mask, cache)
                hs.append(h)
            if hasattr(st, "down"):
                h = st.down(h)
                hs.append(h)
        v_first = None
        for i in range(2):
            h, v_first = self.mid.block(i, h, emb, v_first, text, text_mask, cache)
        for st in reversed(self.up):
            v_first = None
            for i in range(len(st.res)):
                h = torch.cat([h, hs.pop()], dim=1)
                h, v_first = st.block(i, h, emb, v_first, text, text_mask, cache)
            if hasattr(st, "up"):
                h = st.up(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Dir7Model(nn.Module):
    """Text encoder + denoiser; state_dict names are the model file's names."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.text = TextEncoder(cfg)
        self.unet = UNet(cfg)
