// seqmix-run entries of the Mamba family: selective_scan, causal_conv1d.
#include "../registry.hpp"
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

}  // namespace
}  // namespace seqmix::tool
