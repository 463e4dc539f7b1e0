#pragma once
// The linear_attn op: validates, then dispatches to a form of the chunk engine.
#include "seqmix/ops/args/linear_attn.hpp"
#include "seqmix/ops/detail/chunk_ops.hpp"
#include "seqmix/reference/linear_attn.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const linear_attn_args<T>& a) {
  constexpr const char* op = "linear_attn";
  auto seqs = detail::validate_qkv(op, a.q, a.k, a.v, a.o, a.initial_state, a.final_state, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_normalizer", a.initial_normalizer,
                               {seqs.count(), a.q.extent(2), a.q.extent(3)});
  detail::check_optional_shape(op, "final_normalizer", a.final_normalizer,
                               {seqs.count(), a.q.extent(2), a.q.extent(3)});
  return seqs;
}

template <class T>
void linear_attn(const linear_attn_args<T>& a, const run_options& opt = {}) {
  validate(a);
  detail::check_chunk_form("linear_attn", opt);
  reference::linear_attn(a);
}

}  // namespace seqmix
