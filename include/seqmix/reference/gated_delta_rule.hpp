#pragma once
// Reference (executable spec) of gated_delta_rule: the delta-rule recurrence with the
// per-head scalar decay e^{g_t} (see reference/delta_rule.hpp for the loops).
#include "seqmix/ops/args/gated_delta_rule.hpp"
#include "seqmix/reference/delta_rule.hpp"

namespace seqmix::reference {

template <class T>
void gated_delta_rule(const gated_delta_rule_args<T>& a) {
  delta_impl::delta_rule_reference<T>("gated_delta_rule", a.q, a.k, a.v, a.beta, a.g, a.o, a.initial_state,
                                  a.final_state, a.cu_seqlens, a.scale);
}

}  // namespace seqmix::reference
