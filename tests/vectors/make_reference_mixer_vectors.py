#!/usr/bin/env python3
"""Test vectors made by running the reference PyTorch modules themselves (CPU, float32).

    /usr/bin/python3 tests/vectors/make_reference_mixer_vectors.py \
        --mamba /path/to/state-spaces/mamba  --rwkv /path/to/BlinkDL/RWKV-LM  [--out tests/vectors/mixers]

Each path is a git checkout or bare git dir of the reference repository (the module source is read
from HEAD and executed as is; nothing of it is copied into seqmix). The CUDA/Triton entry points
these modules call are swapped for the pure-PyTorch reference functions the same repositories ship
(mamba: selective_scan_ref; RWKV-7: the USE_CUDA_KERNEL=False path of RWKV7_OP) and `einops` for a
small local implementation, since none of those packages exist on a CPU-only Debian machine.
Weights are moved away from their initialisation (so a wrong init assumption cannot pass), the
module runs its forward on x[B,T,d], and the file stores x, every state_dict tensor under its
name, the configuration as __metadata__ strings, and expected.y (plus expected.v_first for RWKV-7).
Needs python3-torch (Debian) and numpy.
"""
import argparse, json, math, os, re, struct, subprocess, sys, types
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- minimal einops (rearrange/repeat)
def _parse(side):
    groups, cur, depth = [], None, 0
    for tok in re.findall(r"\(|\)|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+", side):
        if tok == "(":
            cur = []
        elif tok == ")":
            groups.append(cur); cur = None
        elif cur is not None:
            cur.append(tok)
        else:
            groups.append([tok])
    return groups

def _einops(x, pattern, mode, **sizes):
    left, right = [s.strip() for s in pattern.split("->")]
    lg, rg = _parse(left), _parse(right)
    sizes = dict(sizes)
    # ellipsis
    n_named = len([g for g in lg if g != ["..."]])
    ell = x.dim() - n_named
    if ["..."] in lg:
        i = lg.index(["..."])
        lg = lg[:i] + [[f"_e{j}"] for j in range(ell)] + lg[i + 1:]
        j = rg.index(["..."])
        rg = rg[:j] + [[f"_e{k}"] for k in range(ell)] + rg[j + 1:]
    # sizes of left axes
    assert len(lg) == x.dim(), (pattern, x.shape)
    flat_left = []
    for g, n in zip(lg, x.shape):
        unknown = [a for a in g if not a.isdigit() and a not in sizes]
        known = 1
        for a in g:
            known *= int(a) if a.isdigit() else sizes.get(a, 1)
        if len(unknown) == 1:
            sizes[unknown[0]] = n // known
        for a in g:
            if not a.isdigit():
                flat_left.append(a)
    x = x.reshape([sizes[a] for a in flat_left]) if flat_left else x.reshape([])
    flat_right = [a for g in rg for a in g if not a.isdigit()]
    present = [a for a in flat_right if a in flat_left]
    x = x.permute([flat_left.index(a) for a in present])
    if mode == "repeat":
        shape, view = [], []
        for a in flat_right:
            shape.append(sizes[a])
            view.append(sizes[a] if a in flat_left else 1)
        x = x.reshape(view).expand(shape)
    out_shape = []
    for g in rg:
        n = 1
        for a in g:
            n *= int(a) if a.isdigit() else sizes[a]
        out_shape.append(n)
    return x.reshape(out_shape)

einops = types.ModuleType("einops")
einops.rearrange = lambda _t, _pattern, **k: _einops(_t, _pattern, "rearrange", **k)
einops.repeat = lambda _t, _pattern, **k: _einops(_t, _pattern, "repeat", **k)
sys.modules["einops"] = einops

