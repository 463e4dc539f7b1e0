// seqmix-run entry of the softmax attention family.
#include "../registry.hpp"
#include "seqmix/ops/attention.hpp"

namespace seqmix::tool {
namespace {

SEQMIX_REGISTER_OP(make_entry(
    "attention",
    "q[B,T,HQ,K] k[B,S,H,K] v[B,S,H,V] (S >= T); optional g[B,S,HQ] alibi_slopes[HQ] cu_seqlens[N+1] (S == T)",
    "scale (1/sqrt K), causal (1), window (0 = none)", {form::parallel, form::recurrent},
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      attention_args<T> a;
      a.q = in.template required<4>("q");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.g = in.template optional<3>("g");
      a.alibi_slopes = in.template optional<1>("alibi_slopes");
      a.cu_seqlens = in.cu_seqlens();
      if (in.attr("scale", "") != "") a.scale = in.attr_double("scale", 0.0);
      const auto causal = in.attr_int("causal", 1);
      if (causal != 0 && causal != 1)
        throw option_error("attention: attribute 'causal' must be 0 or 1, got " + std::to_string(causal));
      a.causal = causal != 0;
      a.window = in.attr_int("window", 0);
      const index_t B = a.q.extent(0), L = a.q.extent(1), HQ = a.q.extent(2);
      a.o = in.template output<4>("o", {B, L, HQ, a.v.empty() ? 0 : a.v.extent(3)});
      validate(a);  // errors surface before anything runs
      return prepared_call<T>{[a, opt] { attention(a, opt); }, attention_flops(a), double(B * L)};
    }));

}  // namespace
}  // namespace seqmix::tool
