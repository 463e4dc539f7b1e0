#pragma once
// The gated_delta_rule op: validates, then dispatches to a kernel form.
#include "seqmix/ops/args/gated_delta_rule.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/reference/gated_delta_rule.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const gated_delta_rule_args<T>& a) {
  auto seqs = detail::validate_delta<T>("gated_delta_rule", a.q, a.k, a.v, a.beta, a.o, a.initial_state,
                                        a.final_state, a.cu_seqlens);
  detail::check_same_shape("gated_delta_rule", "g", a.g, "beta", a.beta);
  return seqs;
}

template <class T>
void gated_delta_rule(const gated_delta_rule_args<T>& a, const run_options& opt = {}) {
  const auto seqs = validate(a);
  detail::run_delta<T>("gated_delta_rule", seqs, a.q, a.k, a.v, a.beta, a.g, a.o, a.initial_state, a.final_state,
                       a.scale, opt);
}

}  // namespace seqmix
