#!/usr/bin/python3
"""Independent test vectors for every op of OPS.md (numpy only, float64, step by step).

Written from the formulas in ../shared/OPS.md, not from the C++ code. Each vector is a
safetensors file holding the inputs (F32; cu_seqlens I64), the attributes as
`__metadata__` strings (plus "op" and "variant"), and the expected outputs `expected.o` and,
for ops with a state, `expected.final_state` (F64, computed in float64 from the float32
inputs). tests/runner/vectors.cpp runs each through seqmix-run's op table.

Usage: /usr/bin/python3 tests/vectors/make_vectors.py [OUTDIR] [OP ...]
  (default OUTDIR: tests/vectors/data next to this script; default: every op)
"""
import json
import math
import os
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------------------
# safetensors writer (the format: u64 LE header length, JSON header, raw LE data)


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name]
        if a.dtype == np.float32:
            dt = "F32"
        elif a.dtype == np.float64:
            dt = "F64"
        elif a.dtype == np.int64:
            dt = "I64"
        else:
            raise TypeError(name)
        raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------
# helpers

rng = np.random.default_rng(20261123)


def f32(*shape, lo=-1.0, hi=1.0):
    """Random float32 input (returned as float32; computations cast to float64)."""
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def normal32(*shape, s=1.0):
    return (rng.standard_normal(size=shape) * s).astype(np.float32)


def d(a):
    return np.asarray(a, dtype=np.float64)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def softplus(x):
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def silu(x):
    return x * sigmoid(x)


def sequences(B, T, cu):
    """(batch index, start, length, state slot) of every sequence."""
    if cu is None:
        return [(b, 0, T, b) for b in range(B)]
    assert B == 1
    return [(0, int(cu[i]), int(cu[i + 1] - cu[i]), i) for i in range(len(cu) - 1)]


def cu_tensor(lengths):
    return np.array([0] + list(np.cumsum(lengths)), dtype=np.int64)


# ---------------------------------------------------------------------------------------
# the ops, straight from OPS.md (per batch/sequence and head, one time step at a time)


def op_attention(inp, attrs):
    q, k, v = d(inp["q"]), d(inp["k"]), d(inp["v"])
    g = d(inp["g"]) if "g" in inp else None
    B, T, HQ, K = q.shape
    S, H, V = k.shape[1], k.shape[2], v.shape[3]
    scale = float(attrs["scale"]) if "scale" in attrs else 1.0 / math.sqrt(K)
    causal = int(attrs.get("causal", 1))
    window = int(attrs.get("window", 0))
    cu = inp.get("cu_seqlens")
    o = np.zeros((B, T, HQ, V))
    rep = HQ // H
    if cu is None:
        spans = [(b, 0, T, 0, S) for b in range(B)]  # queries [0,T), keys [0,S)
    else:
        spans = [(0, int(cu[i]), int(cu[i + 1] - cu[i]), int(cu[i]), int(cu[i + 1] - cu[i]))
                 for i in range(len(cu) - 1)]
    for b, q0, nq, k0, nk in spans:
        for h in range(HQ):
            hk = h // rep
            for t in range(nq):
                p = t + nk - nq  # absolute position of the query among the keys
                logits, vals = [], []
                for s in range(nk):
                    if causal and s > p:
                        continue
                    if window > 0 and p - s >= window:
                        continue
                    z = scale * float(np.dot(q[b, q0 + t, h], k[b, k0 + s, hk]))
                    if g is not None:
                        z += sum(g[b, k0 + j, h] for j in range(s + 1, p + 1))
                    logits.append(z)
                    vals.append(v[b, k0 + s, hk])
                m = max(logits)
                w = [math.exp(z - m) for z in logits]
                tot = sum(w)
                o[b, q0 + t, h] = sum(wi * vi for wi, vi in zip(w, vals)) / tot
    return {"o": o}


