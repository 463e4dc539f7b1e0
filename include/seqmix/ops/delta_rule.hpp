#pragma once
// The delta_rule op: validates, then dispatches to a kernel form.
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/ops/args/delta_rule.hpp"
#include "seqmix/reference/delta_rule.hpp"

namespace seqmix {
namespace detail {

// Shapes shared by delta_rule and gated_delta_rule (g checked by the caller).
template <class T>
sequences validate_delta(const char* op, const const_view<T, 4>& q, const const_view<T, 4>& k,
                         const const_view<T, 4>& v, const const_view<T, 3>& beta, const tensor_view<T, 4>& o,
                         const const_view<T, 4>& initial_state, const tensor_view<T, 4>& final_state,
                         std::span<const std::int64_t> cu_seqlens) {
  check_shape(op, "q", q, {-1, -1, -1, -1});
  check_same_shape(op, "k", k, "q", q);
  const index_t B = q.extent(0), L = q.extent(1), H = q.extent(2), K = q.extent(3);
  check_shape(op, "v", v, {B, L, H, -1});
  const index_t V = v.extent(3);
  check_shape(op, "beta", beta, {B, L, H});
  check_same_shape(op, "o", o, "v", v);
  sequences seqs(op, B, L, cu_seqlens);
  check_optional_shape(op, "initial_state", initial_state, {seqs.count(), H, K, V});
  check_optional_shape(op, "final_state", final_state, {seqs.count(), H, K, V});
  if (!initial_state.empty() && !initial_state.is_contiguous())
    throw_shape_error(op, "initial_state", "must be contiguous");
  if (!final_state.empty() && !final_state.is_contiguous())
    throw_shape_error(op, "final_state", "must be contiguous");
  return seqs;
}

inline void check_delta_form(const char* op, const run_options& opt) {
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent: break;
    default:
      throw option_error(std::string(op) + ": form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent)");
  }
}

}  // namespace detail

template <class T>
detail::sequences validate(const delta_rule_args<T>& a) {
  return detail::validate_delta<T>("delta_rule", a.q, a.k, a.v, a.beta, a.o, a.initial_state, a.final_state,
                                   a.cu_seqlens);
}

template <class T>
void delta_rule(const delta_rule_args<T>& a, const run_options& opt = {}) {
  validate(a);
  detail::check_delta_form("delta_rule", opt);
  reference::delta_rule(a);
}

}  // namespace seqmix
