"""RWKV-7 time-mix, channel-mix and CrossWKV (contract sections 2-4).

Tensors are [B, T, D]. Parameter names follow fla's RWKV7Attention so the
state_dict names in a model file read the same as there.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .wkv import wkv7_recurrent, wkv7_chunked, wkv7_chunked_batched

W_SCALE = -0.6065306597126334  # log-decay range: exp(w) in (0.545, 1)

# "reference": token by token for T <= 64, chunked beyond (what the C core does
# and what the goldens use); "batched": every length through the batched
# chunked form, fast on a GPU (training). Both agree to fp32 rounding.
WKV_IMPL = "reference"


class LoRA(nn.Module):
    """din -> rank -> dout; activation in the middle (None = identity)."""

    def __init__(self, din, dout, rank, activation=None, bias=True):
        super().__init__()
        act = {None: nn.Identity(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[activation]
        self.lora = nn.Sequential(nn.Linear(din, rank, bias=False), act,
                                  nn.Linear(rank, dout, bias=bias))

    def forward(self, x):
        return self.lora(x)


def token_shift_delta(x):
    """shift(x) - x with a zero before the first token."""
    return F.pad(x, (0, 0, 1, -1)) - x


def wkv(r, w, k, v, a, b, H, N, state=None):
    B, T, _ = r.shape
    shape = (B, T, H, N)
    args = [t.reshape(shape) for t in (r, w, k, v, a, b)]
    if WKV_IMPL == "batched":
        o, S = wkv7_chunked_batched(*args, state=state)
    else:
        fn = wkv7_recurrent if T <= 64 else wkv7_chunked
        o, S = fn(*args, state=state)
    return o.reshape(B, T, H * N), S


def head_norm(norm, o, H):
    B, T, D = o.shape
    return norm(o.reshape(B * T, D)).reshape(B, T, D)


class TimeMix(nn.Module):
    """RWKV-7 self time-mix; also the image half of CrossWKV paper mode."""

    def __init__(self, dim, head_size, ranks, first, r_in=None):
        super().__init__()
        self.H, self.N = dim // head_size, head_size
        self.first = first
        self.r_from_text = r_in is not None
        for name in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g"):
            if name == "x_r" and self.r_from_text:
                continue
            setattr(self, name, nn.Parameter(torch.rand(dim)))
        self.k_k = nn.Parameter(torch.full((dim,), 0.85))
        self.k_a = nn.Parameter(torch.ones(dim))
        self.r_k = nn.Parameter(torch.randn(self.H, self.N) * 0.1)
        self.r_proj = nn.Linear(r_in or dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)
        self.w_lora = LoRA(dim, dim, ranks.w, "tanh")
        self.a_lora = LoRA(dim, dim, ranks.a)
        if not first:
            self.v_lora = LoRA(dim, dim, ranks.v)
        self.g_lora = LoRA(dim, dim, ranks.g, "sigmoid", bias=False)
        self.g_norm = nn.GroupNorm(self.H, dim, eps=self.N * 1e-5)

    def forward(self, x, v_first=None, r_text=None):
        H, N = self.H, self.N
        B, T, D = x.shape
        delta = token_shift_delta(x)
        xw, xk, xv, xa, xg = (x + delta * m for m in (self.x_w, self.x_k, self.x_v, self.x_a, self.x_g))
        if self.r_from_text:
            r = self.r_proj(r_text)
        else:
            r = self.r_proj(x + delta * self.x_r)
        w = W_SCALE * torch.sigmoid(self.w_lora(xw))
        k = self.k_proj(xk)
        v = self.v_proj(xv)
        if v_first is None or self.first:
            v_first = v
        else:
            v = torch.lerp(v, v_first, torch.sigmoid(self.v_lora(xv)))
        lr = torch.sigmoid(self.a_lora(xa))
        g = self.g_lora(xg)
        kk = F.normalize((k * self.k_k).view(B, T, H, N), dim=-1, p=2.0).view(B, T, D)
        k = k.addcmul(k * (lr - 1), self.k_a)
        o, _ = wkv(r, w, k, v, -kk, kk * lr, H, N)
        o = head_norm(self.g_norm, o, H)
        bonus = (r.view(B, T, H, N) * k.view(B, T, H, N) * self.r_k).sum(-1, keepdim=True)
        o = o + (bonus * v.view(B, T, H, N)).view(B, T, D)
        return self.o_proj(o * g), v_first


class ChannelMix(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.x_k = nn.Parameter(torch.rand(dim))
        self.key = nn.Linear(dim, 4 * dim, bias=False)
        self.value = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x):
        xk = x + token_shift_delta(x) * self.x_k
        return self.value(torch.relu(self.key(xk)) ** 2)


class CrossWKVPaper(nn.Module):
    """Paper mode (eqs. 4-16): r from the zero-padded text, the rest from the image."""

    def __init__(self, dim, text_dim, head_size, ranks):
        super().__init__()
        self.tm = TimeMix(dim, head_size, ranks, first=True, r_in=text_dim)

    def forward(self, x, text, text_mask, cache=None):
        B, T, _ = x.shape
        L = text.shape[1]
        q = text * text_mask[..., None]
        q = F.pad(q, (0, 0, 0, T - L)) if L < T else q[:, :T]
        out, _ = self.tm(x, r_text=q)
        return out


class CrossWKVState(nn.Module):
    """State mode: the prompt writes a WKV state, each image token reads it."""

    def __init__(self, dim, text_dim, head_size, ranks):
        super().__init__()
        self.H, self.N = dim // head_size, head_size
        for name in ("x_w", "x_k", "x_v", "x_a"):
            setattr(self, name, nn.Parameter(torch.rand(text_dim)))
        self.x_r = nn.Parameter(torch.rand(dim))
        self.x_g = nn.Parameter(torch.rand(dim))
        self.k_k = nn.Parameter(torch.full((dim,), 0.85))
        self.k_a = nn.Parameter(torch.ones(dim))
        self.k_proj = nn.Linear(text_dim, dim, bias=False)
        self.v_proj = nn.Linear(text_dim, dim, bias=False)
        self.w_lora = LoRA(text_dim, dim, ranks.w, "tanh")
        self.a_lora = LoRA(text_dim, dim, ranks.a)
        self.r_proj = nn.Linear(dim, dim, bias=False)
        self.g_lora = LoRA(dim, dim, ranks.g, "sigmoid", bias=False)
        self.g_norm = nn.GroupNorm(self.H, dim, eps=self.N * 1e-5)
        self.o_proj = nn.Linear(dim, dim, bias=False)

    def text_state(self, text, text_mask):
        """Final WKV state [B, H, N, N] of the prompt; padding is an identity step."""
        H, N = self.H, self.N
        B, L, _ = text.shape
        m = text_mask[..., None].to(text.dtype)
        delta = token_shift_delta(text)
        xw, xk, xv, xa = (text + delta * p for p in (self.x_w, self.x_k, self.x_v, self.x_a))
        w = W_SCALE * torch.sigmoid(self.w_lora(xw)) * m
        k = self.k_proj(xk)
        v = self.v_proj(xv) * m
        lr = torch.sigmoid(self.a_lora(xa))
        kk = F.normalize((k * self.k_k).view(B, L, H, N), dim=-1, p=2.0).view(B, L, -1) * m
        k = k.addcmul(k * (lr - 1), self.k_a) * m
        r0 = torch.zeros_like(k)
        _, S = wkv(r0, w, k, v, -kk, kk * lr, H, N)
        return S

    def read(self, x, S):
        H, N = self.H, self.N
        B, T, D = x.shape
        delta = token_shift_delta(x)
        r = self.r_proj(x + delta * self.x_r)
        g = self.g_lora(x + delta * self.x_g)
        o = torch.einsum("bhij,bthj->bthi", S, r.view(B, T, H, N)).reshape(B, T, D)
        o = head_norm(self.g_norm, o, H)
        return self.o_proj(o * g)

    def forward(self, x, text, text_mask, cache=None):
        if cache is not None and id(self) in cache:
            S = cache[id(self)]
        else:
            S = self.text_state(text, text_mask)
            if cache is not None:
                cache[id(self)] = S
        return self.read(x, S)


class Dir7Block(nn.Module):
    """x += TimeMix(LN x); x += CrossWKV(LN x, text); x += ChannelMix(LN x)."""

    def __init__(self, dim, text_dim, head_size, ranks, cross_mode, first, eps):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.attn = TimeMix(dim, head_size, ranks, first)
        self.ln2 = nn.LayerNorm(dim, eps=eps)
        cross = {"paper": CrossWKVPaper, "state": CrossWKVState}[cross_mode]
        self.cross = cross(dim, text_dim, head_size, ranks)
        self.ln3 = nn.LayerNorm(dim, eps=eps)
        self.ffn = ChannelMix(dim)

    def forward(self, x, v_first, text, text_mask, cache=None):
        a, v_first = self.attn(self.ln1(x), v_first)
        x = x + a
        x = x + self.cross(self.ln2(x), text, text_mask, cache)
        x = x + self.ffn(self.ln3(x))
        return x, v_first