def head_states(inp, step, K, V):
    """Matrix state per (sequence, head): S, o_t = step(S, b, t, h) over the steps of every
    sequence, from `initial_state` [N,H,K,V] or zeros; returns o [B,T,H,V] and final_state."""
    B, T, H = inp["v"].shape[:3]
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    h0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), H, K, V))
    o = np.zeros((B, T, H, V))
    fs = np.zeros((len(seqs), H, K, V))
    for b, t0, n, si in seqs:
        for h in range(H):
            S = h0[si, h].copy()
            for t in range(t0, t0 + n):
                S, o[b, t, h] = step(S, b, t, h)
            fs[si, h] = S
    return {"o": o, "final_state": fs}


def linear_family(inp, attrs, decay):
    """S_t = Diag(e^{g_t}) S_{t-1} + k_t v_tᵀ, o_t = S_tᵀ (scale q_t); decay(b,t,h) -> [K] log decay."""
    q, k, v = d(inp["q"]), d(inp["k"]), d(inp["v"])
    K, V = q.shape[3], v.shape[3]
    scale = float(attrs["scale"]) if "scale" in attrs else 1.0 / math.sqrt(K)

    def step(S, b, t, h):
        S = np.exp(decay(b, t, h))[:, None] * S + np.outer(k[b, t, h], v[b, t, h])
        return S, S.T @ (scale * q[b, t, h])
    return head_states(inp, step, K, V)


def op_linear_attn(inp, attrs):
    K = inp["q"].shape[3]
    return linear_family(inp, attrs, lambda b, t, h: np.zeros(K))


def op_retention(inp, attrs):
    K = inp["q"].shape[3]
    return linear_family(inp, attrs, lambda b, t, h: np.full(K, math.log(1.0 - 2.0 ** (-5 - h))))


def op_simple_gla(inp, attrs):
    g = d(inp["g"])
    K = inp["q"].shape[3]
    return linear_family(inp, attrs, lambda b, t, h: np.full(K, g[b, t, h]))


def op_gla(inp, attrs):
    g = d(inp["g"])
    return linear_family(inp, attrs, lambda b, t, h: g[b, t, h])


def delta_family(inp, attrs, gated):
    q, k, v, beta = d(inp["q"]), d(inp["k"]), d(inp["v"]), d(inp["beta"])
    g = d(inp["g"]) if gated else None
    K, V = q.shape[3], v.shape[3]
    scale = float(attrs["scale"]) if "scale" in attrs else 1.0 / math.sqrt(K)

    def step(S, b, t, h):
        kt, bt = k[b, t, h], beta[b, t, h]
        decay = math.exp(g[b, t, h]) if gated else 1.0
        S = decay * ((np.eye(K) - bt * np.outer(kt, kt)) @ S) + bt * np.outer(kt, v[b, t, h])
        return S, S.T @ (scale * q[b, t, h])
    return head_states(inp, step, K, V)


def op_delta_rule(inp, attrs):
    return delta_family(inp, attrs, False)


def op_gated_delta_rule(inp, attrs):
    return delta_family(inp, attrs, True)


def op_rwkv4(inp, attrs):
    k, v, w, u = d(inp["k"]), d(inp["v"]), d(inp["w"]), d(inp["u"])
    B, T, D = k.shape
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    st0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), 3, D))
    o = np.zeros((B, T, D))
    fs = np.zeros((len(seqs), 3, D))
    for b, t0, n, si in seqs:
        for c in range(D):
            a, bb, p = st0[si, 0, c], st0[si, 1, c], st0[si, 2, c]
            for t in range(t0, t0 + n):
                kt, vt = k[b, t, c], v[b, t, c]
                # o_t = (a e^p + e^{u+k} v) / (b e^p + e^{u+k}), scaled by the running max
                q = max(p, u[c] + kt)
                num = math.exp(p - q) * a + math.exp(u[c] + kt - q) * vt
                den = math.exp(p - q) * bb + math.exp(u[c] + kt - q)
                o[b, t, c] = num / den
                p2 = max(p - w[c], kt)
                a = math.exp(p - w[c] - p2) * a + math.exp(kt - p2) * vt
                bb = math.exp(p - w[c] - p2) * bb + math.exp(kt - p2)
                p = p2
            fs[si, :, c] = (a, bb, p)
    return {"o": o, "final_state": fs}


