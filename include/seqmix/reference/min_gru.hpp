#pragma once
// Reference (executable spec) of min_gru: plain loops, no shape checks (the op did them).
#include <cmath>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/min_gru.hpp"

namespace seqmix::reference {

// ĝ(x) = x + 0.5 for x >= 0, σ(x) otherwise (positive, continuous at 0).
template <class T>
T min_rnn_g(T x) {
  return x >= T(0) ? x + T(0.5) : T(1) / (T(1) + std::exp(-x));
}

template <class T>
void min_gru(const min_gru_args<T>& a) {
  const detail::sequences seqs("min_gru", a.z_raw.extent(0), a.z_raw.extent(1), a.cu_seqlens);
  const index_t D = a.z_raw.extent(2);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      T h = a.initial_state.empty() ? T(0) : a.initial_state(q.state, d);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        const T z = T(1) / (T(1) + std::exp(-a.z_raw(q.batch, t, d)));
        h = (T(1) - z) * h + z * min_rnn_g(a.h_raw(q.batch, t, d));
        a.o(q.batch, t, d) = h;
      }
      if (!a.final_state.empty()) a.final_state(q.state, d) = h;
    }
  }
}

}  // namespace seqmix::reference
