#pragma once
// Reference (executable spec) of causal_conv1d: plain loops over a window buffer holding
// the state followed by the sequence's inputs. No shape checks (the op did them).
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/causal_conv1d.hpp"

namespace seqmix::reference {

template <class T>
void causal_conv1d(const causal_conv1d_args<T>& a) {
  const detail::sequences seqs("causal_conv1d", a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  const index_t D = a.x.extent(2), W = a.weight.extent(1), S = W - 1;
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      // buf[0..S) = state (oldest first), buf[S + t] = x_t
      std::vector<T> buf(static_cast<std::size_t>(S + q.length), T(0));
      for (index_t j = 0; j < S; ++j) buf[j] = a.initial_state.empty() ? T(0) : a.initial_state(q.state, d, j);
      for (index_t t = 0; t < q.length; ++t) buf[S + t] = a.x(q.batch, q.begin + t, d);
      for (index_t t = 0; t < q.length; ++t) {
        T acc = a.bias.empty() ? T(0) : a.bias(d);
        for (index_t i = 0; i < W; ++i) acc += a.weight(d, i) * buf[t + i];  // input x_{t-W+1+i}
        if (a.activation == conv_activation::silu) acc = acc / (T(1) + std::exp(-acc));
        a.o(q.batch, q.begin + t, d) = acc;
      }
      if (!a.final_state.empty())
        for (index_t j = 0; j < S; ++j) a.final_state(q.state, d, j) = buf[q.length + j];
    }
  }
}

}  // namespace seqmix::reference