def rwkv56(inp, attrs, wfun):
    r, k, v, u = d(inp["r"]), d(inp["k"]), d(inp["v"]), d(inp["u"])
    K, V = r.shape[3], v.shape[3]
    scale = float(attrs.get("scale", 1.0))

    def step(S, b, t, h):
        kv = np.outer(k[b, t, h], v[b, t, h])
        o = (S + u[h][:, None] * kv).T @ (scale * r[b, t, h])
        return np.exp(wfun(b, t, h))[:, None] * S + kv, o
    return head_states(inp, step, K, V)


def op_rwkv5(inp, attrs):
    w = d(inp["w"])
    return rwkv56(inp, attrs, lambda b, t, h: w[h])


def op_rwkv6(inp, attrs):
    w = d(inp["w"])
    return rwkv56(inp, attrs, lambda b, t, h: w[b, t, h])


def op_rwkv7(inp, attrs):
    r, w, k, a, bb, v = (d(inp[n]) for n in ("r", "w", "k", "a", "b", "v"))
    K, V = r.shape[3], v.shape[3]
    scale = float(attrs["scale"]) if "scale" in attrs else 1.0 / math.sqrt(K)

    def step(S, b, t, h):
        M = np.diag(np.exp(w[b, t, h])) + np.outer(bb[b, t, h], a[b, t, h])
        S = M @ S + np.outer(k[b, t, h], v[b, t, h])
        return S, S.T @ (scale * r[b, t, h])
    return head_states(inp, step, K, V)


def elementwise_scan(inp, step, shape_state=None):
    """h_t = step(h_{t-1}, b, t) over [B,T,D] with state [N,D]."""
    first = next(iter(v for kname, v in inp.items() if kname != "cu_seqlens" and v.ndim == 3))
    B, T, D = first.shape
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    h0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), D))
    o = np.zeros((B, T, D))
    fs = np.zeros((len(seqs), D))
    for b, t0, n, si in seqs:
        h = h0[si].copy()
        for t in range(t0, t0 + n):
            h = step(h, b, t)
            o[b, t] = h
        fs[si] = h
    return {"o": o, "final_state": fs}


def op_linear_scan(inp, attrs):
    x, g = d(inp["x"]), d(inp["g"])
    return elementwise_scan(inp, lambda h, b, t: np.exp(g[b, t]) * h + x[b, t])


def g_hat(x):
    return x + 0.5 if x >= 0 else sigmoid(x)


def op_min_gru(inp, attrs):
    zr, hr = d(inp["z_raw"]), d(inp["h_raw"])

    def step(h, b, t):
        out = np.empty_like(h)
        for c in range(h.shape[0]):
            z = sigmoid(zr[b, t, c])
            out[c] = (1 - z) * h[c] + z * g_hat(hr[b, t, c])
        return out
    return elementwise_scan(inp, step)


def op_min_lstm(inp, attrs):
    fr, ir, hr = d(inp["f_raw"]), d(inp["i_raw"]), d(inp["h_raw"])

    def step(h, b, t):
        out = np.empty_like(h)
        for c in range(h.shape[0]):
            f, i = sigmoid(fr[b, t, c]), sigmoid(ir[b, t, c])
            out[c] = f / (f + i) * h[c] + i / (f + i) * g_hat(hr[b, t, c])
        return out
    return elementwise_scan(inp, step)


def op_lru(inp, attrs):
    xr, xi, nu, th = d(inp["x_re"]), d(inp["x_im"]), d(inp["nu_log"]), d(inp["theta_log"])
    B, T, D = xr.shape
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    h0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), D, 2))
    o = np.zeros((B, T, D, 2))
    fs = np.zeros((len(seqs), D, 2))
    for b, t0, n, si in seqs:
        for c in range(D):
            lam = complex(math.exp(-math.exp(nu[c])) * math.cos(math.exp(th[c])),
                          math.exp(-math.exp(nu[c])) * math.sin(math.exp(th[c])))
            gam = math.sqrt(1.0 - abs(lam) ** 2)
            h = complex(h0[si, c, 0], h0[si, c, 1])
            for t in range(t0, t0 + n):
                h = lam * h + gam * complex(xr[b, t, c], xi[b, t, c])
                o[b, t, c] = (h.real, h.imag)
            fs[si, c] = (h.real, h.imag)
    return {"o": o, "final_state": fs}


