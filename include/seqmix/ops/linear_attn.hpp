#pragma once
// The linear_attn op: validates, then dispatches to a form of the chunk engine.
#include <cmath>

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
  const auto seqs = validate(a);
  detail::check_chunk_form("linear_attn", opt);
  const index_t H = a.q.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  const bool mapped = a.map != feature_map::identity;
  auto phi = [m = a.map](T x) { return reference::apply_feature_map(m, x); };
  // scratch: φ(q), φ(k) rows (when mapped), then the running Σ φ(k) (K values)
  detail::run_chunk_op<kernels::chunk::decay_kind::none, T>(
      seqs, H, K, V, mapped ? 2 * K : 0, K, a.initial_state, a.final_state, false, opt,
      [&](kernels::chunk::problem<T>& p, const detail::sequence_span& sq, index_t h, T* scratch) {
        detail::bind_qkvo(p, a.q, a.k, a.v, a.o, sq, h);
        p.scale = scale;
        if (mapped) {
          T *fq = scratch, *fk = scratch + sq.length * K;
          for (index_t t = 0; t < sq.length; ++t)
            for (index_t i = 0; i < K; ++i) {
              fq[t * K + i] = phi(p.q[t * p.ldq + i]);
              fk[t * K + i] = phi(p.k[t * p.ldk + i]);
            }
          p.q = fq;
          p.k = fk;
          p.ldq = p.ldk = K;
        }
      },
      [&](const kernels::chunk::problem<T>& p, const detail::sequence_span& sq, index_t h, T* scratch) {
        if (!a.normalize && a.final_normalizer.empty()) return;
        T* z = scratch + (mapped ? 2 * sq.length * K : 0);
        for (index_t i = 0; i < K; ++i) z[i] = a.initial_normalizer.empty() ? T(0) : a.initial_normalizer(sq.state, h, i);
        for (index_t t = 0; t < sq.length; ++t) {
          const T* q = p.q + t * p.ldq;
          const T* k = p.k + t * p.ldk;
          T den = 0;
          for (index_t i = 0; i < K; ++i) {
            z[i] += k[i];
            den += scale * q[i] * z[i];
          }
          if (a.normalize) {
            const T inv = T(1) / (den + T(1e-10));
            T* o = p.o + t * p.ldo;
            for (index_t j = 0; j < V; ++j) o[j] *= inv;
          }
        }
        if (!a.final_normalizer.empty())
          for (index_t i = 0; i < K; ++i) a.final_normalizer(sq.state, h, i) = z[i];
      });
}

}  // namespace seqmix
