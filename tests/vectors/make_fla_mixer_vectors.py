#!/usr/bin/env python3
"""Test vectors made by running fla's layer modules themselves (CPU, float32).

    /usr/bin/python3 tests/vectors/make_fla_mixer_vectors.py --fla /path/to/fla-org/flash-linear-attention \
        [--out tests/vectors/mixers]

--fla is a git checkout or bare git dir of flash-linear-attention. At run time the layer files
fla/layers/{gla,delta_net,gated_deltanet}.py (and fla/layers/utils.py, fla/modules/conv/short_conv.py)
are read from its HEAD into a temporary directory and imported unchanged; nothing of fla is copied
into seqmix. `import fla` itself cannot work on a CPU-only Debian machine (PyTorch 1.13, no Triton),
so the package's entries these files import are put into sys.modules as small modules:

  fla's own code, loaded from the same commit:
    fla.layers.utils                  the file itself (cache / padding helpers; no padding is used here)
    fla.modules.ShortConvolution      fla/modules/conv/short_conv.py (the nn.Conv1d subclass itself)
    fla.modules.RMSNorm               class RMSNorm of fla/modules/layernorm.py, its forward computed by
                                      rms_norm_ref of the same file
    fla.modules.FusedRMSNormGated     class FusedRMSNormGated of fla/modules/fused_norm_gate.py
    fla.ops.gla.*_gla                 naive_recurrent_gla (fla/ops/gla/naive.py)
    fla.ops.delta_rule.*              delta_rule_recurrence (fla/ops/delta_rule/naive.py)
    fla.ops.gated_delta_rule.*        naive_recurrent_gated_delta_rule (fla/ops/gated_delta_rule/naive.py)
                                      with the gate of naive_gdn_gate (fla/ops/gated_delta_rule/gate.py)
    (classes and functions are taken out of their files with `ast`, so the Triton kernels next
    to them are never executed)

  small replacements written here, where fla has no PyTorch reference:
    einops.rearrange / repeat         the local version of make_reference_mixer_vectors.py
    rms_norm_gated                    the Triton kernel's formula: rms_norm_ref(x) * g * sigmoid(g)
                                      ('swish'/'silu'; g * sigmoid... only 'sigmoid' otherwise)
    l2norm (use_qk_l2norm_in_kernel)  x / sqrt(sum(x^2) + 1e-6), as fla's l2norm_fwd kernel
    causal_conv1d                     depthwise causal conv (F.conv1d, left padding W-1) + silu
    the kernel argument glue          layout [B,T,H,D] <-> [B,H,T,D] for delta_rule_recurrence,
                                      sigmoid(beta) (x2 with allow_neg_eigval) for the gated kernel
    fla.modules.activations.ACT2FN    a dict of torch activations (only looked up, unused here)
    fla.utils.tensor_cache, fla.ops.utils.index   unused helpers of fla.layers.utils

The layers run in their default mode; with T <= 64 they call the fused_recurrent entry, longer
inputs the chunk entry: both are the naive recurrence here. Weights are moved away from their
initialisation, the layer runs forward on x[B,T,d], and each file stores x, every state_dict tensor
under its name, the constructor arguments as __metadata__ strings (plus mixer, reference = the fla
commit) and expected.y. Needs python3-torch (Debian) and numpy.
"""
import argparse, ast, importlib.util, os, sys, tempfile, types

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# git_show/git_head/stub/perturb/write_safetensors, and the local einops (installed in sys.modules)
from make_reference_mixer_vectors import git_head, git_show, perturb, stub, write_safetensors  # noqa: E402