def op_selective_scan(inp, attrs):
    x, dt, A, Bm, Cm = d(inp["x"]), d(inp["dt"]), d(inp["A"]), d(inp["B"]), d(inp["C"])
    z = d(inp["z"]) if "z" in inp else None
    Dv = d(inp["D"]) if "D" in inp else None
    dtb = d(inp["dt_bias"]) if "dt_bias" in inp else None
    sp = int(attrs.get("dt_softplus", 1))
    B, T, D = x.shape
    G, N = Bm.shape[2], Bm.shape[3]
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    h0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), D, N))
    o = np.zeros((B, T, D))
    fs = np.zeros((len(seqs), D, N))
    for b, t0, n, si in seqs:
        for c in range(D):
            g = c // (D // G)
            h = h0[si, c].copy()
            for t in range(t0, t0 + n):
                delta = dt[b, t, c] + (dtb[c] if dtb is not None else 0.0)
                if sp:
                    delta = softplus(delta)
                for s in range(N):
                    h[s] = math.exp(delta * A[c, s]) * h[s] + delta * Bm[b, t, g, s] * x[b, t, c]
                y = sum(Cm[b, t, g, s] * h[s] for s in range(N))
                if Dv is not None:
                    y += Dv[c] * x[b, t, c]
                if z is not None:
                    y *= silu(z[b, t, c])
                o[b, t, c] = y
            fs[si, c] = h
    return {"o": o, "final_state": fs}


def op_ssd(inp, attrs):
    x, dt, A, Bm, Cm = d(inp["x"]), d(inp["dt"]), d(inp["A"]), d(inp["B"]), d(inp["C"])
    Dv = d(inp["D"]) if "D" in inp else None
    B, T, H, P = x.shape
    G, N = Bm.shape[2], Bm.shape[3]
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    h0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), H, P, N))
    o = np.zeros((B, T, H, P))
    fs = np.zeros((len(seqs), H, P, N))
    for b, t0, n, si in seqs:
        for h in range(H):
            g = h // (H // G)
            S = h0[si, h].copy()
            for t in range(t0, t0 + n):
                S = math.exp(dt[b, t, h] * A[h]) * S + np.outer(dt[b, t, h] * x[b, t, h], Bm[b, t, g])
                y = S @ Cm[b, t, g]
                if Dv is not None:
                    y = y + Dv[h] * x[b, t, h]
                o[b, t, h] = y
            fs[si, h] = S
    return {"o": o, "final_state": fs}


def op_causal_conv1d(inp, attrs):
    x, wt = d(inp["x"]), d(inp["weight"])
    bias = d(inp["bias"]) if "bias" in inp else None
    act = attrs.get("activation", "none")
    B, T, D = x.shape
    W = wt.shape[1]
    seqs = sequences(B, T, inp.get("cu_seqlens"))
    h0 = d(inp["initial_state"]) if "initial_state" in inp else np.zeros((len(seqs), D, W - 1))
    o = np.zeros((B, T, D))
    fs = np.zeros((len(seqs), D, W - 1))
    for b, t0, n, si in seqs:
        for c in range(D):
            # the inputs of this sequence, preceded by the W-1 remembered ones
            hist = list(h0[si, c]) + [x[b, t, c] for t in range(t0, t0 + n)]
            for j in range(n):
                # x_{t-W+1+i} for i < W is hist[j + i] (hist[W-1+j] is x_t)
                y = (bias[c] if bias is not None else 0.0) + sum(wt[c, i] * hist[j + i] for i in range(W))
                o[b, t0 + j, c] = silu(y) if act == "silu" else y
            fs[si, c] = hist[len(hist) - (W - 1):] if W > 1 else []
    return {"o": o, "final_state": fs}


