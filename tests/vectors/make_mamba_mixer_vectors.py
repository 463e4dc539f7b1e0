#!/usr/bin/env python3
"""Independent float64 numpy vectors for `seqmix-run --mixer mamba|mamba2` (OPS.md, last
section): the mamba_ssm modules' forward written from their formulas (in_proj, causal
depthwise conv + silu, x_proj/dt_proj or the z,x,B,C,dt split, the selective/SSD scan step
by step, gate or grouped gated RMSNorm, out_proj). Writes tests/vectors/mixers/*.safetensors
with the inputs, the parameters under their state_dict names, the config as metadata and
`expected.y`. Usage: /usr/bin/python3 tests/vectors/make_mamba_mixer_vectors.py
"""
import json, os, struct
import numpy as np
rng = np.random.default_rng(20261123)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mixers")

def write_st(path, tensors, meta):
    header = {"__metadata__": meta}
    off = 0; blobs = []
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype=np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))

silu = lambda v: v / (1 + np.exp(-v))
softplus = lambda v: np.log1p(np.exp(v))

def conv(xs, w, b, W):  # xs [T, C], w [C,1,W]
    T, C = xs.shape; pad = np.concatenate([np.zeros((W-1, C)), xs]); out = np.zeros((T, C))
    for t in range(T): out[t] = b + np.einsum("ci,ic->c", w[:, 0, :], pad[t:t+W])
    return out

def mamba1(p, x, N, R, W):
    T = x.shape[0]; xz = x @ p["in_proj.weight"].T; di = xz.shape[1] // 2
    u = silu(conv(xz[:, :di], p["conv1d.weight"], p["conv1d.bias"], W))
    xd = u @ p["x_proj.weight"].T; dt = softplus(xd[:, :R] @ p["dt_proj.weight"].T + p["dt_proj.bias"])
    B, C = xd[:, R:R+N], xd[:, R+N:]; A = -np.exp(p["A_log"]); h = np.zeros((di, N)); ys = np.zeros((T, di))
    for t in range(T):
        h = np.exp(dt[t][:, None] * A) * h + (dt[t] * u[t])[:, None] * B[t][None, :]
        ys[t] = (h @ C[t] + p["D"] * u[t]) * silu(xz[t, di:])
    return ys @ p["out_proj.weight"].T

def mamba2(p, x, N, P, G, W, gs, eps):
    T = x.shape[0]; zx = x @ p["in_proj.weight"].T; H = p["A_log"].shape[0]; di = H * P
    z = zx[:, :di]; xbc = silu(conv(zx[:, di:2*di+2*G*N], p["conv1d.weight"], p["conv1d.bias"], W)); dt = softplus(zx[:, 2*di+2*G*N:] + p["dt_bias"])
    xs = xbc[:, :di].reshape(T, H, P); B = xbc[:, di:di+G*N].reshape(T, G, N); C = xbc[:, di+G*N:].reshape(T, G, N)
    A = -np.exp(p["A_log"]); S = np.zeros((H, P, N)); y = np.zeros((T, H, P))
    for t in range(T):
        for h in range(H):
            g = h // (H // G)
            S[h] = np.exp(dt[t, h] * A[h]) * S[h] + dt[t, h] * np.outer(xs[t, h], B[t, g])
            y[t, h] = S[h] @ C[t, g] + p["D"][h] * xs[t, h]
    y = y.reshape(T, di) * silu(z); y = y.reshape(T, di // gs, gs)
    y = y / np.sqrt((y**2).mean(-1, keepdims=True) + eps) ; y = y.reshape(T, di) * p["norm.weight"]
    return y @ p["out_proj.weight"].T


def f32(d):  # the values the file holds (the expectation is computed from exactly these)
    return {k: np.asarray(v, dtype=np.float32).astype(np.float64) for k, v in d.items()}

os.makedirs(OUT, exist_ok=True)
Bt, T = 2, 23
# mamba: d_model 16, d_state 8, d_conv 4, expand 2, dt_rank 2
d, N, W, R = 16, 8, 4, 2; di = 32
p = f32({"in_proj.weight": rng.normal(0, .3, (2*di, d)), "conv1d.weight": rng.normal(0, .5, (di, 1, W)), "conv1d.bias": rng.normal(0, .1, di),
     "x_proj.weight": rng.normal(0, .3, (R+2*N, di)), "dt_proj.weight": rng.normal(0, .5, (di, R)), "dt_proj.bias": rng.normal(-2, .5, di),
     "A_log": np.log(rng.uniform(1, 8, (di, N))), "D": rng.normal(1, .2, di), "out_proj.weight": rng.normal(0, .3, (d, di))})
x = f32({"x": rng.normal(0, 1, (Bt, T, d))})["x"]
y = np.stack([mamba1(p, x[b], N, R, W) for b in range(Bt)])
write_st(os.path.join(OUT, "mamba__base.safetensors"), {"x": x, **p, "expected.y": y},
         {"mixer": "mamba", "d_model": "16", "d_state": "8", "d_conv": "4", "expand": "2", "dt_rank": "2"})
# mamba2: d_model 16, d_state 8, headdim 8 (4 heads), 2 groups, norm groups of 16
d, N, P, G, W = 16, 8, 8, 2, 4; di = 32; H = 4; gs = 16
p2 = f32({"in_proj.weight": rng.normal(0, .3, (2*di+2*G*N+H, d)), "conv1d.weight": rng.normal(0, .5, (di+2*G*N, 1, W)), "conv1d.bias": rng.normal(0, .1, di+2*G*N),
      "dt_bias": rng.normal(-2, .5, H), "A_log": np.log(rng.uniform(1, 16, H)), "D": rng.normal(1, .2, H), "norm.weight": rng.normal(1, .1, di),
      "out_proj.weight": rng.normal(0, .3, (d, di))})
x2 = f32({"x": rng.normal(0, 1, (Bt, T, d))})["x"]
y2 = np.stack([mamba2(p2, x2[b], N, P, G, W, gs, 1e-5) for b in range(Bt)])
write_st(os.path.join(OUT, "mamba2__base.safetensors"), {"x": x2, **p2, "expected.y": y2},
         {"mixer": "mamba2", "d_model": "16", "d_state": "8", "d_conv": "4", "expand": "2", "headdim": "8", "ngroups": "2",
          "norm_eps": "1e-5", "norm_group_size": "16", "norm_before_gate": "0", "rmsnorm": "1"})
print("wrote", OUT)
