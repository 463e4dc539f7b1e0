#pragma once
// The simple_gla op: validates, then dispatches to a form of the chunk engine.
#include <cmath>

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
  const auto seqs = validate(a);
  detail::check_chunk_form("simple_gla", opt);
  const index_t H = a.q.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  detail::run_chunk_op<kernels::chunk::decay_kind::scalar, T>(
      seqs, H, K, V, 0, 0, a.initial_state, a.final_state, false, opt,
      [&](kernels::chunk::problem<T>& p, const detail::sequence_span& sq, index_t h, T*) {
        detail::bind_qkvo(p, a.q, a.k, a.v, a.o, sq, h);
        p.scale = scale;
        p.g = a.g.ptr(sq.batch, sq.begin, h);
        p.ldg = a.g.stride(1);
      },
      [](const auto&, const auto&, index_t, T*) {});
}

}  // namespace seqmix