def op_long_conv(inp, attrs):
    u, hf = d(inp["u"]), d(inp["h"])
    Dv = d(inp["D"]) if "D" in inp else None
    B, T, D = u.shape
    L = hf.shape[1]
    o = np.zeros((B, T, D))
    for b in range(B):
        for t in range(T):
            for c in range(D):
                y = sum(hf[c, i] * u[b, t - i, c] for i in range(0, min(t, L - 1) + 1))
                if Dv is not None:
                    y += Dv[c] * u[b, t, c]
                o[b, t, c] = y
    return {"o": o}


# ---------------------------------------------------------------------------------------
# the vectors. The "base" variant of each op uses a different size for every dimension
# symbol (B, T, H, K, ...) and is what the shape-mutation tests start from.

VECTORS = {}


def vector(op):
    def reg(f):
        VECTORS.setdefault(op, []).append(f)
        return f
    return reg


def unit_rows(a):
    a = d(a)
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


def log_decay(*shape):
    return f32(*shape, lo=-1.0, hi=-0.02)


# attention ------------------------------------------------------------------------------
def attn_inputs(B, T, S, HQ, H, K, V, with_g=False):
    inp = {"q": f32(B, T, HQ, K), "k": f32(B, S, H, K), "v": f32(B, S, H, V)}
    if with_g:
        inp["g"] = log_decay(B, S, HQ)
    return inp


@vector("attention")
def _():
    return "base", attn_inputs(2, 7, 7, 6, 3, 5, 4), {}


@vector("attention")
def _():
    return "gqa_cache", attn_inputs(2, 4, 9, 6, 2, 5, 3), {"scale": "0.3"}


@vector("attention")
def _():
    return "window", attn_inputs(1, 10, 10, 2, 1, 4, 4), {"window": "3"}


@vector("attention")
def _():
    return "fox", attn_inputs(2, 6, 8, 4, 2, 4, 3, with_g=True), {}


@vector("attention")
def _():
    return "fox_window_gqa", attn_inputs(1, 9, 9, 4, 2, 3, 5, with_g=True), {"window": "4", "scale": "0.7"}


@vector("attention")
def _():
    return "noncausal", attn_inputs(2, 5, 7, 3, 3, 4, 2), {"causal": "0"}


@vector("attention")
def _():
    inp = attn_inputs(1, 11, 11, 4, 2, 4, 3)
    inp["cu_seqlens"] = cu_tensor([4, 0, 7])
    return "varlen", inp, {}


# linear attention family -----------------------------------------------------------------
def qkv(B, T, H, K, V):
    return {"q": f32(B, T, H, K), "k": f32(B, T, H, K, lo=-0.6, hi=0.6), "v": f32(B, T, H, V)}


def chunk_vectors(op, extra):
    """extra(B,T,H,K) -> dict of the op's additional inputs."""

    @vector(op)
    def _():
        inp = qkv(2, 7, 3, 5, 4)
        inp.update(extra(2, 7, 3, 5))
        return "base", inp, {}

    @vector(op)
    def _():
        inp = qkv(2, 19, 2, 6, 3)
        inp.update(extra(2, 19, 2, 6))
        inp["initial_state"] = f32(2, 2, 6, 3)
        return "state", inp, {"scale": "0.5"}

    @vector(op)
    def _():
        inp = qkv(1, 12, 2, 4, 5)
        inp.update(extra(1, 12, 2, 4))
        inp["cu_seqlens"] = cu_tensor([5, 0, 7])
        inp["initial_state"] = f32(3, 2, 4, 5)
        return "varlen", inp, {}


chunk_vectors("linear_attn", lambda B, T, H, K: {})
chunk_vectors("retention", lambda B, T, H, K: {})
chunk_vectors("simple_gla", lambda B, T, H, K: {"g": log_decay(B, T, H)})
chunk_vectors("gla", lambda B, T, H, K: {"g": log_decay(B, T, H, K)})


