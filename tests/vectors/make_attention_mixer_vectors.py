#!/usr/bin/env python3
"""Independent float64 numpy vectors for `seqmix-run --mixer attention` (fla's Attention /
ForgettingAttention layer as seqmix implements it: q/k/v projections, RoPE in the
rotate-half convention on the first 2*floor(D*partial_rotary_factor/2) features, FoX gate
g = logsigmoid(x W_f^T + b_f), causal softmax attention over the last `window_size` keys
with bias sum_{j=s+1..t} g_j, output projection), written from the formulas, one token
and one key at a time. Writes tests/vectors/mixers/attention__*.safetensors with x, the
parameters under their state_dict names, the config as metadata and `expected.y`.
Usage: /usr/bin/python3 tests/vectors/make_attention_mixer_vectors.py
"""
import json, math, os, struct
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
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def layer(p, x, HQ, H, D, theta, frac, window, fox):
    T = x.shape[0]
    q = (x @ p["q_proj.weight"].T).reshape(T, HQ, D)
    k = (x @ p["k_proj.weight"].T).reshape(T, H, D)
    v = (x @ p["v_proj.weight"].T).reshape(T, H, D)
    rot = 2 * int(math.floor(D * frac / 2))
    half = rot // 2

    def rope(a, t):  # one head row at position t
        out = a.copy()
        for i in range(half):
            ang = t * theta ** (-2.0 * i / rot)
            out[i] = a[i] * math.cos(ang) - a[i + half] * math.sin(ang)
            out[i + half] = a[i + half] * math.cos(ang) + a[i] * math.sin(ang)
        return out

    for t in range(T):
        for h in range(HQ): q[t, h] = rope(q[t, h], t)
        for h in range(H): k[t, h] = rope(k[t, h], t)
    g = np.zeros((T, HQ))
    if fox:
        z = x @ p["f_proj.weight"].T + p["f_proj.bias"]
        g = -np.log1p(np.exp(-z))
    o = np.zeros((T, HQ * D))
    for t in range(T):
        for h in range(HQ):
            kh = h // (HQ // H)
            logits, vals = [], []
            for s in range(t + 1):
                if window > 0 and t - s >= window:
                    continue
                z = float(q[t, h] @ k[s, kh]) / math.sqrt(D) + sum(g[j, h] for j in range(s + 1, t + 1))
                logits.append(z); vals.append(v[s, kh])
            m = max(logits)
            w = [math.exp(z - m) for z in logits]
            o[t, h * D:(h + 1) * D] = sum(wi * vi for wi, vi in zip(w, vals)) / sum(w)
    return o @ p["o_proj.weight"].T


def make(name, d, HQ, H, D, B, T, theta, frac, window, fox):
    p = {
        "q_proj.weight": rng.normal(0, d ** -0.5, (HQ * D, d)),
        "k_proj.weight": rng.normal(0, d ** -0.5, (H * D, d)),
        "v_proj.weight": rng.normal(0, d ** -0.5, (H * D, d)),
        "o_proj.weight": rng.normal(0, (HQ * D) ** -0.5, (d, HQ * D)),
    }
    if fox:
        p["f_proj.weight"] = rng.normal(0, d ** -0.5, (HQ, d))
        p["f_proj.bias"] = rng.uniform(0.5, 4.0, HQ)
    x = rng.uniform(-1, 1, (B, T, d))
    p = {k: f32(v) for k, v in p.items()}
    x = f32(x)
    y = np.stack([layer(p, x[b], HQ, H, D, theta, frac, window, fox) for b in range(B)])
    meta = {"mixer": "attention", "hidden_size": str(d), "num_heads": str(HQ), "num_kv_heads": str(H),
            "head_dim": str(D), "rope_theta": repr(theta), "partial_rotary_factor": repr(frac),
            "window_size": str(window), "forget_gate": "1" if fox else "0"}
    write_st(os.path.join(OUT, "attention__" + name + ".safetensors"), {"x": x, **p, "expected.y": y}, meta)


os.makedirs(OUT, exist_ok=True)
make("base", 32, 4, 4, 8, 2, 19, 10000.0, 1.0, 0, False)
make("fox_gqa_window", 24, 4, 2, 6, 1, 23, 500.0, 0.5, 5, True)
