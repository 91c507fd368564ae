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
