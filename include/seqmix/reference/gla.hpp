#pragma once
// Reference (executable spec) of gla: S_t = Diag(e^{g_t}) S_{t-1} + k_t v_tᵀ,
// o_t = S_tᵀ (scale·q_t), step by step, no shape checks.
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/gla.hpp"

namespace seqmix::reference {

template <class T>
void gla(const gla_args<T>& a) {
  const seqmix::detail::sequences seqs("gla", a.q.extent(0), a.q.extent(1), a.cu_seqlens);
  const index_t H = a.q.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  std::vector<T> S(K * V);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto sq = seqs[s];
    for (index_t h = 0; h < H; ++h) {
      for (index_t i = 0; i < K; ++i)
        for (index_t j = 0; j < V; ++j) S[i * V + j] = a.initial_state.empty() ? T(0) : a.initial_state(sq.state, h, i, j);
      for (index_t t = sq.begin; t < sq.begin + sq.length; ++t) {
        for (index_t i = 0; i < K; ++i) {
          const T decay = std::exp(a.g(sq.batch, t, h, i));
          for (index_t j = 0; j < V; ++j)
            S[i * V + j] = decay * S[i * V + j] + a.k(sq.batch, t, h, i) * a.v(sq.batch, t, h, j);
        }
        for (index_t j = 0; j < V; ++j) {
          T acc = 0;
          for (index_t i = 0; i < K; ++i) acc += S[i * V + j] * scale * a.q(sq.batch, t, h, i);
          a.o(sq.batch, t, h, j) = acc;
        }
      }
      if (!a.final_state.empty())
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) a.final_state(sq.state, h, i, j) = S[i * V + j];
    }
  }
}

}  // namespace seqmix::reference