def extract(source, names):
    """Source of the named top-level functions/classes of a file (decorators dropped)."""
    tree = ast.parse(source)
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
            node.decorator_list = []
            out.append(ast.unparse(node) if hasattr(ast, "unparse") else None)
            if out[-1] is None:  # python < 3.9: take the lines as written
                lines = source.splitlines()
                out[-1] = "\n".join(lines[node.lineno - 1:node.end_lineno])
    missing = set(names) - {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not missing, f"not found in fla source: {missing}"
    return "\n\n".join(out)


def exec_in(name, source, **globals_):
    m = types.ModuleType(name)
    m.__dict__.update({"torch": torch, "nn": nn, "F": F, **globals_})
    exec(compile("from __future__ import annotations\n" + source, name, "exec"), m.__dict__)
    return m


def import_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


# ---------------------------------------------------------------- replacements (no fla reference exists)
def l2norm(x):
    return (x.float() / torch.sqrt((x.float() * x.float()).sum(-1, keepdim=True) + 1e-6)).to(x.dtype)


def causal_conv1d(x, weight=None, bias=None, residual=None, initial_state=None, output_final_state=False,
                  activation=None, backend=None, cu_seqlens=None, chunk_indices=None, **kwargs):
    """x[B,T,D], weight[D,W]: y[t] = sum_j weight[:, j] * x[t - (W-1) + j] (+ bias), then silu."""
    assert initial_state is None and cu_seqlens is None and not output_final_state
    D, W = weight.shape
    y = F.conv1d(x.transpose(1, 2), weight[:, None, :], bias, padding=W - 1, groups=D)[..., :x.shape[1]]
    y = y.transpose(1, 2)
    if activation in ("silu", "swish"):
        y = F.silu(y)
    if residual is not None:
        y = y + residual
    return y, None


def setup_fla(repo, tmp):
    """Puts the fla entries the layer files import into sys.modules; returns the layer modules."""
    show = lambda p: git_show(repo, p)
    for n in ["fla", "fla.layers", "fla.modules", "fla.modules.conv", "fla.ops", "fla.ops.utils"]:
        stub(n)
    stub("fla.utils", tensor_cache=lambda f: f)
    stub("fla.ops.utils.index", prepare_cu_seqlens_from_mask=None, prepare_lens_from_mask=None)
    stub("fla.modules.activations", ACT2FN={"swish": F.silu, "silu": F.silu, "relu": F.relu,
                                            "sigmoid": torch.sigmoid, "identity": lambda x: x})
    stub("fla.modules.conv.causal_conv1d", causal_conv1d=causal_conv1d)
    stub("fla.modules.convolution", causal_conv1d=causal_conv1d)

    # norms: fla's classes, computed by fla's rms_norm_ref
    ln_src = show("fla/modules/layernorm.py")
    ref = exec_in("fla_rms_norm_ref", extract(ln_src, ["rms_norm_ref"]))

    def rms_norm(x, weight, bias, residual=None, eps=1e-5, prenorm=False, residual_in_fp32=False, **kw):
        assert residual is None and not prenorm
        return ref.rms_norm_ref(x, weight, bias, eps=eps, upcast=True).to(x.dtype)

    def rms_norm_gated(x, g, weight, bias, activation="swish", residual=None, prenorm=False,
                       residual_in_fp32=False, eps=1e-6):
        assert residual is None and not prenorm
        y = ref.rms_norm_ref(x, weight, bias, eps=eps, upcast=True)
        g = g.float()
        y = y * g * torch.sigmoid(g) if activation in ("swish", "silu") else y * torch.sigmoid(g)
        return y.to(x.dtype)

    norms = exec_in("fla.modules.norms", extract(ln_src, ["RMSNorm"]) + "\n\n" +
                    extract(show("fla/modules/fused_norm_gate.py"), ["FusedRMSNormGated"]),
                    rms_norm=rms_norm, rms_norm_gated=rms_norm_gated)

    files = {"layers_utils.py": "fla/layers/utils.py", "short_conv.py": "fla/modules/conv/short_conv.py",
             "gla.py": "fla/layers/gla.py", "delta_net.py": "fla/layers/delta_net.py",
             "gated_deltanet.py": "fla/layers/gated_deltanet.py", "gla_naive.py": "fla/ops/gla/naive.py",
             "delta_naive.py": "fla/ops/delta_rule/naive.py",
             "gated_delta_naive.py": "fla/ops/gated_delta_rule/naive.py"}
    for local, path in files.items():
        with open(os.path.join(tmp, local), "w") as f:
            f.write(show(path))
    p = lambda n: os.path.join(tmp, n)
    short_conv = import_file("fla.modules.conv.short_conv", p("short_conv.py"))
    stub("fla.modules", RMSNorm=norms.RMSNorm, FusedRMSNormGated=norms.FusedRMSNormGated,
         ShortConvolution=short_conv.ShortConvolution)
    import_file("fla.layers.utils", p("layers_utils.py"))

    # ops: fla's naive recurrences behind the kernel entry points the layers call
    gla_naive = import_file("fla.ops.gla.naive", p("gla_naive.py"))

    def gla_op(q, k, v, gk=None, g=None, scale=None, initial_state=None, output_final_state=False,
               state_v_first=False, cu_seqlens=None, **kw):
        assert scale is None and initial_state is None and cu_seqlens is None
        return gla_naive.naive_recurrent_gla(q, k, v, gk if gk is not None else g)

    stub("fla.ops.gla", chunk_gla=gla_op, fused_chunk_gla=gla_op, fused_recurrent_gla=gla_op)

    delta_naive = import_file("fla.ops.delta_rule.naive", p("delta_naive.py"))

    def delta_op(q, k, v, beta=None, scale=None, initial_state=None, output_final_state=False, cu_seqlens=None,
                 use_qk_l2norm_in_kernel=False, **kw):
        assert scale is None and initial_state is None and cu_seqlens is None
        if use_qk_l2norm_in_kernel:
            q, k = l2norm(q), l2norm(k)
        t = lambda x: x.transpose(1, 2).contiguous()  # [B,T,H,...] -> [B,H,T,...]
        o, _ = delta_naive.delta_rule_recurrence(t(q), t(k), t(v), t(beta))
        return t(o), None

    stub("fla.ops.delta_rule", chunk_delta_rule=delta_op, fused_recurrent_delta_rule=delta_op)

    gated_naive = import_file("fla.ops.gated_delta_rule.naive", p("gated_delta_naive.py"))
    gate = exec_in("fla_gdn_gate", extract(show("fla/ops/gated_delta_rule/gate.py"), ["naive_gdn_gate"]))

    def gated_delta_op(q, k, v, g=None, beta=None, A_log=None, dt_bias=None, scale=None, initial_state=None,
                       output_final_state=False, use_qk_l2norm_in_kernel=False, use_gate_in_kernel=False,
                       use_beta_sigmoid_in_kernel=False, allow_neg_eigval=False, state_v_first=False,
                       cu_seqlens=None, **kw):
        assert scale is None and initial_state is None and cu_seqlens is None
        if use_gate_in_kernel:
            g = gate.naive_gdn_gate(g, A_log, dt_bias)
        if use_beta_sigmoid_in_kernel:
            beta = torch.sigmoid(beta.float())
            if allow_neg_eigval:
                beta = beta * 2
        if use_qk_l2norm_in_kernel:
            q, k = l2norm(q), l2norm(k)
        return gated_naive.naive_recurrent_gated_delta_rule(q, k, v, beta, g)

    stub("fla.ops.gated_delta_rule", chunk_gated_delta_rule=gated_delta_op,
         fused_recurrent_gated_delta_rule=gated_delta_op)

    return (import_file("fla.layers.gla", p("gla.py")), import_file("fla.layers.delta_net", p("delta_net.py")),
            import_file("fla.layers.gated_deltanet", p("gated_deltanet.py")))


def save(out, mixer, tag, layer, x, y, meta, reference):
    tensors = {"x": x}
    tensors.update({k: v for k, v in layer.state_dict().items()})
    tensors["expected.y"] = y
    meta = {k: (int(v) if isinstance(v, bool) else v) for k, v in meta.items()}
    write_safetensors(os.path.join(out, f"{mixer}__{tag}.safetensors"), tensors,
                      {"mixer": mixer, **meta, "reference": reference})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fla", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "mixers"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_grad_enabled(False)
    reference = "fla-org/flash-linear-attention@" + git_head(a.fla)
    gen = torch.Generator().manual_seed(20261123)

    def run(layer, B, T, d):
        layer.eval()
        perturb(layer, gen, 0.1)
        x = torch.randn(B, T, d, generator=gen)
        return x, layer(x)[0]

    with tempfile.TemporaryDirectory() as tmp:
        gla, delta_net, gated_deltanet = setup_fla(a.fla, tmp)

        # GatedLinearAttention: default mode (T <= 64: fused_recurrent, else chunk), fused norm + swish gate
        for tag, T, kw in [("fla", 37, dict(hidden_size=32, num_heads=2, expand_k=0.5, expand_v=1.0,
                                            gate_low_rank_dim=8)),
                           ("fla_chunk_nogate", 70, dict(hidden_size=24, num_heads=3, expand_k=1.0, expand_v=0.5,
                                                         gate_low_rank_dim=4, use_output_gate=False,
                                                         gate_logit_normalizer=8, clamp_min=-0.1))]:
            torch.manual_seed(int(torch.randint(0, 1 << 30, (1,), generator=gen)))
            m = gla.GatedLinearAttention(**kw)
            x, y = run(m, 2, T, kw["hidden_size"])
            meta = dict(kw)
            meta.setdefault("use_output_gate", True)
            meta.update(gate_logit_normalizer=m.gate_logit_normalizer, norm_eps=1e-5)
            save(a.out, "gla", tag, m, x, y, meta, reference)

        # DeltaNet: short convs, silu q/k, l2 q/k, sigmoid beta
        for tag, T, kw in [("fla", 37, dict(hidden_size=32, num_heads=2, use_gate=False)),
                           ("fla_gate", 37, dict(hidden_size=24, num_heads=3, expand_v=2.0, use_gate=True,
                                                 conv_size=3, conv_bias=True, allow_neg_eigval=True))]:
            torch.manual_seed(int(torch.randint(0, 1 << 30, (1,), generator=gen)))
            m = delta_net.DeltaNet(**kw)
            x, y = run(m, 2, T, kw["hidden_size"])
            meta = dict(expand_k=m.expand_k, expand_v=m.expand_v, conv_size=m.conv_size, conv_bias=m.conv_bias,
                        allow_neg_eigval=m.allow_neg_eigval, norm_eps=1e-5)
            meta.update(kw)
            save(a.out, "deltanet", tag, m, x, y, meta, reference)

        # GatedDeltaNet: gate -exp(A_log) softplus(a_proj x + dt_bias), sigmoid beta, l2 q/k
        for tag, T, kw in [("fla", 37, dict(hidden_size=32, num_heads=2, head_dim=16, expand_v=2.0)),
                           ("fla_nogate", 70, dict(hidden_size=24, num_heads=3, head_dim=8, expand_v=1.0,
                                                   use_gate=False, conv_size=3, conv_bias=True,
                                                   allow_neg_eigval=True))]:
            torch.manual_seed(int(torch.randint(0, 1 << 30, (1,), generator=gen)))
            m = gated_deltanet.GatedDeltaNet(**kw)
            x, y = run(m, 2, T, kw["hidden_size"])
            meta = dict(use_gate=m.use_gate, conv_size=m.conv_size, conv_bias=m.conv_bias,
                        allow_neg_eigval=m.allow_neg_eigval, norm_eps=1e-5, num_v_heads=m.num_v_heads)
            meta.update(kw)
            save(a.out, "gated_deltanet", tag, m, x, y, meta, reference)


if __name__ == "__main__":
    main()
