#pragma once
// The retention op: validates, then dispatches to a form of the chunk engine.
#include "seqmix/ops/args/retention.hpp"
#include "seqmix/ops/detail/chunk_ops.hpp"
#include "seqmix/reference/retention.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const retention_args<T>& a) {
  constexpr const char* op = "retention";
  auto seqs = detail::validate_qkv(op, a.q, a.k, a.v, a.o, a.initial_state, a.final_state, a.cu_seqlens);

  return seqs;
}

template <class T>
void retention(const retention_args<T>& a, const run_options& opt = {}) {
  validate(a);
  detail::check_chunk_form("retention", opt);
  reference::retention(a);
}

}  // namespace seqmix
