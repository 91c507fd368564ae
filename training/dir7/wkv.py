"""The WKV-7 recurrence (contract section 1), token by token and chunked.

State S per head is N x N, rows = value dim i, columns = key dim j:
    S_t = S_{t-1} diag(exp(w_t)) + (S_{t-1} a_t) b_t^T + v_t k_t^T,   o_t = S_t r_t
All inputs are [B, T, H, N]; the state is [B, H, N, N] and kept in fp32.
"""
import torch


def wkv7_recurrent(r, w, k, v, a, b, state=None):
    B, T, H, N = r.shape
    dt = r.dtype
    r, w, k, v, a, b = (x.float() for x in (r, w, k, v, a, b))
    S = torch.zeros(B, H, N, N, dtype=torch.float32, device=r.device) if state is None else state.float().clone()
    out = torch.empty(B, T, H, N, dtype=torch.float32, device=r.device)
    for t in range(T):
        sa = torch.einsum("bhij,bhj->bhi", S, a[:, t])
        S = (S * torch.exp(w[:, t])[:, :, None, :]
             + sa[..., None] * b[:, t][:, :, None, :]
             + v[:, t][..., None] * k[:, t][:, :, None, :])
        out[:, t] = torch.einsum("bhij,bhj->bhi", S, r[:, t])
    return out.to(dt), S


def wkv7_chunked(r, w, k, v, a, b, state=None, chunk=16):
    """Chunked (UT-transform) form; equal to wkv7_recurrent up to fp32 rounding.

    Within a chunk, with cumulative log-decay L_t = sum_{s<=t} w_s:
      sa_t = S0 (a_t e^{L_{t-1}}) + sum_{s<t} [sa_s <b_s, a_t e^{L_{t-1}-L_s}> + v_s <k_s, a_t e^{L_{t-1}-L_s}>]
    a unit-triangular system solved by substitution; outputs and the final state
    follow from sa in closed form. Exponents are always <= 0.
    """
    B, T, H, N = r.shape
    dt = r.dtype
    r, w, k, v, a, b = (x.float() for x in (r, w, k, v, a, b))
    S = torch.zeros(B, H, N, N, dtype=torch.float32, device=r.device) if state is None else state.float().clone()
    out = torch.empty(B, T, H, N, dtype=torch.float32, device=r.device)
    for c0 in range(0, T, chunk):
        c1 = min(T, c0 + chunk)
        C = c1 - c0
        rc, wc, kc, vc, ac, bc = (x[:, c0:c1].transpose(1, 2) for x in (r, w, k, v, a, b))  # [B,H,C,N]
        L = torch.cumsum(wc, dim=2)                      # L_t (inclusive)
        Lprev = L - wc                                   # L_{t-1}
        # decay from s (exclusive of s) to t-1 and to t: e^{L_{t-1}-L_s}, e^{L_t-L_s}
        d_prev = torch.exp((Lprev[:, :, :, None, :] - L[:, :, None, :, :]).clamp(max=0))  # [B,H,t,s,N]
        d_curr = torch.exp((L[:, :, :, None, :] - L[:, :, None, :, :]).clamp(max=0))
        strict = torch.tril(torch.ones(C, C, dtype=torch.bool, device=r.device), -1)
        incl = torch.tril(torch.ones(C, C, dtype=torch.bool, device=r.device), 0)
        Mab = torch.einsum("bhtn,bhtsn,bhsn->bhts", ac, d_prev, bc) * strict
        Mak = torch.einsum("bhtn,bhtsn,bhsn->bhts", ac, d_prev, kc) * strict
        Mrb = torch.einsum("bhtn,bhtsn,bhsn->bhts", rc, d_curr, bc) * incl
        Mrk = torch.einsum("bhtn,bhtsn,bhsn->bhts", rc, d_curr, kc) * incl
        a_dec = ac * torch.exp(Lprev)                    # a_t e^{L_{t-1}}
        r_dec = rc * torch.exp(L)                        # r_t e^{L_t}
        # rhs_t = S0 a_dec_t + sum_s Mak[t,s] v_s ; sa_t = rhs_t + sum_{s<t} Mab[t,s] sa_s
        rhs = torch.einsum("bhij,bhtj->bhti", S, a_dec) + torch.einsum("bhts,bhsi->bhti", Mak, vc)
        sa = torch.zeros_like(rhs)
        for t in range(C):
            sa[:, :, t] = rhs[:, :, t] + torch.einsum("bhs,bhsi->bhi", Mab[:, :, t, :t], sa[:, :, :t])
        o = (torch.einsum("bhij,bhtj->bhti", S, r_dec)
             + torch.einsum("bhts,bhsi->bhti", Mrb, sa)
             + torch.einsum("bhts,bhsi->bhti", Mrk, vc))
        out[:, c0:c1] = o.transpose(1, 2)
        d_end = torch.exp(L[:, :, -1:, :] - L)           # e^{L_C - L_s}: [B,H,C,N]
        S = (S * torch.exp(L[:, :, -1])[:, :, None, :]
             + torch.einsum("bhsi,bhsj->bhij", sa, bc * d_end)
             + torch.einsum("bhsi,bhsj->bhij", vc, kc * d_end))
    return out.to(dt), S


