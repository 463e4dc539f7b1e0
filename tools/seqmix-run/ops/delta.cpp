// seqmix-run entries of the delta-rule family (delta_rule, gated_delta_rule).
// FLOPs per call (README): the recurrence count 7·B·T·H·K·V (k_tᵀS, the decayed rank-1
// update, S_tᵀq_t), whatever form runs.
#include <cmath>

#include "../registry.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/ops/gated_delta_rule.hpp"

namespace seqmix::tool {
namespace {

template <class Args, class In>
void read_common(Args& a, In& in) {
  a.q = in.template required<4>("q");
  a.k = in.template required<4>("k");
  a.v = in.template required<4>("v");
  a.beta = in.template required<3>("beta");
  a.initial_state = in.template optional<4>("initial_state");
  a.cu_seqlens = in.cu_seqlens();
  a.scale = in.attr_double("scale", a.q.extent(3) > 0 ? 1.0 / std::sqrt(double(a.q.extent(3))) : 1.0);
  const index_t B = a.q.extent(0), L = a.q.extent(1), H = a.q.extent(2), K = a.q.extent(3);
  const index_t V = a.v.extent(3);
  a.o = in.template output<4>("o", {B, L, H, V});
  a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
}

constexpr const char* delta_inputs =
    "q[B,T,H,K] k[B,T,H,K] v[B,T,H,V] beta[B,T,H]; optional initial_state[N,H,K,V] cu_seqlens[N+1]";
constexpr const char* gated_inputs =
    "q[B,T,H,K] k[B,T,H,K] v[B,T,H,V] beta[B,T,H] g[B,T,H]; optional initial_state[N,H,K,V] cu_seqlens[N+1]";

template <class Args>
double delta_flops(const Args& a) {
  return 7.0 * double(a.q.extent(0)) * double(a.q.extent(1)) * double(a.q.extent(2)) * double(a.q.extent(3)) *
         double(a.v.extent(3));
}

SEQMIX_REGISTER_OP(make_entry("delta_rule", delta_inputs, "scale (1/sqrt K)", {form::recurrent, form::chunked},
                              [](auto& in, const run_options& opt) {
                                using T = typename std::remove_reference_t<decltype(in)>::value_type;
                                delta_rule_args<T> a;
                                read_common(a, in);
                                validate(a);
                                return prepared_call<T>{[a, opt] { delta_rule(a, opt); }, delta_flops(a),
                                                        double(a.q.extent(0) * a.q.extent(1))};
                              }));

SEQMIX_REGISTER_OP(make_entry("gated_delta_rule", gated_inputs, "scale (1/sqrt K)", {form::recurrent, form::chunked},
                              [](auto& in, const run_options& opt) {
                                using T = typename std::remove_reference_t<decltype(in)>::value_type;
                                gated_delta_rule_args<T> a;
                                a.g = in.template required<3>("g");
                                read_common(a, in);
                                validate(a);
                                return prepared_call<T>{[a, opt] { gated_delta_rule(a, opt); }, delta_flops(a),
                                                        double(a.q.extent(0) * a.q.extent(1))};
                              }));

}  // namespace
}  // namespace seqmix::tool