def delta_extra(gated):
    def extra(B, T, H, K):
        e = {"beta": f32(B, T, H, lo=0.1, hi=0.9)}
        if gated:
            e["g"] = log_decay(B, T, H)
        return e
    return extra


def delta_vectors(op, gated):
    ex = delta_extra(gated)

    @vector(op)
    def _():
        inp = qkv(2, 7, 3, 5, 4)
        inp["k"] = unit_rows(inp["k"])
        inp.update(ex(2, 7, 3, 5))
        return "base", inp, {}

    @vector(op)
    def _():
        inp = qkv(2, 17, 2, 6, 3)
        inp["k"] = unit_rows(inp["k"])
        inp.update(ex(2, 17, 2, 6))
        inp["initial_state"] = f32(2, 2, 6, 3)
        return "state", inp, {"scale": "0.4"}

    @vector(op)
    def _():
        inp = qkv(1, 12, 2, 4, 5)
        inp["k"] = unit_rows(inp["k"])
        inp.update(ex(1, 12, 2, 4))
        inp["cu_seqlens"] = cu_tensor([6, 0, 6])
        inp["initial_state"] = f32(3, 2, 4, 5)
        return "varlen", inp, {}


delta_vectors("delta_rule", False)
delta_vectors("gated_delta_rule", True)


# rwkv -------------------------------------------------------------------------------------
def rwkv4_inputs(B, T, D):
    return {"k": f32(B, T, D, lo=-3, hi=3), "v": f32(B, T, D), "w": f32(D, lo=0.05, hi=1.5), "u": f32(D)}


@vector("rwkv4")
def _():
    return "base", rwkv4_inputs(2, 7, 6), {}


@vector("rwkv4")
def _():
    inp = rwkv4_inputs(2, 9, 5)
    st = np.stack([f32(2, 5), f32(2, 5, lo=0.5, hi=2.0), f32(2, 5, lo=-1, hi=1)], axis=1)
    inp["initial_state"] = st.astype(np.float32)
    return "state", inp, {}


@vector("rwkv4")
def _():
    inp = rwkv4_inputs(1, 10, 4)
    inp["cu_seqlens"] = cu_tensor([3, 0, 7])
    st = np.stack([f32(3, 4), f32(3, 4, lo=0.5, hi=2.0), f32(3, 4, lo=-1, hi=1)], axis=1)
    inp["initial_state"] = st.astype(np.float32)
    return "varlen", inp, {}


def rwkv56_inputs(B, T, H, K, V, v6):
    inp = {"r": f32(B, T, H, K), "k": f32(B, T, H, K), "v": f32(B, T, H, V), "u": f32(H, K)}
    inp["w"] = log_decay(B, T, H, K) if v6 else log_decay(H, K)
    return inp


for _op, _v6 in (("rwkv5", False), ("rwkv6", True)):
    def _make(op, v6):
        @vector(op)
        def _():
            return "base", rwkv56_inputs(2, 7, 3, 5, 4, v6), {}

        @vector(op)
        def _():
            inp = rwkv56_inputs(2, 11, 2, 4, 6, v6)
            inp["initial_state"] = f32(2, 2, 4, 6)
            return "state", inp, {"scale": "0.5"}

        @vector(op)
        def _():
            inp = rwkv56_inputs(1, 9, 2, 3, 4, v6)
            inp["cu_seqlens"] = cu_tensor([2, 0, 7])
            inp["initial_state"] = f32(3, 2, 3, 4)
            return "varlen", inp, {}
    _make(_op, _v6)


def rwkv7_inputs(B, T, H, K, V):
    kappa = unit_rows(f32(B, T, H, K))
    iclr = f32(B, T, H, K, lo=0.1, hi=0.9)
    return {"r": f32(B, T, H, K), "w": log_decay(B, T, H, K), "k": f32(B, T, H, K, lo=-0.5, hi=0.5),
            "a": (-kappa).astype(np.float32), "b": (kappa * iclr).astype(np.float32), "v": f32(B, T, H, V)}


