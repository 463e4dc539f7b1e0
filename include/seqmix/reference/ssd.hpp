#pragma once
// Reference (executable spec) of ssd (Mamba-2): per head h with group gi = h / (H/G),
//   S_t = e^{dt_t A_h} S_{t-1} + (dt_t x_t) B_tᵀ (P×N),  o_t = S_t C_t + D_h x_t,
// step by step, no shape checks.
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/ssd.hpp"

namespace seqmix::reference {

template <class T>
void ssd(const ssd_args<T>& a) {
  const seqmix::detail::sequences seqs("ssd", a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  const index_t H = a.x.extent(2), P = a.x.extent(3), G = a.B.extent(2), N = a.B.extent(3);
  std::vector<T> S(P * N);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto sq = seqs[s];
    for (index_t h = 0; h < H; ++h) {
      const index_t gi = h / (H / G);
      for (index_t p = 0; p < P; ++p)
        for (index_t n = 0; n < N; ++n) S[p * N + n] = a.initial_state.empty() ? T(0) : a.initial_state(sq.state, h, p, n);
      for (index_t t = sq.begin; t < sq.begin + sq.length; ++t) {
        const T dt = a.dt(sq.batch, t, h);
        const T decay = std::exp(dt * a.A(h));
        for (index_t p = 0; p < P; ++p) {
          const T x = a.x(sq.batch, t, h, p);
          T acc = 0;
          for (index_t n = 0; n < N; ++n) {
            S[p * N + n] = decay * S[p * N + n] + dt * x * a.B(sq.batch, t, gi, n);
            acc += S[p * N + n] * a.C(sq.batch, t, gi, n);
          }
          a.o(sq.batch, t, h, p) = acc + (a.D.empty() ? T(0) : a.D(h) * x);
        }
      }
      if (!a.final_state.empty())
        for (index_t p = 0; p < P; ++p)
          for (index_t n = 0; n < N; ++n) a.final_state(sq.state, h, p, n) = S[p * N + n];
    }
  }
}

}  // namespace seqmix::reference