# ---------------------------------------------------------------- helpers
def git_show(repo, path):
    gitdir = repo if os.path.isdir(os.path.join(repo, "objects")) else os.path.join(repo, ".git")
    return subprocess.run(["git", "--git-dir", gitdir, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout

def git_head(repo):
    gitdir = repo if os.path.isdir(os.path.join(repo, "objects")) else os.path.join(repo, ".git")
    return subprocess.run(["git", "--git-dir", gitdir, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()

def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__path__ = []
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m

def load_module(name, source):
    m = types.ModuleType(name)
    sys.modules[name] = m
    exec(compile(source, name, "exec"), m.__dict__)
    return m

def perturb(module, gen, scale=0.1):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))

def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
    print(f"wrote {path} ({8 + len(h) + off} bytes)")

# ---------------------------------------------------------------- mamba_ssm.modules.mamba_simple.Mamba
def make_mamba(repo, out, gen):
    for name in ["mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.triton", "mamba_ssm.modules", "mamba_ssm.utils"]:
        stub(name)
    stub("mamba_ssm.utils.torch", custom_fwd=lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f)),
         custom_bwd=lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f)))
    stub("mamba_ssm.ops.triton.layer_norm", _layer_norm_fwd=None, RMSNorm=None, layer_norm_fn=None, rms_norm_fn=None)
    stub("selective_scan_cuda")
    ssi = load_module("mamba_ssm.ops.selective_scan_interface", git_show(repo, "mamba_ssm/ops/selective_scan_interface.py"))
    ms = load_module("mamba_ssm.modules.mamba_simple", git_show(repo, "mamba_ssm/modules/mamba_simple.py"))
    ms.selective_scan_fn = ssi.selective_scan_ref  # the repository's own pure-PyTorch scan
    ms.causal_conv1d_fn = ms.causal_conv1d_update = ms.selective_state_update = None
    for (d_model, d_state, d_conv, expand, B, T, tag) in [(32, 16, 4, 2, 2, 37, "torch"), (24, 8, 3, 3, 1, 50, "torch_conv3")]:
        torch.manual_seed(int(torch.randint(0, 1 << 30, (1,), generator=gen)))
        m = ms.Mamba(d_model=d_model, d_state=d_state, d_conv=d_conv, expand=expand, use_fast_path=False)
        perturb(m, gen)
        x = torch.randn(B, T, d_model, generator=gen)
        with torch.no_grad():
            y = m(x)
        tensors = {"x": x}
        tensors.update({k: v for k, v in m.state_dict().items()})
        tensors["expected.y"] = y
        write_safetensors(os.path.join(out, f"mamba__{tag}.safetensors"), tensors,
                          {"mixer": "mamba", "d_model": d_model, "d_state": d_state, "d_conv": d_conv,
                           "expand": expand, "dt_rank": m.dt_rank, "reference": "state-spaces/mamba@" + git_head(repo)})