@vector("rwkv7")
def _():
    return "base", rwkv7_inputs(2, 7, 3, 5, 4), {"scale": "1"}


@vector("rwkv7")
def _():
    inp = rwkv7_inputs(2, 13, 2, 4, 6)
    inp["initial_state"] = f32(2, 2, 4, 6)
    return "state", inp, {"scale": "0.5"}


@vector("rwkv7")
def _():
    inp = rwkv7_inputs(1, 9, 2, 3, 4)
    inp["cu_seqlens"] = cu_tensor([4, 0, 5])
    inp["initial_state"] = f32(3, 2, 3, 4)
    return "varlen", inp, {"scale": "1"}


# elementwise scans --------------------------------------------------------------------------
def scan_vectors(op, make, state_shape=lambda N, D: (N, D)):
    @vector(op)
    def _():
        return "base", make(2, 7, 6), {}

    @vector(op)
    def _():
        inp = make(2, 12, 5)
        inp["initial_state"] = f32(*state_shape(2, 5))
        return "state", inp, {}

    @vector(op)
    def _():
        inp = make(1, 10, 4)
        inp["cu_seqlens"] = cu_tensor([3, 0, 7])
        inp["initial_state"] = f32(*state_shape(3, 4))
        return "varlen", inp, {}


scan_vectors("linear_scan", lambda B, T, D: {"x": f32(B, T, D), "g": log_decay(B, T, D)})
scan_vectors("min_gru", lambda B, T, D: {"z_raw": normal32(B, T, D, s=2), "h_raw": normal32(B, T, D, s=2)})
scan_vectors("min_lstm", lambda B, T, D: {"f_raw": normal32(B, T, D, s=2), "i_raw": normal32(B, T, D, s=2),
                                          "h_raw": normal32(B, T, D, s=2)})
scan_vectors("lru", lambda B, T, D: {"x_re": f32(B, T, D), "x_im": f32(B, T, D),
                                     "nu_log": f32(D, lo=-3, hi=0), "theta_log": f32(D, lo=-2, hi=1)},
             state_shape=lambda N, D: (N, D, 2))


# mamba ---------------------------------------------------------------------------------------
def sel_inputs(B, T, D, N, G, extras):
    inp = {"x": f32(B, T, D), "dt": f32(B, T, D, lo=-3, hi=0.5), "A": f32(D, N, lo=-2, hi=-0.1),
           "B": f32(B, T, G, N), "C": f32(B, T, G, N)}
    if extras:
        inp.update({"z": f32(B, T, D, lo=-2, hi=2), "D": f32(D), "dt_bias": f32(D, lo=-1, hi=1)})
    return inp


@vector("selective_scan")
def _():
    return "base", sel_inputs(2, 7, 6, 4, 3, False), {}


@vector("selective_scan")
def _():
    inp = sel_inputs(2, 9, 8, 3, 2, True)
    inp["initial_state"] = f32(2, 8, 3)
    return "zD_state", inp, {}


@vector("selective_scan")
def _():
    inp = sel_inputs(2, 6, 4, 5, 1, True)
    inp["dt"] = f32(2, 6, 4, lo=0.01, hi=0.5)
    inp["dt_bias"] = f32(4, lo=0.0, hi=0.1)
    return "no_softplus", inp, {"dt_softplus": "0"}


@vector("selective_scan")
def _():
    inp = sel_inputs(1, 10, 4, 3, 2, True)
    inp["cu_seqlens"] = cu_tensor([3, 0, 7])
    inp["initial_state"] = f32(3, 4, 3)
    return "varlen", inp, {}


def ssd_inputs(B, T, H, P, N, G, with_d):
    inp = {"x": f32(B, T, H, P), "dt": f32(B, T, H, lo=0.01, hi=0.8), "A": f32(H, lo=-2, hi=-0.1),
           "B": f32(B, T, G, N), "C": f32(B, T, G, N)}
    if with_d:
        inp["D"] = f32(H)
    return inp


