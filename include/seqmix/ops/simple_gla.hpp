#pragma once
// The simple_gla op: validates, then dispatches to a form of the chunk engine.
#include "seqmix/ops/args/simple_gla.hpp"
#include "seqmix/ops/detail/chunk_ops.hpp"
#include "seqmix/reference/simple_gla.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const simple_gla_args<T>& a) {
  constexpr const char* op = "simple_gla";
  auto seqs = detail::validate_qkv(op, a.q, a.k, a.v, a.o, a.initial_state, a.final_state, a.cu_seqlens);
  detail::check_shape(op, "g", a.g, {a.q.extent(0), a.q.extent(1), a.q.extent(2)});
  return seqs;
}

template <class T>
void simple_gla(const simple_gla_args<T>& a, const run_options& opt = {}) {
  validate(a);
  detail::check_chunk_form("simple_gla", opt);
  reference::simple_gla(a);
}

}  // namespace seqmix
