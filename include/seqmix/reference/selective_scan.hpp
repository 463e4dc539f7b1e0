#pragma once
// Reference (executable spec) of selective_scan (Mamba-1): one channel and one time step
// at a time, exactly the formulas of OPS.md. No shape checks (the op did them).
#include <cmath>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/selective_scan.hpp"

namespace seqmix::reference {

template <class T>
void selective_scan(const selective_scan_args<T>& a) {
  const detail::sequences seqs("selective_scan", a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  const index_t D = a.x.extent(2), N = a.A.extent(1), G = a.B.extent(2), per_group = D / G;
  std::vector<T> h(static_cast<std::size_t>(N));
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      const index_t g = d / per_group;
      for (index_t n = 0; n < N; ++n) h[n] = a.initial_state.empty() ? T(0) : a.initial_state(q.state, d, n);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        T delta = a.dt(q.batch, t, d) + (a.dt_bias.empty() ? T(0) : a.dt_bias(d));
        if (a.dt_softplus)  // log(1 + e^v), written without exp of a large positive value
          delta = std::max(delta, T(0)) + std::log1p(std::exp(-std::abs(delta)));
        const T xv = a.x(q.batch, t, d);
        T y = 0;
        for (index_t n = 0; n < N; ++n) {
          h[n] = std::exp(delta * a.A(d, n)) * h[n] + delta * a.B(q.batch, t, g, n) * xv;
          y += a.C(q.batch, t, g, n) * h[n];
        }
        if (!a.D.empty()) y += a.D(d) * xv;
        if (!a.z.empty()) {
          const T zv = a.z(q.batch, t, d);
          y *= zv / (T(1) + std::exp(-zv));
        }
        a.o(q.batch, t, d) = y;
      }
      if (!a.final_state.empty())
        for (index_t n = 0; n < N; ++n) a.final_state(q.state, d, n) = h[n];
    }
  }
}

}  // namespace seqmix::reference