@vector("ssd")
def _():
    return "base", ssd_inputs(2, 7, 6, 5, 4, 3, False), {}


@vector("ssd")
def _():
    inp = ssd_inputs(2, 17, 4, 3, 5, 2, True)
    inp["initial_state"] = f32(2, 4, 3, 5)
    return "groups_D_state", inp, {}


@vector("ssd")
def _():
    inp = ssd_inputs(1, 11, 2, 3, 4, 1, True)
    inp["cu_seqlens"] = cu_tensor([4, 0, 7])
    inp["initial_state"] = f32(3, 2, 3, 4)
    return "varlen", inp, {}


# convolutions --------------------------------------------------------------------------------
@vector("causal_conv1d")
def _():
    return "base", {"x": f32(2, 7, 6), "weight": f32(6, 4)}, {}


@vector("causal_conv1d")
def _():
    inp = {"x": f32(2, 9, 5), "weight": f32(5, 3), "bias": f32(5), "initial_state": f32(2, 5, 2)}
    return "silu_bias_state", inp, {"activation": "silu"}


@vector("causal_conv1d")
def _():
    # T < W - 1: the final state keeps part of the initial state
    inp = {"x": f32(2, 2, 3), "weight": f32(3, 5), "initial_state": f32(2, 3, 4)}
    return "short", inp, {}


@vector("causal_conv1d")
def _():
    inp = {"x": f32(1, 10, 4), "weight": f32(4, 4), "bias": f32(4), "initial_state": f32(3, 4, 3),
           "cu_seqlens": cu_tensor([2, 0, 8])}
    return "varlen", inp, {"activation": "silu"}


@vector("long_conv")
def _():
    return "base", {"u": f32(2, 7, 6), "h": f32(6, 9)}, {}


@vector("long_conv")
def _():
    return "short_filter_D", {"u": f32(2, 12, 3), "h": f32(3, 5), "D": f32(3)}, {}


@vector("long_conv")
def _():
    return "long", {"u": f32(1, 40, 4), "h": f32(4, 40, lo=-0.3, hi=0.3), "D": f32(4)}, {}


OPS = {
    "attention": op_attention, "linear_attn": op_linear_attn, "retention": op_retention,
    "simple_gla": op_simple_gla, "gla": op_gla, "delta_rule": op_delta_rule,
    "gated_delta_rule": op_gated_delta_rule, "rwkv4": op_rwkv4, "rwkv5": op_rwkv5, "rwkv6": op_rwkv6,
    "rwkv7": op_rwkv7, "linear_scan": op_linear_scan, "min_gru": op_min_gru, "min_lstm": op_min_lstm,
    "lru": op_lru, "selective_scan": op_selective_scan, "ssd": op_ssd, "causal_conv1d": op_causal_conv1d,
    "long_conv": op_long_conv,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:]
    outdir = os.path.join(here, "data")
    if args and ("/" in args[0] or args[0].startswith(".")):
        outdir = args.pop(0)
    wanted = set(args) or set(OPS)
    unknown = wanted - set(OPS)
    if unknown:
        sys.exit("unknown ops: " + ", ".join(sorted(unknown)))
    os.makedirs(outdir, exist_ok=True)
    assert set(VECTORS) == set(OPS), set(OPS) ^ set(VECTORS)
    # every op's vectors are generated (same random stream whatever is selected), only the
    # selected ones written
    for op in sorted(OPS):
        for make in VECTORS[op]:
            variant, inp, attrs = make()
            out = OPS[op](inp, attrs)
            tensors = dict(inp)
            for name, val in out.items():
                assert np.all(np.isfinite(val)), (op, variant, name)
                tensors["expected." + name] = np.asarray(val, dtype=np.float64)
            meta = dict(attrs)
            meta["op"] = op
            meta["variant"] = variant
            if op in wanted:
                path = os.path.join(outdir, "%s__%s.safetensors" % (op, variant))
                write_safetensors(path, tensors, meta)
                print("%-60s %6d bytes" % (os.path.relpath(path), os.path.getsize(path)))


if __name__ == "__main__":
    main()