# ---------------------------------------------------------------- mamba_ssm.modules.mamba2.Mamba2
class _Permissive:
    """Stands in for `triton` / `triton.language` at import time: decorators return the function."""
    def __getattr__(self, name):
        return _Permissive()
    def __call__(self, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f=None, *a, **k: f if callable(f) else _Permissive()

def make_mamba2(repo, out, gen):
    for name in ["mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.triton", "mamba_ssm.modules", "mamba_ssm.utils",
                 "mamba_ssm.distributed"]:
        stub(name)
    triton = stub("triton"); triton.__getattr__ = lambda n: _Permissive()
    tl = stub("triton.language"); tl.__getattr__ = lambda n: _Permissive()
    triton.language = tl
    ln = load_module("mamba_ssm.ops.triton.layernorm_gated", git_show(repo, "mamba_ssm/ops/triton/layernorm_gated.py"))
    # The gated RMSNorm module of the repository, computed by the repository's rms_norm_ref.
    ln.rmsnorm_fn = lambda x, weight, bias, z=None, eps=1e-6, group_size=None, norm_before_gate=True: \
        ln.rms_norm_ref(x, weight, bias, z=z, eps=eps, group_size=group_size, norm_before_gate=norm_before_gate)
    stub("mamba_ssm.distributed.tensor_parallel", ColumnParallelLinear=None, RowParallelLinear=None)
    stub("mamba_ssm.distributed.distributed_utils", all_reduce=None, reduce_scatter=None)
    ssd_stub = stub("mamba_ssm.ops.triton.ssd_combined", mamba_chunk_scan_combined=None, mamba_split_conv1d_scan_combined=None)
    class _Hub:  # huggingface_hub.PyTorchModelHubMixin: only a base class here
        pass
    stub("huggingface_hub", PyTorchModelHubMixin=_Hub)
    ssd_min = load_module("mamba_ssm.modules.ssd_minimal", git_show(repo, "mamba_ssm/modules/ssd_minimal.py"))

    def chunk_scan(x, dt, A, B, C, chunk_size, D=None, z=None, dt_bias=None, dt_softplus=False, seq_idx=None,
                   cu_seqlens=None, dt_limit=(0.0, float("inf")), return_final_states=False, **kw):
        # the Triton kernel's contract, computed with the repository's ssd_minimal_discrete
        b, l, h, p = x.shape
        g = B.shape[2]
        if dt_bias is not None: dt = dt + dt_bias
        if dt_softplus: dt = F.softplus(dt)
        dt = dt.clamp(min=dt_limit[0], max=dt_limit[1])
        Bh = B.repeat_interleave(h // g, dim=2)
        Ch = C.repeat_interleave(h // g, dim=2)
        pad = (-l) % chunk_size
        X, Ad = x * dt[..., None], A[None, None, :] * dt
        if pad:
            X = F.pad(X, (0, 0, 0, 0, 0, pad)); Ad = F.pad(Ad, (0, 0, 0, pad))
            Bh = F.pad(Bh, (0, 0, 0, 0, 0, pad)); Ch = F.pad(Ch, (0, 0, 0, 0, 0, pad))
        y, final = ssd_min.ssd_minimal_discrete(X.double(), Ad.double(), Bh.double(), Ch.double(), chunk_size)
        y = y[:, :l].to(x.dtype)
        if D is not None:
            y = y + x * (D[..., None] if D.dim() == 1 else D)
        if z is not None:
            y = y * F.silu(z)
        return (y, final) if return_final_states else y

    ssd_stub.mamba_chunk_scan_combined = chunk_scan
    m2 = load_module("mamba_ssm.modules.mamba2", git_show(repo, "mamba_ssm/modules/mamba2.py"))
    m2.mamba_chunk_scan_combined = chunk_scan
    m2.causal_conv1d_fn = m2.causal_conv1d_update = m2.selective_state_update = None
    for (d_model, d_state, headdim, ngroups, B, T, tag) in [(32, 16, 16, 1, 2, 37, "torch"), (48, 8, 12, 2, 1, 45, "torch_groups")]:
        torch.manual_seed(int(torch.randint(0, 1 << 30, (1,), generator=gen)))
        m = m2.Mamba2(d_model=d_model, d_state=d_state, headdim=headdim, ngroups=ngroups, use_mem_eff_path=False,
                      chunk_size=16)
        perturb(m, gen)
        x = torch.randn(B, T, d_model, generator=gen)
        with torch.no_grad():
            y = m(x)
        tensors = {"x": x}
        tensors.update({k: v for k, v in m.state_dict().items()})
        tensors["expected.y"] = y
        d_inner = m.d_inner
        write_safetensors(os.path.join(out, f"mamba2__{tag}.safetensors"), tensors,
                          {"mixer": "mamba2", "d_model": d_model, "d_state": d_state, "d_conv": m.d_conv,
                           "expand": m.expand, "headdim": headdim, "ngroups": ngroups, "norm_eps": 1e-5,
                           "norm_group_size": d_inner // ngroups, "norm_before_gate": 0, "rmsnorm": 1,
                           "reference": "state-spaces/mamba@" + git_head(repo)})

# ---------------------------------------------------------------- RWKV-LM RWKV-v7 RWKV_Tmix_x070
def make_rwkv7(repo, out, gen):
    src = git_show(repo, "RWKV-v7/rwkv_v7_demo.py")
    # Take the module definitions of the demo (the time-mix class and the torch RWKV7_OP), not its
    # model loading / generation script parts.
    start = src.index("class RWKV_Tmix_x070")
    end = src.index("class RWKV_CMix_x070")
    tmix_src = src[start:end]
    op_start = src.index("else:", src.index("if USE_CUDA_KERNEL:"))
    op_src = src[op_start:].split("\n")
    # the else branch body (def RWKV7_OP ... ) up to the next top-level statement
    body = []
    for line in op_src[1:]:
        if line and not line.startswith(" ") and not line.startswith("\t"):
            break
        body.append(line[4:] if line.startswith("    ") else line)
    for (C, N, lora, T, B, layer_id, tag) in [(64, 16, (8, 8, 8, 16), 29, 2, 0, "torch_layer0"),
                                              (64, 16, (8, 8, 8, 16), 33, 1, 1, "torch_layer1")]:
        g = {"torch": torch, "nn": nn, "F": F, "math": math, "HEAD_SIZE": N, "DTYPE": torch.float32,
             "MyModule": nn.Module, "MyFunction": (lambda f: f),
             "D_DECAY_LORA": lora[0], "D_AAA_LORA": lora[1], "D_MV_LORA": lora[2], "D_GATE_LORA": lora[3]}
        exec("\n".join(body), g)
        exec(tmix_src, g)
        args = types.SimpleNamespace(head_size_a=N, dim_att=C, n_embd=C, n_layer=2)
        m = g["RWKV_Tmix_x070"](args, layer_id)
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            m.w0.add_(-1.0)
        x = torch.randn(B, T, C, generator=gen)
        v_first = torch.randn(B, T, C, generator=gen)
        with torch.no_grad():
            y, vf = m(x, v_first)
        tensors = {"x": x}
        if layer_id > 0:
            tensors["v_first"] = v_first
        tensors.update({k: v for k, v in m.state_dict().items()})
        tensors["expected.y"] = y
        if layer_id == 0:
            tensors["expected.v_first"] = vf
        write_safetensors(os.path.join(out, f"rwkv7__{tag}.safetensors"), tensors,
                          {"mixer": "rwkv7", "n_embd": C, "dim_att": C, "head_size": N, "n_head": C // N,
                           "layer_id": layer_id, "d_decay_lora": lora[0], "d_aaa_lora": lora[1],
                           "d_mv_lora": lora[2], "d_gate_lora": lora[3], "ln_x_eps": 64e-5,
                           "v_first_mode": "produced" if layer_id == 0 else "input",
                           "reference": "BlinkDL/RWKV-LM@" + git_head(repo)})

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mamba"); ap.add_argument("--rwkv")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "mixers"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    gen = torch.Generator().manual_seed(20261123)
    torch.set_grad_enabled(False)
    if a.mamba:
        make_mamba(a.mamba, a.out, gen)
        make_mamba2(a.mamba, a.out, gen)
    if a.rwkv: make_rwkv7(a.rwkv, a.out, gen)
