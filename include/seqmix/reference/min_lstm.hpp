#pragma once
// Reference (executable spec) of min_lstm: plain loops, no shape checks (the op did them).
#include <cmath>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/min_lstm.hpp"
#include "seqmix/reference/min_gru.hpp"  // min_rnn_g

namespace seqmix::reference {

template <class T>
void min_lstm(const min_lstm_args<T>& a) {
  const detail::sequences seqs("min_lstm", a.f_raw.extent(0), a.f_raw.extent(1), a.cu_seqlens);
  const index_t D = a.f_raw.extent(2);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      T h = a.initial_state.empty() ? T(0) : a.initial_state(q.state, d);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        const T f = T(1) / (T(1) + std::exp(-a.f_raw(q.batch, t, d)));
        const T i = T(1) / (T(1) + std::exp(-a.i_raw(q.batch, t, d)));
        h = f / (f + i) * h + i / (f + i) * min_rnn_g(a.h_raw(q.batch, t, d));
        a.o(q.batch, t, d) = h;
      }
      if (!a.final_state.empty()) a.final_state(q.state, d) = h;
    }
  }
}

}  // namespace seqmix::reference
