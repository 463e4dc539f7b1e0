// seqmix-run entries of the Mamba family: ops selective_scan, causal_conv1d; mixers
// `--mixer mamba` and `--mixer mamba2` (parameters by state_dict name, config from metadata).
#include <chrono>

#include "../registry.hpp"
#include "../mixer_runner.hpp"
#include "../runner.hpp"
#include "seqmix/mixers/mamba.hpp"
#include "seqmix/mixers/mamba2.hpp"
#include "seqmix/ops/causal_conv1d.hpp"
#include "seqmix/ops/selective_scan.hpp"

namespace seqmix::tool {
namespace {

// FLOPs (README): selective_scan 7·B·T·D·N (discretise: mul+exp of ΔA, mul ΔB·x; update:
// fma; readout: fma; counted as 7 per state element), causal_conv1d 2·B·T·D·W.
SEQMIX_REGISTER_OP(make_entry(
    "selective_scan",
    "x[B,T,D] dt[B,T,D] A[D,N] B[B,T,G,N] C[B,T,G,N]; optional z[B,T,D] D[D] dt_bias[D] "
    "initial_state[S,D,N] cu_seqlens[S+1] (S sequences)",
    "dt_softplus (1)", {form::recurrent, form::chunked}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      selective_scan_args<T> a;
      a.x = in.template required<3>("x");
      a.dt = in.template required<3>("dt");
      a.A = in.template required<2>("A");
      a.B = in.template required<4>("B");
      a.C = in.template required<4>("C");
      a.z = in.template optional<3>("z");
      a.D = in.template optional<1>("D");
      a.dt_bias = in.template optional<1>("dt_bias");
      a.initial_state = in.template optional<3>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const auto sp = in.attr_int("dt_softplus", 1);
      if (sp != 0 && sp != 1)
        throw option_error("selective_scan: attribute 'dt_softplus' must be 0 or 1, got " + std::to_string(sp));
      a.dt_softplus = sp != 0;
      const index_t B = a.x.extent(0), L = a.x.extent(1), D = a.x.extent(2);
      const index_t N = a.A.empty() ? 0 : a.A.extent(1);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<3>("final_state", {in.sequence_count(B), D, N});
      validate(a);
      return prepared_call<T>{[a, opt] { selective_scan(a, opt); }, 7.0 * B * L * D * N, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "causal_conv1d", "x[B,T,D] weight[D,W]; optional bias[D] initial_state[N,D,W-1] cu_seqlens[N+1]",
    "activation (none|silu, default none)", {form::direct}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      causal_conv1d_args<T> a;
      a.x = in.template required<3>("x");
      a.weight = in.template required<2>("weight");
      a.bias = in.template optional<1>("bias");
      a.initial_state = in.template optional<3>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      a.activation = parse_conv_activation("causal_conv1d", in.attr("activation", "none"));
      const index_t B = a.x.extent(0), L = a.x.extent(1), D = a.x.extent(2);
      const index_t W = a.weight.empty() ? 1 : a.weight.extent(1);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<3>("final_state", {in.sequence_count(B), D, std::max<index_t>(W - 1, 0)});
      validate(a);
      return prepared_call<T>{[a, opt] { causal_conv1d(a, opt); }, 2.0 * B * L * D * W, double(B * L)};
    }));

// ---- mixers ----------------------------------------------------------------------------

const bool mamba_mixer_registered = register_mixer(
    {"mamba", "mamba_ssm Mamba (mamba_simple): x[B,T,d_model], state_dict names; metadata d_model d_state d_conv expand dt_rank",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "mamba";
       mixers::mamba_config c;
       c.d_model = meta_size(in, n, "d_model", input_width(in, 64));
       c.d_state = meta_size(in, n, "d_state", 16);
       c.d_conv = meta_size(in, n, "d_conv", 4);
       c.expand = meta_size(in, n, "expand", 2);
       c.dt_rank = meta_size(in, n, "dt_rank", 0);
       if (c.d_model == 0 || c.d_state == 0 || c.d_conv == 0 || c.expand == 0)
         throw option_error("mamba: metadata d_model, d_state, d_conv, expand must be positive");
       mixers::mamba<float> m(c);
       run_mixer_entry(n, m, in, out, step, repeat, report);
     }});

const bool mamba2_mixer_registered = register_mixer(
    {"mamba2",
     "mamba_ssm Mamba2: x[B,T,d_model], state_dict names; metadata d_model d_state d_conv expand headdim ngroups "
     "norm_eps norm_group_size norm_before_gate rmsnorm",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "mamba2";
       mixers::mamba2_config c;
       c.d_model = meta_size(in, n, "d_model", input_width(in, 64));
       c.d_state = meta_size(in, n, "d_state", 128);
       c.d_conv = meta_size(in, n, "d_conv", 4);
       c.expand = meta_size(in, n, "expand", 2);
       c.headdim = meta_size(in, n, "headdim", 64);
       c.ngroups = meta_size(in, n, "ngroups", 1);
       c.norm_eps = meta_number(in, n, "norm_eps", 1e-5);
       c.norm_group_size = meta_size(in, n, "norm_group_size", 0);
       c.norm_before_gate = meta_flag(in, n, "norm_before_gate", false);
       if (!meta_flag(in, n, "rmsnorm", true)) throw option_error("mamba2: only rmsnorm = 1 is supported");
       try {
         mixers::mamba2<float> m(c);
         run_mixer_entry(n, m, in, out, step, repeat, report);
       } catch (const shape_error&) {
         throw;
       } catch (const std::invalid_argument& e) {  // inconsistent sizes in the metadata
         throw option_error(e.what());
       }
     }});

}  // namespace
}  // namespace seqmix::tool