def wkv7_chunked_batched(r, w, k, v, a, b, state=None, chunk=64):
    """The chunked form with every chunk's intra-chunk work batched (for training).

    Decays are taken relative to each chunk's start, so the chunk-local
    matrices are plain products: with L the inclusive cumulative log-decay,
    a~ = a e^{L_prev}, r~ = r e^{L}, b^ = b e^{-L}, k^ = k e^{-L}. A chunk of
    64 keeps e^{-L} below e^{39} (1e17): within fp32's range, and every
    product of a small and a large factor keeps its relative precision. Only the state is carried
    from chunk to chunk. Equal to wkv7_recurrent up to fp32 rounding.
    """
    with torch.autocast(r.device.type, enabled=False):   # the state stays fp32
        return _chunked_batched(r, w, k, v, a, b, state, chunk)


def _chunked_batched(r, w, k, v, a, b, state, chunk):
    B, T, H, N = r.shape
    dt = r.dtype
    C = chunk
    pad = (-T) % C
    r, w, k, v, a, b = (torch.nn.functional.pad(x.float(), (0, 0, 0, 0, 0, pad)) for x in (r, w, k, v, a, b))
    nc = (T + pad) // C
    # [B, H, nc, C, N]
    r, w, k, v, a, b = (x.reshape(B, nc, C, H, N).permute(0, 3, 1, 2, 4) for x in (r, w, k, v, a, b))
    L = torch.cumsum(w, dim=3)
    Lprev = L - w
    Lend = L[:, :, :, -1:, :]
    a_t = a * torch.exp(Lprev)
    r_t = r * torch.exp(L)
    b_h = b * torch.exp(-L)
    k_h = k * torch.exp(-L)
    b_bar = b * torch.exp(Lend - L)
    k_bar = k * torch.exp(Lend - L)
    strict = torch.tril(torch.ones(C, C, dtype=torch.bool, device=r.device), -1)
    incl = torch.tril(torch.ones(C, C, dtype=torch.bool, device=r.device), 0)
    Mab = (a_t @ b_h.transpose(-1, -2)).masked_fill(~strict, 0)
    Mak = (a_t @ k_h.transpose(-1, -2)).masked_fill(~strict, 0)
    Mrb = (r_t @ b_h.transpose(-1, -2)).masked_fill(~incl, 0)
    Mrk = (r_t @ k_h.transpose(-1, -2)).masked_fill(~incl, 0)
    eye = torch.eye(C, device=r.device)
    PQ = torch.linalg.solve_triangular(eye - Mab, torch.cat([a_t, Mak @ v], dim=-1), upper=False,
                                       unitriangular=True)
    P, Q = PQ[..., :N], PQ[..., N:]
    O_local = Mrk @ v                                   # [B,H,nc,C,N]
    S_local = v.transpose(-1, -2) @ k_bar               # [B,H,nc,N,N]
    decay_end = torch.exp(Lend)                         # [B,H,nc,1,N]
    S = torch.zeros(B, H, N, N, dtype=torch.float32, device=r.device) if state is None else state.float()
    outs = []
    for c in range(nc):
        ST = S.transpose(-1, -2)
        SA = P[:, :, c] @ ST + Q[:, :, c]
        o = r_t[:, :, c] @ ST + Mrb[:, :, c] @ SA + O_local[:, :, c]
        outs.append(o)
        S = S * decay_end[:, :, c] + SA.transpose(-1, -2) @ b_bar[:, :, c] + S_local[:, :, c]
    out = torch.stack(outs, dim=2)                      # [B,H,nc,C,N]
    out = out.permute(0, 2, 3, 1, 4).reshape(B, nc * C, H, N)[:, :T]
    return out.to(dt), S
