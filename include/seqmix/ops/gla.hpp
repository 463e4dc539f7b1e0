#pragma once
// The gla op: validates, then dispatches to a form of the chunk engine.
#include "seqmix/ops/args/gla.hpp"
#include "seqmix/ops/detail/chunk_ops.hpp"
#include "seqmix/reference/gla.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const gla_args<T>& a) {
  constexpr const char* op = "gla";
  auto seqs = detail::validate_qkv(op, a.q, a.k, a.v, a.o, a.initial_state, a.final_state, a.cu_seqlens);
  detail::check_same_shape(op, "g", a.g, "q", a.q);
  return seqs;
}

template <class T>
void gla(const gla_args<T>& a, const run_options& opt = {}) {
  validate(a);
  detail::check_chunk_form("gla", opt);
  reference::gla(a);
}

}  // namespace seqmix
