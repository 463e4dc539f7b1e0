#pragma once
// Reference (executable spec) of rwkv7, per batch and head (S is K×V):
//   S_t = (Diag(e^{w_t}) + b_t a_tᵀ) S_{t-1} + k_t v_tᵀ,  o_t = S_tᵀ (scale·r_t).
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/rwkv7.hpp"

namespace seqmix::reference {

template <class T>
void rwkv7(const rwkv7_args<T>& x) {
  const seqmix::detail::sequences seqs("rwkv7", x.r.extent(0), x.r.extent(1), x.cu_seqlens);
  const index_t H = x.r.extent(2), K = x.r.extent(3), V = x.v.extent(3);
  const T scale = x.resolved_scale();
  std::vector<T> S(static_cast<std::size_t>(K * V)), sa(static_cast<std::size_t>(V));
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t h = 0; h < H; ++h) {
      for (index_t i = 0; i < K; ++i)
        for (index_t j = 0; j < V; ++j)
          S[i * V + j] = x.initial_state.empty() ? T(0) : x.initial_state(q.state, h, i, j);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        // sa = aᵀ S_{t-1}
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += x.a(q.batch, t, h, i) * S[i * V + j];
          sa[j] = acc;
        }
        for (index_t i = 0; i < K; ++i) {
          const T decay = std::exp(x.w(q.batch, t, h, i));
          for (index_t j = 0; j < V; ++j)
            S[i * V + j] = decay * S[i * V + j] + x.b(q.batch, t, h, i) * sa[j] +
                           x.k(q.batch, t, h, i) * x.v(q.batch, t, h, j);
        }
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += scale * x.r(q.batch, t, h, i) * S[i * V + j];
          x.o(q.batch, t, h, j) = acc;
        }
      }
      if (!x.final_state.empty())
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) x.final_state(q.state, h, i, j) = S[i * V + j];
    }
  }
}

}  // namespace seqmix::reference
