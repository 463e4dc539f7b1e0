#pragma once
// Reference (executable spec) of rwkv6 and rwkv5 (rwkv5 = rwkv6 with w_t = w for all t):
//   o_t = (S_{t-1} + Diag(u) k_t v_tᵀ)ᵀ (scale·r_t),  S_t = Diag(e^{w_t}) S_{t-1} + k_t v_tᵀ.
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/rwkv5.hpp"
#include "seqmix/ops/args/rwkv6.hpp"

namespace seqmix::reference {

namespace detail_rwkv {
// w_of(batch, t, h, i) gives the log decay, so v5 and v6 share one loop.
template <class T, class WOf>
void rwkv6_like(const char* op, const const_view<T, 4>& r, const const_view<T, 4>& k, const const_view<T, 4>& v,
                WOf w_of, const const_view<T, 2>& u, const tensor_view<T, 4>& o, const const_view<T, 4>& s0,
                const tensor_view<T, 4>& sN, std::span<const std::int64_t> cu, T scale) {
  const seqmix::detail::sequences seqs(op, r.extent(0), r.extent(1), cu);
  const index_t H = r.extent(2), K = r.extent(3), V = v.extent(3);
  std::vector<T> S(static_cast<std::size_t>(K * V));
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t h = 0; h < H; ++h) {
      for (index_t i = 0; i < K; ++i)
        for (index_t j = 0; j < V; ++j) S[i * V + j] = s0.empty() ? T(0) : s0(q.state, h, i, j);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i)
            acc += scale * r(q.batch, t, h, i) *
                   (S[i * V + j] + u(h, i) * k(q.batch, t, h, i) * v(q.batch, t, h, j));
          o(q.batch, t, h, j) = acc;
        }
        for (index_t i = 0; i < K; ++i) {
          const T decay = std::exp(w_of(q.batch, t, h, i));
          for (index_t j = 0; j < V; ++j)
            S[i * V + j] = decay * S[i * V + j] + k(q.batch, t, h, i) * v(q.batch, t, h, j);
        }
      }
      if (!sN.empty())
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) sN(q.state, h, i, j) = S[i * V + j];
    }
  }
}
}  // namespace detail_rwkv

template <class T>
void rwkv6(const rwkv6_args<T>& x) {
  detail_rwkv::rwkv6_like<T>(
      "rwkv6", x.r, x.k, x.v, [&](index_t b, index_t t, index_t h, index_t i) { return x.w(b, t, h, i); }, x.u,
      x.o, x.initial_state, x.final_state, x.cu_seqlens, x.scale);
}

template <class T>
void rwkv5(const rwkv5_args<T>& x) {
  detail_rwkv::rwkv6_like<T>(
      "rwkv5", x.r, x.k, x.v, [&](index_t, index_t, index_t h, index_t i) { return x.w(h, i); }, x.u, x.o,
      x.initial_state, x.final_state, x.cu_seqlens, x.scale);
}

}  // namespace seqmix::reference
